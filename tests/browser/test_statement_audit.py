"""A wrong statement already on Commons, found by the audit and taken back in a real browser:
the project page counts it as doubted, the "check existing statements" view shows it alone,
the contributor rejects it, approves and sends the removal, and the stand-in's API reads it
back gone."""

from __future__ import annotations

import uuid

import pytest
from django.urls import reverse

from depicts.models import DepictsEdit
from faces.services.answers import answer_record
from faces.services.scoring import project_rescore
from tests.browser.conftest import log_in, shot
from tests.browser.test_removal import (  # noqa: F401 (fixtures)
    OTHER,
    PERSON,
    RIGHT,
    WRONG,
    approve_and_send_the_removal,
    commons,
    contributor,
    crawled_project,
    depicted_on_commons,
    face_of,
    known_statements,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_doubted_statement_is_removed_through_review(page, commons, contributor, queued):  # noqa: F811
    project = crawled_project(contributor)
    known_statements(project)
    # The contributor's first answer: Barack Obama's other photo is him.
    answer_record(
        project=project,
        face=face_of(OTHER),
        user=contributor,
        verdict="yes",
        request_id=uuid.uuid4(),
    )
    project_rescore(project_id=project.pk)
    wrong = face_of(WRONG)

    log_in(page, "alice")
    page.goto(reverse("projects:detail", args=[project.pk]))
    audit = page.locator("#statement-audit")
    assert "2 files already depict the person on Commons; 2 checked" in audit.inner_text()
    assert "1 doubted" in audit.inner_text()
    audit.locator("a", has_text="Check them").click()
    page.wait_for_selector("#grid [data-card]")
    shown = page.eval_on_selector_all(
        "#grid input.select", "boxes => boxes.map(b => Number(b.value))"
    )
    assert shown == [wrong.pk]  # the right statement is not doubted
    shot(page, "20-check-existing-statements")
    page.check(f'#grid input.select[value="{wrong.pk}"]')
    page.click("[data-action=reject-selected]")
    page.wait_for_selector(".message >> text=its removal is proposed on the send page")
    (removal,) = DepictsEdit.objects.filter(project=project)
    assert (removal.action, removal.state, removal.face_id) == ("remove", "proposed", wrong.pk)
    assert page.locator("#grid input.select").count() == 0

    page.click("text=Go to the send page")
    approve_and_send_the_removal(page, commons, queued, "21")
    assert depicted_on_commons(WRONG) == []
    assert depicted_on_commons(RIGHT) == [PERSON]
