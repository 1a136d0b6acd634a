"""The send page follows its edits while they are written or undone: the edits' table and the
batches' counts move together, without a reload."""

from __future__ import annotations

import pytest
from django.urls import reverse

from depicts.models import DepictsEdit
from tests.browser.conftest import log_in
from tests.browser.test_undo_batch import approved_project, commons
from tests.depicts import writing
from tests.factories import UserFactory
from tests.workers import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

__all__ = ["commons"]  # the three-photo world of the undo test, used here as a fixture

State = DepictsEdit.State


def batch_row(page) -> dict[str, str]:
    cells = page.locator("#batches tr[data-batch] td[data-label]")
    return dict(
        zip(
            cells.evaluate_all("(tds) => tds.map((td) => td.dataset.label)"),
            cells.all_inner_texts(),
            strict=True,
        )
    )


def test_the_batch_row_follows_its_edits_while_they_are_written(page, commons, queued):
    alice = UserFactory(username="alice")
    writing.log_in(commons, alice)
    project = approved_project(alice)
    log_in(page, "alice")
    page.goto(reverse("depicts:send", args=[project.pk]))
    page.click("text=Send the selected edits to Commons")
    page.wait_for_selector("text=3 edits are on their way to Commons.")
    assert batch_row(page)["Waiting"] == "3"

    # One edit written, two still on their way: the page keeps polling, and says so in both
    # tables (the batch row used to wait for the last edit, or a reload).
    first = project.depicts_edits.order_by("pk").first()
    DepictsEdit.objects.filter(pk=first.pk).update(state=State.SENT)
    page.wait_for_selector(f'#edit-states tr[data-edit-id="{first.pk}"][data-state=sent]')
    assert wait_for(lambda: batch_row(page)["Written"] == "1", timeout=10)
    row = batch_row(page)
    assert (row["Edits"], row["Waiting"], row["Undone"]) == ("3", "2", "0")
