"""The learner's figures stay live: an answer given elsewhere shows on open pages within 3 s,
and the chart is readable on a phone (390 px wide)."""

from __future__ import annotations

import io
import os
import re
import uuid

import pytest
from django.urls import reverse
from PIL import Image as PillowImage

from faces.learner_figures import learner_summary
from faces.models import Face, Label
from faces.services import answers, scoring
from projects.models import Project
from tests.browser.conftest import (
    README_SHOT_MAX_BYTES,
    README_SHOTS_VARIABLE,
    ROOT,
    SCREENSHOTS,
    log_in,
)
from tests.browser.test_review_ui import processed_project
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
LIVE_WITHIN_MS = 3000


def answer(project: Project, owner, face: Face, verdict: str) -> str:
    """An answer as another tab gives it, and the learner's run after it: its new version."""
    answers.answer_record(
        project=project, face=face, user=owner, verdict=verdict, request_id=uuid.uuid4()
    )
    scoring.project_rescore(project_id=project.pk)
    project.refresh_from_db()
    return learner_summary(project).updated_at.isoformat()


def unanswered(project: Project) -> Face:
    answered = Label.objects.filter(project=project).exclude(source=Label.Source.MODEL)
    return (
        Face.objects.current()
        .filter(image__project_links__project=project)
        .exclude(pk__in=answered.values("face_id"))
        .order_by("pk")
        .first()
    )


def figures(tab) -> tuple[str, str]:
    panel = tab.locator(".learner").first
    return panel.locator("#learner-figures").inner_text(), panel.locator("svg").inner_html()


# Every page that shows the learner's figures: the project page, the classify page, the
# suggestion grid and the send page.
PAGES = ("projects:detail", "projects:classify", "projects:suggestions", "depicts:send")
INTERVAL = re.compile(r"\d+\xa0% \(\d+\u2013\d+\xa0%\)")  # "92 % (85-97 %)", an en dash between


def with_intervals(tab) -> bool:
    """Recall, and precision once something is suggested, each shown with its interval."""
    figures = tab.locator(".learner").first.locator("[data-figure]")
    texts = {
        figures.nth(i).get_attribute("data-figure"): figures.nth(i).inner_text()
        for i in range(figures.count())
    }
    shown = [text for text in texts.values() if text != "\u2014"]
    return "recall" in texts and bool(shown) and all(INTERVAL.fullmatch(text) for text in shown)


def test_an_answer_elsewhere_redraws_the_figures_and_chart_of_open_pages(page, commons):
    owner = UserFactory(username="alice")
    project = processed_project(owner)
    answer(project, owner, unanswered(project), "yes")
    log_in(page, "alice")
    tabs = [page] + [page.context.new_page() for _ in PAGES[1:]]
    for tab, name in zip(tabs, PAGES, strict=True):
        tab.set_viewport_size(PHONE)
        tab.goto(reverse(name, args=[project.pk]))
    before = {tab: figures(tab) for tab in tabs}

    version = answer(project, owner, unanswered(project), "no")
    for tab in tabs:
        tab.wait_for_selector(f'.learner[data-version="{version}"]', timeout=LIVE_WITHIN_MS)
        line, chart = figures(tab)
        assert line != before[tab][0]  # one answer more, new estimates
        assert chart != before[tab][1]
        assert with_intervals(tab)


def test_the_chart_is_readable_on_a_phone(page, commons):
    owner = UserFactory(username="alice")
    project = processed_project(owner)
    answer(project, owner, unanswered(project), "yes")
    answer(project, owner, unanswered(project), "no")
    log_in(page, "alice")
    page.set_viewport_size(PHONE)
    page.goto(reverse("projects:detail", args=[project.pk]))
    panel = page.locator("section:has(#chart-title)")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    panel.screenshot(path=str(SCREENSHOTS / "learner-chart-390px.png"))
    card = panel.bounding_box()
    chart = panel.locator("svg").bounding_box()
    assert chart["width"] >= 0.85 * (card["width"] - 40)  # the card's width, not half of it
    bars = [panel.locator("rect.bar").nth(i).bounding_box() for i in range(3)]
    assert min(bar["width"] for bar in bars) >= 12  # no 2-pixel slivers
    tick = panel.locator("text.tick").first.bounding_box()
    assert tick["height"] >= 10  # a label a person reads without zooming


def test_the_figures_and_their_intervals_fit_a_phone_on_the_classify_page(page, commons):
    owner = UserFactory(username="alice")
    project = processed_project(owner)
    answer(project, owner, unanswered(project), "yes")
    answer(project, owner, unanswered(project), "yes")
    log_in(page, "alice")
    page.set_viewport_size(PHONE)
    page.goto(reverse("projects:classify", args=[project.pk]))
    panel = page.locator(".learner").first
    panel.locator("details summary").click()  # the chart, folded on this page, opened
    line = panel.locator("#learner-figures")
    assert with_intervals(page)
    box = line.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]  # no sideways scroll
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert panel.locator("svg").bounding_box()["width"] >= 0.8 * (PHONE["width"] - 40)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    panel.screenshot(path=str(SCREENSHOTS / "learner-classify-390px.png"))
    readme_element_shot(panel, "learner-390px")


def readme_element_shot(element, name: str) -> None:
    """``element`` as the README shows it (docs/screenshots when ``WIKIVISAGE_SCREENSHOTS``
    names that folder), in 256 colours so the PNG stays small, as ``readme_shot`` does."""
    folder = os.environ.get(README_SHOTS_VARIABLE, "")
    if not folder:
        return
    path = ROOT / folder / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    with PillowImage.open(io.BytesIO(element.screenshot())) as image:
        image.convert("RGB").quantize(colors=256).save(path, optimize=True)
    assert path.stat().st_size < README_SHOT_MAX_BYTES
