"""``{% load learner %}``: ``{% learner_panel project %}``, what the learner thinks, kept live.

The panel's figures (precision, recall, the score chart) are drawn by the server; the page's
script (``static/js/learner.js``) asks ``projects:learner`` for them again while it is open.
"""

from __future__ import annotations

from typing import Any

from django import template

from faces.learner_figures import learner_panel_context
from projects.models import Project

register = template.Library()


@register.inclusion_tag("faces/_learner.html")
def learner_panel(project: Project, *, compact: bool = False) -> dict[str, Any]:
    return learner_panel_context(project, compact=compact)
