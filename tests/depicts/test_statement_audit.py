"""The audit of the statements already on Commons, through the learner's own run: each stated
face is scored against the faces people confirmed (never against its own statement); a
doubted one stops counting as a yes, waits in the grid's "check existing statements" view,
is kept with a yes or rejected into a removal that the writer sends."""

from __future__ import annotations

import numpy as np
import pytest
from django.urls import reverse

from depicts import selectors
from depicts.models import DepictsEdit
from depicts.services import approval
from faces.models import Face, Label, ProjectImage
from faces.services.scoring import project_rescore
from tests.depicts.writing import KNOWN, PERSON, depicts, face_on, queue, send_all
from tests.factories import LabelFactory
from tests.ui.conftest import photos_of

pytestmark = pytest.mark.django_db

State = DepictsEdit.State


def at(x: float, y: float = 0.0) -> bytes:
    """An encoding at the point (x, y, 0, …): distances are plain distances (dlib's
    same-person line is 0.6). The person lives near 0, a stranger near 1.5."""
    point = np.zeros(128, dtype=np.float32)
    point[:2] = (x, y)
    return Face.pack(point)


def placed(face: Face, x: float, y: float = 0.0) -> Face:
    face.encoding = at(x, y)
    face.save(update_fields=["encoding"])
    return face


def stated(project, face: Face) -> Face:
    """As the crawl leaves a file that depicts the person: its one face a bootstrap yes."""
    ProjectImage.objects.filter(project=project, image=face.image).update(depicts_person=True)
    LabelFactory(project=project, face=face, source=Label.Source.BOOTSTRAP)
    return face


def said_yes(project, face: Face, user) -> Face:
    LabelFactory(project=project, face=face, user=user, source=Label.Source.HUMAN)
    return face


@pytest.fixture
def audited(project, owner):
    """A reviewer's yes (near 0) and no (1.5); three right statements; one wrong statement
    on a stranger's photo (1.45); another photo of that stranger nobody answered; and a
    statement on a photo of two faces with no region (nobody knows which face it means)."""
    yes, no, right1, right2, right3, wrong, stranger = photos_of(project, 7)
    said_yes(project, placed(yes, 0.0), owner)
    LabelFactory(project=project, face=placed(no, 1.5), user=owner, verdict=Label.Verdict.NO)
    for face, x in ((right1, 0.1), (right2, 0.12), (right3, 0.08)):
        stated(project, placed(face, x, 0.05))
    stated(project, placed(wrong, 1.45, 0.1))
    placed(stranger, 1.5, 0.1)
    group = photos_of(project, 1, faces_per_photo=2)
    for face, x in zip(group, (0.05, 1.0), strict=True):
        placed(face, x, 0.2)
    ProjectImage.objects.filter(image=group[0].image).update(depicts_person=True)
    project_rescore(project_id=project.pk)
    return {"right": [right1, right2, right3], "wrong": wrong, "stranger": stranger, "group": group}


def statement_score(project, face: Face) -> float | None:
    return ProjectImage.objects.get(project=project, image=face.image).statement_score


def test_the_learners_run_scores_each_statement_without_its_own_label(project, audited):
    for face in audited["right"]:
        assert statement_score(project, face) > 0.9
    assert statement_score(project, audited["wrong"]) < 0.05
    # A statement whose face is not known (several faces, no region) is not checked.
    assert statement_score(project, audited["group"][0]) is None


def test_a_doubted_statement_teaches_the_learner_nothing(project, audited):
    """Its bootstrap yes would have made the stranger's other photo a suggestion."""
    model = Label.objects.get(project=project, face=audited["stranger"], source="model")
    assert model.verdict == Label.Verdict.NO and model.score < 0.1
    filters = selectors.SuggestionFilter()
    assert audited["stranger"] not in [
        row.face for row in selectors.suggestions(project=project, filters=filters)
    ]


def test_the_queue_shows_the_doubted_statements_and_the_project_page_counts_them(
    client_of, owner, project, audited
):
    client = client_of(owner)
    grid = client.get(reverse("projects:suggestions", args=[project.pk]), {"source": "doubted"})
    assert [card["face"] for card in grid.context["cards"]] == [audited["wrong"]]
    body = grid.content.decode()
    assert "1 statement to check." in body and 'data-action="keep-selected"' in body
    assert 'id="approve-page"' not in body
    page = client.get(reverse("projects:detail", args=[project.pk])).content.decode()
    assert (
        "Existing statements: 5 files already depict the person on Commons; "
        "4 checked against the faces people confirmed and the other statements, 1 doubted." in page
    )
    assert "?source=doubted" in page


def test_keeping_a_doubted_statement_settles_it(client_of, owner, project, audited):
    client = client_of(owner)
    client.post(
        reverse("projects:suggestions-keep", args=[project.pk]), {"face": [audited["wrong"].pk]}
    )
    human = Label.objects.get(project=project, face=audited["wrong"], source="human")
    assert human.verdict == Label.Verdict.YES and not DepictsEdit.objects.exists()
    filters = selectors.SuggestionFilter()
    assert not selectors.doubted_statements(project=project, filters=filters).exists()
    assert selectors.statement_counts(project=project).doubted == 0


def test_a_confirmed_mismatch_is_removed_from_commons_through_the_removal_path(
    client_of, commons, project, sender
):
    """From the queue to the stand-in: rejected, approved on the send page, sent; the
    statement is gone from Commons."""
    said_yes(project, placed(photos_of(project, 1)[0], 0.0), sender)
    for face in photos_of(project, 2):
        stated(project, placed(face, 0.1, 0.05))
    wrong = stated(project, placed(face_on(commons, KNOWN, project), 1.4))
    project_rescore(project_id=project.pk)
    client = client_of(sender)
    queue_url = reverse("projects:suggestions", args=[project.pk])
    cards = client.get(queue_url, {"source": "doubted"}).context["cards"]
    assert [card["face"] for card in cards] == [wrong]
    client.post(
        reverse("projects:suggestions-reject", args=[project.pk]),
        {"face": [wrong.pk], "next": f"{queue_url}?source=doubted"},
    )
    removal = DepictsEdit.objects.get(action=DepictsEdit.Action.REMOVE)
    assert (removal.state, removal.face) == (State.PROPOSED, wrong)
    assert depicts(commons, KNOWN) == [PERSON]  # nothing leaves before a person sends it
    approval.removal_approve(edit=removal, user=sender)
    send_all(queue(project, sender, [removal]))
    removal.refresh_from_db()
    assert removal.state == State.SENT and depicts(commons, KNOWN) == []
    assert selectors.statement_counts(project=project).doubted == 0


def test_a_lone_statement_is_not_checked_until_there_is_a_face_to_measure_it_by(project, owner):
    lone = stated(project, placed(photos_of(project, 1)[0], 1.5))
    project_rescore(project_id=project.pk)
    counts = selectors.statement_counts(project=project)
    assert (counts.statements, counts.checked, counts.doubted) == (1, 0, 0)
    said_yes(project, placed(photos_of(project, 1)[0], 0.0), owner)
    project_rescore(project_id=project.pk)
    counts = selectors.statement_counts(project=project)
    assert (counts.statements, counts.checked, counts.doubted) == (1, 1, 1)
    assert statement_score(project, lone) < 0.05


@pytest.mark.parametrize("photos", [3, 30])
def test_queries_of_the_queue(client_of, owner, project, django_assert_num_queries, photos):
    said_yes(project, placed(photos_of(project, 1)[0], 0.0), owner)
    for number, face in enumerate(photos_of(project, photos)):
        stated(project, placed(face, 1.5, number / 100))  # each unlike the confirmed face
    ProjectImage.objects.filter(project=project, depicts_person=True).update(statement_score=0.01)
    client = client_of(owner)
    url = reverse("projects:suggestions", args=[project.pk])
    with django_assert_num_queries(6):  # session, user, project (its owner); count, page; bell
        cards = client.get(url, {"source": "doubted"}).context["cards"]
    assert len(cards) == photos
