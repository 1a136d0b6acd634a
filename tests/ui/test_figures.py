"""One way of showing a share or probability everywhere: whole percent, rounded down (a page
never claims more than the figure), on the grid, the project page, its poll and the chart."""

from __future__ import annotations

import re
from dataclasses import replace
from types import SimpleNamespace

import pytest
from django.template import Context, Template
from django.urls import reverse

from faces.learner_figures import estimate_texts, score_chart
from faces.learning_summary import ScoreHistogram
from projects.figures import percent, percent_between
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
    assert re.findall(r'<strong data-figure="precision">([^<]*)</strong>', grid) == ["99\xa0%"]
    detail = client.get(reverse("projects:detail", args=[project.pk])).content.decode()
    shown = dict(re.findall(r'<strong data-figure="(\w+)">([^<]*)</strong>', detail))
    assert shown == {"precision": "99\xa0%", "recall": "95\xa0%"}
    assert "threshold 50\xa0%" in detail and ">80\xa0%</text>" in detail  # the chart's axis
    # The page's poll sends the figures as the page shows them: its script only copies them.
    status = client.get(reverse("projects:status", args=[project.pk])).json()
    assert (status["precision_text"], status["recall_text"]) == ("99\xa0%", "95\xa0%")
    live = client.get(reverse("projects:learner", args=[project.pk])).json()
    assert (live["precision_text"], live["recall_text"]) == ("99\xa0%", "95\xa0%")


def test_an_interval_reads_beside_its_figure_by_the_same_rule():
    assert percent_between(0.92, (0.859, 0.971)) == "92\xa0% (85\u201397\xa0%)"
    assert percent_between(0.92, None) == "92\xa0%"


def test_the_chart_draws_the_learners_twenty_bins_as_ten_wide_bars():
    edges = tuple(i / 20 for i in range(21))
    counts = tuple(range(1, 21))
    summary = replace(
        LEARNING,
        histogram=ScoreHistogram(
            bins=edges, answered_yes=counts, answered_no=(0,) * 20, unanswered=counts
        ),
    )
    chart = score_chart(summary)
    open_bars = [bar for bar in chart.bars if bar.kind == "open"]
    assert len(open_bars) == 10 and sum(bar.count for bar in open_bars) == sum(counts)
    # A tenth of the axis each: about 30 px on a phone's card (the chart is as wide as one).
    assert min(bar.width for bar in open_bars) >= 30


def test_the_live_figures_come_again_only_when_the_learner_has_run(client_of, owner, project):
    project.learning = LEARNING.to_json()
    project.save()
    url = reverse("projects:learner", args=[project.pk])
    client = client_of(owner)
    drawn = client.get(url, {"since": ""}).json()
    assert drawn["version"] == LEARNING.updated_at.isoformat()
    assert 'data-figure="recall">62\xa0%<' in drawn["html"] and "<svg" in drawn["html"]
    assert client.get(url, {"since": drawn["version"]}).json() == {"version": drawn["version"]}


@pytest.mark.parametrize(
    "page", ["projects:learner", "projects:classify", "projects:suggestions", "depicts:send"]
)
def test_the_learners_intervals_reach_the_pages(client_of, owner, project, page):
    project.learning = replace(
        LEARNING, precision=0.92, recall=0.62, precision_interval=(0.859, 0.971),
        recall_interval=(0.5, 0.71),
    ).to_json()  # fmt: skip
    project.save()
    response = client_of(owner).get(reverse(page, args=[project.pk]), {"since": ""})
    html = response.json()["html"] if page == "projects:learner" else response.content.decode()
    assert 'data-figure="precision">92\xa0% (85\u201397\xa0%)<' in html
    assert 'data-figure="recall">62\xa0% (50\u201371\xa0%)<' in html


def test_the_pages_show_an_interval_when_the_learner_gives_one():
    given = SimpleNamespace(
        precision=0.92, recall=0.6, precision_interval=(0.859, 0.971), recall_interval=None
    )
    assert estimate_texts(given) == {
        "precision_text": "92\xa0% (85\u201397\xa0%)",
        "recall_text": "60\xa0%",
    }
