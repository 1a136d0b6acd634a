"""Statements already on Commons: seen in the grid's "on Commons" view and rejected there, or
contradicted by a reviewer's "no" and offered for removal on the send page; and the learner's
estimate where approval happens."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

import pytest
from django.urls import reverse

from depicts import selectors
from depicts.models import DepictsEdit
from depicts.services import approval, common
from faces.learning_summary import LearnerSummary
from faces.models import Face, Label, ProjectImage
from faces.services import answers
from tests.depicts.writing import KNOWN, PERSON, depicts, face_on, queue, send_all
from tests.factories import DepictsEditFactory, LabelFactory, ProjectFactory
from tests.ui.conftest import photos_of, score

pytestmark = pytest.mark.django_db

State = DepictsEdit.State
REMOVE = DepictsEdit.Action.REMOVE


def on_commons(project, face: Face) -> Face:
    """As the crawl leaves a file that depicts the person: its one face is a bootstrap yes."""
    ProjectImage.objects.filter(project=project, image=face.image).update(depicts_person=True)
    LabelFactory(project=project, face=face, source=Label.Source.BOOTSTRAP)
    return face


def sent_addition(project, face: Face) -> DepictsEdit:
    return DepictsEditFactory(project=project, image=face.image, face=face, state=State.SENT)


def say_no(project, face: Face, user) -> None:
    answers.answer_record(
        project=project, face=face, user=user, verdict="no", request_id=uuid.uuid4()
    )


def grid(client, project, **query):
    return client.get(reverse("projects:suggestions", args=[project.pk]), query)


def send_url(name: str, project, *args) -> str:
    return reverse(f"depicts:{name}", args=[project.pk, *args])


# --- the grid's "on Commons" view ------------------------------------------------------------


def test_the_on_commons_view_shows_the_faces_whose_statement_stands(client_of, owner, project):
    bootstrap, ours, suggested, elsewhere = photos_of(project, 4)
    on_commons(project, bootstrap)
    sent_addition(project, ours)
    score(project, [bootstrap, ours, suggested], [0.9, 0.3, 0.8])
    LabelFactory(
        project=project, face=elsewhere, source=Label.Source.BOOTSTRAP
    )  # file not depicted
    response = grid(client_of(owner), project, source="commons")
    assert [card["face"] for card in response.context["cards"]] == [
        ours,
        bootstrap,
    ]  # least likely first
    body = response.content.decode()
    assert "2 faces on Commons." in body and "on Commons</span>" in body
    assert 'id="approve-page"' not in body and 'data-action="approve-selected"' not in body
    # The usual view does not show them: they wait for nothing.
    assert [card["face"] for card in grid(client_of(owner), project).context["cards"]] == [
        suggested
    ]


def test_a_face_whose_removal_is_under_way_leaves_the_view(project, owner):
    face = on_commons(project, photos_of(project, 1)[0])
    filters = selectors.SuggestionFilter(source=selectors.SuggestionSource.COMMONS)
    assert list(selectors.on_commons(project=project, filters=filters)) == [face]
    (removal,) = approval.edits_reject(project=project, faces=[face], user=owner)
    assert list(selectors.on_commons(project=project, filters=filters)) == []
    approval.edit_withdraw(edit=removal)  # "keep the statement": it is on Commons again
    assert list(selectors.on_commons(project=project, filters=filters)) == [face]


def test_rejecting_in_the_on_commons_view_proposes_the_removal_and_says_where_it_waits(
    client_of, owner, project
):
    face = on_commons(project, photos_of(project, 1)[0])
    response = client_of(owner).post(
        reverse("projects:suggestions-reject", args=[project.pk]),
        {"face": [face.pk], "next": reverse("projects:suggestions", args=[project.pk])},
        follow=True,
    )
    removal = DepictsEdit.objects.get(action=REMOVE)
    assert (removal.state, removal.face) == (State.PROPOSED, face)
    body = response.content.decode()
    assert "1 face rejected" in body
    assert "1 statement is on Commons already: its removal is proposed on the send page" in body
    labels = Label.objects.filter(face=face, source=Label.Source.HUMAN)
    assert list(labels.values_list("verdict", flat=True)) == ["no"]


def test_rejecting_a_suggestion_says_nothing_about_removals(client_of, owner, project):
    face = photos_of(project, 1)[0]
    score(project, [face], [0.9])
    response = client_of(owner).post(
        reverse("projects:suggestions-reject", args=[project.pk]), {"face": [face.pk]}, follow=True
    )
    assert "proposed on the send page" not in response.content.decode()
    assert not DepictsEdit.objects.exists()


@pytest.mark.parametrize("photos", [3, 30])
def test_queries_of_the_on_commons_view(
    client_of, member, project, django_assert_num_queries, photos
):
    for face in photos_of(project, photos):
        on_commons(project, face)
    client = client_of(member)
    with django_assert_num_queries(7):  # session, user, project, membership; count, page; bell
        grid(client, project, source="commons")


# --- approving in the grid is a yes for the learner ---------------------------------------


def test_an_approval_in_the_grid_is_a_yes_for_the_learner(client_of, owner, project):
    faces = photos_of(project, 2)
    score(project, faces, [0.9, 0.8])
    client_of(owner).post(
        reverse("projects:suggestions-approve", args=[project.pk]), {"face": [faces[0].pk]}
    )
    labels = Label.objects.filter(project=project, source=Label.Source.HUMAN)
    assert dict(labels.values_list("face_id", "verdict")) == {faces[0].pk: "yes"}
    assert DepictsEdit.objects.get().face == faces[0]


# --- statements a reviewer contradicted ----------------------------------------------------


def test_a_no_on_a_face_already_on_commons_is_offered_for_removal_without_a_write(
    client_of, owner, member, project
):
    bootstrap, ours, plain = photos_of(project, 3)
    on_commons(project, bootstrap)
    sent_addition(project, ours)
    for face in (bootstrap, ours, plain):
        say_no(project, face, member)
    response = client_of(owner).get(send_url("send", project))
    listed = response.context["page"].contradicted
    assert {item.face_id for item in listed} == {bootstrap.pk, ours.pk}
    body = response.content.decode()
    assert "Proposed removals" in body and "member answered on" in body
    assert send_url("remove-contradicted", project, bootstrap.pk) in body
    assert DepictsEdit.objects.filter(action=REMOVE).count() == 0  # a page view creates nothing


def test_an_answer_whose_reviewer_is_gone_is_still_offered(client_of, owner, member, project):
    face = on_commons(project, photos_of(project, 1)[0])
    say_no(project, face, member)
    Label.objects.filter(source=Label.Source.HUMAN).update(user=None)  # account deleted
    body = client_of(owner).get(send_url("send", project)).content.decode()
    assert "A reviewer answered on" in body


def test_approving_a_contradicted_statement_makes_an_approved_removal(client_of, owner, project):
    face = on_commons(project, photos_of(project, 1)[0])
    say_no(project, face, owner)
    client = client_of(owner)
    assert client.get(send_url("remove-contradicted", project, face.pk)).status_code == 405
    client.post(send_url("remove-contradicted", project, face.pk))
    removal = DepictsEdit.objects.get(action=REMOVE)
    assert (removal.state, removal.face, removal.approved_by) == (State.APPROVED, face, owner)
    page = client.get(send_url("send", project)).context["page"]
    assert page.contradicted == [] and [edit.id for edit in page.approved] == [removal.pk]
    again = client.post(send_url("remove-contradicted", project, face.pk), follow=True)
    assert "no longer waiting for a decision" in again.content.decode()
    assert DepictsEdit.objects.count() == 1


def test_keeping_a_contradicted_statement_stops_offering_it(client_of, owner, project):
    face = on_commons(project, photos_of(project, 1)[0])
    say_no(project, face, owner)
    client = client_of(owner)
    client.post(send_url("keep-contradicted", project, face.pk))
    assert DepictsEdit.objects.get(action=REMOVE).state == State.CANCELLED
    assert client.get(send_url("send", project)).context["page"].contradicted == []
    # A later rejection in the grid proposes it again: a person asked for it.
    (proposal,) = approval.edits_reject(project=project, faces=[face], user=owner)
    assert proposal.state == State.PROPOSED


def test_a_face_nobody_contradicted_cannot_be_removed_this_way(client_of, owner, project):
    face = on_commons(project, photos_of(project, 1)[0])
    with pytest.raises(common.EditNotAllowed):
        approval.contradiction_settle(project=project, face=face, user=owner, remove=True)
    assert not DepictsEdit.objects.exists()


def test_outsiders_cannot_settle_and_faces_of_other_projects_are_not_found(
    client_of, owner, outsider, project
):
    face = on_commons(project, photos_of(project, 1)[0])
    say_no(project, face, owner)
    assert (
        client_of(outsider).post(send_url("remove-contradicted", project, face.pk)).status_code
        == 403
    )
    stranger = photos_of(ProjectFactory(), 1)[0]
    assert (
        client_of(owner).post(send_url("keep-contradicted", project, stranger.pk)).status_code
        == 404
    )
    assert not DepictsEdit.objects.filter(action=REMOVE).exists()


def test_a_contradicted_statement_is_removed_once_approved_and_sent(commons, project, sender):
    face = face_on(commons, KNOWN, project)
    on_commons(project, face)
    say_no(project, face, sender)
    assert depicts(commons, KNOWN) == [PERSON]
    removal = approval.contradiction_settle(project=project, face=face, user=sender, remove=True)
    send_all(queue(project, sender, [removal]))
    removal.refresh_from_db()
    assert removal.state == State.SENT and depicts(commons, KNOWN) == []
    # The file no longer depicts the person: nothing is left to offer or show as on Commons.
    assert not ProjectImage.objects.filter(image=face.image, depicts_person=True).exists()
    assert list(selectors.contradicted(project)) == []
    filters = selectors.SuggestionFilter(source=selectors.SuggestionSource.COMMONS)
    assert list(selectors.on_commons(project=project, filters=filters)) == []


def test_a_statement_already_gone_is_no_longer_recorded_as_depicted(commons, project, sender):
    face = on_commons(project, face_on(commons, KNOWN, project))
    (statement,) = commons.statements(commons.mid(KNOWN), "P180")
    commons.world.remove_statements(commons.mid(KNOWN), [statement["id"]])
    (removal,) = approval.edits_reject(project=project, faces=[face], user=sender)
    approval.removal_approve(edit=removal, user=sender)
    send_all(queue(project, sender, [removal]))
    assert not ProjectImage.objects.filter(image=face.image, depicts_person=True).exists()
    assert commons.writes == []


# --- the learner's estimate where approval happens -------------------------------------------


def learnt(
    project,
    *,
    precision: float | None,
    suggested: int = 12,
    interval: tuple[float, float] | None = None,
) -> None:
    summary = LearnerSummary(
        updated_at=datetime(2026, 1, 2, tzinfo=UTC),
        answers=20,
        confirmed=8,
        suggested=suggested,
        precision=precision,
        precision_interval=interval,
    )
    project.learning = summary.to_json()
    project.save(update_fields=["learning"])


def precision_shown(body: str) -> list[str]:
    """Every place a page states the precision of the suggestions."""
    return re.findall(r"(?:[Pp]recision[^<]*<strong[^>]*>[^<]*|in 100 of its suggestions)", body)


def test_the_grid_states_the_learners_precision_once_with_its_interval(client_of, owner, project):
    score(project, photos_of(project, 1), [0.9])
    learnt(project, precision=0.9789, interval=(0.91, 0.995))
    body = grid(client_of(owner), project).content.decode()
    # The live panel only (it follows the learner while the page is open), never a second,
    # still figure beside it; rounded down, never up.
    assert precision_shown(body) == [
        'precision of the suggestions: <strong data-figure="precision">97\xa0% (91\u201399\xa0%)'
    ]


def test_the_send_page_states_the_learners_precision_once(client_of, owner, project):
    learnt(project, precision=0.97, interval=(0.9, 0.99))
    approval.edits_approve(project=project, faces=photos_of(project, 1), user=owner)
    body = client_of(owner).get(send_url("send", project)).content.decode()
    assert len(precision_shown(body)) == 1 and 'data-figure="precision">97' in body
