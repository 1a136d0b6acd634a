"""``{% load figures %}``: ``{{ share|percent }}``, the one way a share or probability is shown."""

from __future__ import annotations

from django import template

from projects import figures

register = template.Library()


@register.filter
def percent(share: float | None) -> str:
    return figures.percent(share)
