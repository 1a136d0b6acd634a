"""The empty suggestion grid says why it is empty, in each state of the project."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from depicts.models import DepictsEdit
from depicts.selectors import EmptyReason, SuggestionFilter, empty_grid
from faces.learning_summary import LearnerSummary
from faces.models import Label
from tests.factories import DepictsEditFactory, LabelFactory

pytestmark = pytest.mark.django_db

State = DepictsEdit.State


NO_FILTER = SuggestionFilter()


def reason(project, filters=NO_FILTER) -> tuple[str, int]:
    empty = empty_grid(project=project, filters=filters)
    return empty.reason, empty.count


def learner_ran(project) -> None:
    summary = LearnerSummary(updated_at=datetime(2026, 1, 2, tzinfo=UTC), answers=3)
    project.learning = summary.to_json()
    project.save(update_fields=["learning"])


def test_no_answers_yet(project):
    assert reason(project) == (EmptyReason.NO_ANSWERS, 0)


def test_answers_given_before_the_learner_ran_are_counted(project):
    LabelFactory.create_batch(4, project=project, source=Label.Source.HUMAN)
    assert reason(project) == (EmptyReason.LEARNING, 4)
    learner_ran(project)
    assert reason(project) == (EmptyReason.NOTHING_MORE, 4)


def test_filters_come_first(project):
    DepictsEditFactory(project=project, state=State.APPROVED)
    assert reason(project, SuggestionFilter(score_min=Decimal("0.9")))[0] == EmptyReason.FILTERED


@pytest.mark.parametrize(
    ("state", "undone", "expected"),
    [
        (State.APPROVED, False, EmptyReason.APPROVED),
        (State.APPROVED, True, EmptyReason.UNDONE),
        (State.QUEUED, False, EmptyReason.ON_THE_WAY),
        (State.SENT, False, EmptyReason.SENT),
    ],
)
def test_edits_say_where_the_faces_went(project, state, undone, expected):
    LabelFactory.create_batch(3, project=project, source=Label.Source.HUMAN)
    learner_ran(project)
    reverted_at = timezone.now() if undone else None
    DepictsEditFactory.create_batch(2, project=project, state=state, reverted_at=reverted_at)
    assert reason(project) == (expected, 2)


def test_the_page_says_it(client_of, owner, project):
    LabelFactory.create_batch(108, project=project, source=Label.Source.HUMAN)
    learner_ran(project)
    DepictsEditFactory(project=project, state=State.SENT)
    page = client_of(owner).get(reverse("projects:suggestions", args=[project.pk]))
    text = page.content.decode()
    assert "Everything suggested so far is on Commons (1 statement sent)" in text
    assert "at least" not in text
