"""One way of showing a share or probability everywhere: whole percent, rounded down (a page
never claims more than the figure), on the grid, the project page, its poll and the chart."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from django.template import Context, Template
from django.urls import reverse

from projects.figures import percent
from tests.ui.conftest import photos_of, score
from tests.ui.test_pages import LEARNING

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("share", "shown"),
    [(0.995, "99\xa0%"), (0.955, "95\xa0%"), (0.29, "29\xa0%"), (1.0, "100\xa0%"), (0, "0\xa0%")],
)
def test_a_share_reads_in_whole_percent_rounded_down(share, shown):
    assert percent(share) == shown
    rendered = Template("{% load figures %}{{ share|percent }}").render(Context({"share": share}))
    assert rendered == shown


def test_an_unknown_share_reads_as_a_dash():
    assert percent(None) == "—"


def test_the_same_figure_reads_the_same_on_the_grid_and_the_project_page(client_of, owner, project):
    score(project, photos_of(project, 1), [0.995])
    project.learning = replace(LEARNING, precision=0.995, recall=0.955).to_json()
    project.save()
    client = client_of(owner)
    grid = client.get(reverse("projects:suggestions", args=[project.pk])).content.decode()
    card = re.search(r'<span class="score"[^>]*>([^<]*)</span>', grid)
    assert card and card.group(1) == "99\xa0%"
    assert "(estimated precision 99\xa0%)" in grid
    detail = client.get(reverse("projects:detail", args=[project.pk])).content.decode()
    shown = dict(re.findall(r'<strong data-key="(\w+)">([^<]*)</strong>', detail))
    assert shown == {"precision_text": "99\xa0%", "recall_text": "95\xa0%"}
    assert "threshold 50\xa0%" in detail and ">80\xa0%</text>" in detail  # the chart's axis
    # The page's poll sends the figures as the page shows them: its script only copies them.
    status = client.get(reverse("projects:status", args=[project.pk])).json()
    assert (status["precision_text"], status["recall_text"]) == ("99\xa0%", "95\xa0%")
