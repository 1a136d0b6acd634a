"""An uploader's own view (issue #26): the suggestions on the files they uploaded, across
projects allowing uploaders, answered yes or no through the members' answer service."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from social_django.models import UserSocialAuth

from depicts.selectors import SuggestionFilter, SuggestionSource, suggestions
from faces.models import Answer, Label, ProjectImage
from projects.models import Project, Withholding
from tests.factories import (
    FaceFactory,
    ImageFactory,
    LabelFactory,
    ProjectFactory,
    ProjectImageFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

ACCOUNT = "Ada Uploader"


def suggest(project: Project, image, *, score: float = 0.9) -> Label:
    """The learner proposes a face of ``image`` in ``project``, nobody answered yet."""
    if not ProjectImage.objects.filter(project=project, image=image).exists():
        ProjectImageFactory(project=project, image=image)
    face = FaceFactory(image=image, left=0.1, top=0.2, width=0.25, height=0.3)
    return LabelFactory(
        project=project, face=face, source=Label.Source.MODEL, score=score, verdict="yes"
    )


def wikimedia_user(username: str, account: str):
    user = UserFactory(username=username)
    UserSocialAuth.objects.create(
        user=user,
        provider="mediawiki",
        uid=str(user.pk),
        extra_data={"wikimedia_username": account},
    )
    return user


@pytest.fixture
def uploader(db):
    return wikimedia_user("ada", ACCOUNT)


@pytest.fixture
def own_file(db):
    return ImageFactory(title="File:Ada's own.jpg", uploader=ACCOUNT)


@pytest.fixture
def others_file(db):
    return ImageFactory(title="File:Somebody else's.jpg", uploader="Somebody Else")


def page(client):
    return client.get(reverse("uploads"))


def answer(client, label: Label, verdict: str, request_id: uuid.UUID | None = None):
    return client.post(
        reverse("uploads-answer"),
        {
            "project": label.project_id,
            "face": label.face_id,
            "verdict": verdict,
            "request_id": str(request_id or uuid.uuid4()),
        },
    )


def grid(project: Project, source: str = SuggestionSource.ALL) -> list[Label]:
    return list(suggestions(project=project, filters=SuggestionFilter(source=source)))


# --- what the page lists ----------------------------------------------------------------


def test_the_page_lists_the_suggestions_on_the_users_own_files_by_project(
    client_of, uploader, own_file, others_file, project
):
    other = ProjectFactory(qid="Q42", person_labels={"en": "Douglas Adams"})
    mine = suggest(project, own_file)
    suggest(other, own_file)
    suggest(project, others_file)

    response = page(client_of(uploader))

    assert response.status_code == 200
    groups = response.context["groups"]
    assert sorted(group.project.pk for group, _cards in groups) == sorted([project.pk, other.pk])
    faces = {card.face.pk for _group, cards in groups for card, _id in cards}
    assert mine.face_id in faces and len(faces) == 2
    body = response.content.decode()
    assert "Somebody else" not in body
    assert "Is this Barack Obama?" in body and "Is this Douglas Adams?" in body


def test_projects_not_allowing_uploaders_or_not_active_are_not_listed(
    client_of, uploader, own_file, project
):
    suggest(project, own_file)
    closed = ProjectFactory(qid="Q1", allow_uploaders=False)
    paused = ProjectFactory(qid="Q2", state=Project.State.PAUSED)
    archived = ProjectFactory(qid="Q3", moderation=Project.Moderation.ARCHIVED)
    for held in (closed, paused, archived):
        suggest(held, own_file)

    groups = page(client_of(uploader)).context["groups"]

    assert [group.project.pk for group, _cards in groups] == [project.pk]


def test_a_withheld_file_and_answered_faces_are_not_listed(
    client_of, uploader, own_file, project, member
):
    answered = suggest(project, own_file)
    LabelFactory(project=project, face=answered.face, user=member, verdict="no")
    withheld = ImageFactory(title="File:Withheld.jpg", uploader=ACCOUNT)
    suggest(project, withheld)
    Withholding.objects.create(kind=Withholding.Kind.FILE, value=withheld.title, reason="t")

    assert page(client_of(uploader)).context["groups"] == []


def test_a_user_without_a_wikimedia_account_is_asked_to_log_in_with_it(client_of, outsider):
    body = page(client_of(outsider)).content.decode()
    assert 'id="uploads-no-account"' in body


def test_the_nav_links_the_page_for_users_logged_in_with_wikimedia(client_of, uploader, outsider):
    client = client_of(outsider)
    assert 'id="nav-uploads"' not in client.get(reverse("projects:dashboard")).content.decode()
    session = client.session
    session["social_auth_last_login_backend"] = "mediawiki"
    session.save()
    assert 'id="nav-uploads"' in client.get(reverse("projects:dashboard")).content.decode()


# --- answering ----------------------------------------------------------------------------


def test_a_yes_from_the_uploader_is_a_yes_in_the_projects_grid(
    client_of, uploader, own_file, project
):
    label = suggest(project, own_file)

    response = answer(client_of(uploader), label, "yes")

    assert response.status_code == 302 and response["Location"] == reverse("uploads")
    human = Label.objects.get(project=project, face=label.face, source=Label.Source.HUMAN)
    assert (human.verdict, human.user) == ("yes", uploader)
    assert Answer.objects.get(face=label.face).user == uploader
    (confirmed,) = grid(project, SuggestionSource.HUMAN)
    assert confirmed.face_id == label.face_id
    # The grid's own page shows it confirmed, ready to approve.
    owner_grid = client_of(project.owner).get(reverse("projects:suggestions", args=[project.pk]))
    (card,) = owner_grid.context["cards"]
    assert card["confirmed"] is True
    # It left the uploader's page.
    assert page(client_of(uploader)).context["groups"] == []


def test_a_no_from_the_uploader_is_a_no_and_leaves_the_grid(client_of, uploader, own_file, project):
    label = suggest(project, own_file)

    answer(client_of(uploader), label, "no")

    human = Label.objects.get(project=project, face=label.face, source=Label.Source.HUMAN)
    assert human.verdict == "no"
    assert grid(project) == []


def test_an_answer_goes_through_the_members_service_a_repeat_is_stored_once(
    client_of, uploader, own_file, project, queued, django_capture_on_commit_callbacks
):
    label = suggest(project, own_file)
    request_id = uuid.uuid4()
    client = client_of(uploader)
    with django_capture_on_commit_callbacks(execute=True):
        answer(client, label, "yes", request_id)
        answer(client, label, "yes", request_id)
    assert Answer.objects.filter(face=label.face).count() == 1
    assert any(item.task == "faces.learn.project" for item in queued)  # re-scoring asked


def test_a_face_another_reviewer_answered_keeps_that_answer(
    client_of, uploader, own_file, project, member
):
    label = suggest(project, own_file)
    LabelFactory(project=project, face=label.face, user=member, verdict="no")

    response = answer(client_of(uploader), label, "yes")

    assert response.status_code == 302
    assert Label.objects.get(project=project, face=label.face, source="human").user == member


# --- who may answer -----------------------------------------------------------------------


def test_an_attacker_cannot_answer_a_face_on_someone_elses_file(client_of, others_file, project):
    attacker = wikimedia_user("mallory", "Mallory")
    label = suggest(project, others_file)
    assert answer(client_of(attacker), label, "yes").status_code == 403
    assert not Label.objects.filter(source=Label.Source.HUMAN).exists()


def test_no_answer_in_a_project_that_does_not_allow_uploaders(
    client_of, uploader, own_file, project
):
    label = suggest(project, own_file)
    Project.objects.filter(pk=project.pk).update(allow_uploaders=False)
    assert answer(client_of(uploader), label, "yes").status_code == 403
    assert not Answer.objects.exists()


def test_no_answer_on_a_withheld_file(client_of, uploader, own_file, project):
    label = suggest(project, own_file)
    Withholding.objects.create(kind=Withholding.Kind.FILE, value=own_file.title, reason="t")
    assert answer(client_of(uploader), label, "yes").status_code == 403
    assert not Answer.objects.exists()


def test_no_answer_without_a_wikimedia_account_or_on_another_projects_face(
    client_of, own_file, project, outsider, uploader
):
    label = suggest(project, own_file)
    assert answer(client_of(outsider), label, "yes").status_code == 403
    elsewhere = ProjectFactory(qid="Q9")
    wrong = Label(project=elsewhere, face=label.face)
    assert answer(client_of(uploader), wrong, "yes").status_code == 403


def test_a_paused_project_refuses_with_its_reason(client_of, uploader, own_file, project):
    label = suggest(project, own_file)
    Project.objects.filter(pk=project.pk).update(state=Project.State.PAUSED)
    assert answer(client_of(uploader), label, "yes").status_code == 403
    assert not Answer.objects.exists()


# --- the project's setting ----------------------------------------------------------------


def test_the_owner_switches_uploaders_off_in_the_settings_and_the_page_says_so(client_of, project):
    client = client_of(project.owner)
    detail = client.get(reverse("projects:detail", args=[project.pk])).content.decode()
    assert 'name="allow_uploaders"' in detail and "Uploaders may answer" in detail
    form = client.get(reverse("projects:detail", args=[project.pk])).context["settings_form"]
    data = {name: value for name, value in form.initial.items() if value not in (None, False)}
    data.pop("allow_uploaders")
    client.post(reverse("projects:settings", args=[project.pk]), data)
    project.refresh_from_db()
    assert project.allow_uploaders is False
    detail = client.get(reverse("projects:detail", args=[project.pk])).content.decode()
    assert "Only the members answer" in detail


def test_the_page_reads_the_same_number_of_queries_however_many_suggestions(
    client_of, uploader, own_file, project
):
    client = client_of(uploader)
    suggest(project, own_file)
    with CaptureQueriesContext(connection) as few:
        page(client)
    other = ProjectFactory(qid="Q42")
    for _ in range(3):
        suggest(project, ImageFactory(uploader=ACCOUNT))
        suggest(other, ImageFactory(uploader=ACCOUNT))
    with CaptureQueriesContext(connection) as many:
        assert len(page(client).context["groups"]) == 2
    assert len(many) == len(few)
