"""The pages: landing, dashboard, new project (against the offline Commons), project page,
suggestions, exports, errors; and the queries each hot page costs."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from depicts.models import DepictsEdit
from faces.learning_summary import LearnerSummary, ScoreHistogram
from faces.models import Label, ReviewLease
from faces.services import answers, undo
from projects.models import GroupPerson, Membership, Notification, Project, ProjectGroup
from tests.factories import DepictsEditFactory, ProjectFactory
from tests.ui.conftest import photos_of, score

pytestmark = pytest.mark.django_db


# --- landing, dashboard, errors ---------------------------------------------------------


def test_the_landing_page_explains_and_offers_to_log_in(client):
    body = client.get(reverse("home")).content.decode()
    assert "depicts" in body and reverse("login") in body


def test_the_dashboard_lists_my_projects_with_progress(client_of, owner, project, faces):
    answers.answer_record(
        project=project, face=faces[0], user=owner, verdict="yes", request_id=uuid.uuid4()
    )
    body = client_of(owner).get(reverse("projects:dashboard")).content.decode()
    assert "Barack Obama" in body
    assert '<progress max="3" value="3">' in body
    assert '<td data-label="Answers">1</td>' in body


def test_the_dashboard_shows_labels_in_my_language(client_of, owner):
    ProjectFactory(owner=owner, person_labels={"en": "Douglas Adams", "fr": "Douglas Adams (fr)"})
    client = client_of(owner)
    client.post(reverse("set_language"), {"language": "fr"})
    assert "Douglas Adams (fr)" in client.get(reverse("projects:dashboard")).content.decode()
    client.post(reverse("set_language"), {"language": "es"})
    assert "Douglas Adams (fr)" not in client.get(reverse("projects:dashboard")).content.decode()


def test_unknown_addresses_get_the_404_page(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert b"There is nothing at this address" in response.content


def test_the_500_page_renders_without_a_request_context(client):
    from django.template.loader import render_to_string

    assert "Something went wrong" in render_to_string("500.html")


def test_pages_are_translated(client_of, owner, project):
    client = client_of(owner)
    client.post(reverse("set_language"), {"language": "nb"})
    body = client.get(reverse("projects:detail", args=[project.pk])).content.decode()
    assert 'lang="nb"' in body
    assert "Faces answered" not in body


def test_every_page_sends_a_strict_content_security_policy(client_of, owner, project, settings):
    settings.MIDDLEWARE = [
        *settings.MIDDLEWARE,
        "wikivisage.middleware.ContentSecurityPolicyMiddleware",
    ]
    response = client_of(owner).get(reverse("projects:classify", args=[project.pk]))
    policy = response["Content-Security-Policy"]
    assert "script-src 'self';" in policy and "unsafe-inline" not in policy
    assert "https://upload.wikimedia.org" in policy


def test_pages_carry_no_inline_script_or_style(client_of, owner, project, faces):
    score(project, faces, [0.9, 0.8, 0.7])
    client = client_of(owner)
    for name in ("detail", "classify", "suggestions"):
        body = client.get(reverse(f"projects:{name}", args=[project.pk])).content.decode()
        scripts = body.count("<script")
        assert scripts == body.count("<script src=") + body.count(
            '<script type="module" src='
        ) + body.count('type="application/json"')
        assert " style=" not in body


# --- a new project ----------------------------------------------------------------------


def create(client, **fields):
    data = {
        "qid": "Q76",
        "category": "Barack Obama",
        "crawl_depth": 2,
        "distance_threshold": 0.6,
        "min_answers": 5,
        **fields,
    }
    return client.post(reverse("projects:new"), data, follow=True)


def test_a_project_is_created_after_checking_person_and_category(
    client_of, outsider, fake_commons, django_capture_on_commit_callbacks, queued
):
    with django_capture_on_commit_callbacks(execute=True):
        response = create(client_of(outsider))
    project = Project.objects.get(owner=outsider)
    assert (project.qid, project.category, project.person_image) == (
        "Q76",
        "Barack Obama",
        "Barack Obama 01.jpg",
    )
    assert [(q.task, q.args) for q in queued] == [("faces.crawl.project", (project.pk,))]
    assert set(project.person_labels) >= {"en", "nb", "es", "fr"}  # shown in each language
    assert response.redirect_chain[-1][0] == reverse("projects:detail", args=[project.pk])
    assert "being crawled" in response.content.decode()


def test_a_redirected_item_is_followed_and_said(client_of, outsider, fake_commons):
    response = create(client_of(outsider), qid="Q189999001")
    assert Project.objects.get(owner=outsider).qid == "Q76"
    assert "Q189999001 redirects to Q76" in response.content.decode()


@pytest.mark.parametrize(
    ("qid", "says"),
    [
        ("Q144", "is not a human"),
        ("Q189999002", "does not exist on Wikidata"),
        ("Q189999003", "does not exist on Wikidata"),
        ("dog", "is not a Wikidata item id"),
    ],
)
def test_a_person_who_is_not_one_is_refused_with_a_reason(
    client_of, outsider, fake_commons, qid, says
):
    response = create(client_of(outsider), qid=qid)
    assert says in response.content.decode()
    assert not Project.objects.exists()


def test_a_missing_category_is_refused(client_of, outsider, fake_commons):
    response = create(client_of(outsider), category="No such category here")
    assert "There is no category" in response.content.decode()
    assert not Project.objects.exists()


def test_the_same_project_twice_is_refused(client_of, outsider, fake_commons):
    create(client_of(outsider))
    response = create(client_of(outsider))
    assert Project.objects.count() == 1
    assert "already exists" in response.content.decode()


def test_a_slow_wikidata_gets_a_clear_message_and_no_project(
    client_of, outsider, fake_commons, monkeypatch
):
    monkeypatch.setattr("projects.views.QUICK_TIMEOUT", 0.3)
    fake_commons.inject("slow", times=None, action="wbgetentities", seconds=1.5)
    response = create(client_of(outsider))
    assert "Wikidata is slow or unreachable" in response.content.decode()
    assert not Project.objects.exists()


def test_an_unavailable_commons_gets_a_clear_message(client_of, outsider, fake_commons):
    fake_commons.inject("http503", times=None, action="query")
    response = create(client_of(outsider))
    assert "Commons is slow or unreachable" in response.content.decode()


def test_person_autocomplete_finds_people(client_of, outsider, fake_commons):
    data = client_of(outsider).get(reverse("projects:people"), {"q": "Barack"}).json()
    assert {"qid": "Q76", "label": "Barack Obama"}.items() <= data["results"][0].items()


def test_the_person_check_gives_image_and_refusals(client_of, outsider, fake_commons):
    client = client_of(outsider)
    data = client.get(reverse("projects:person"), {"qid": "Q189999001"}).json()
    assert (data["qid"], data["redirected_from"]) == ("Q76", "Q189999001")
    assert "Special:FilePath/Barack_Obama_01.jpg?width=330" in data["image"]
    response = client.get(reverse("projects:person"), {"qid": "Q144"})
    assert (response.status_code, response.json()["error"]) == (422, "not_human")


def test_autocomplete_is_rate_limited(client_of, outsider, fake_commons):
    client = client_of(outsider)
    codes = [client.get(reverse("projects:person"), {"qid": "Q76"}).status_code for _ in range(31)]
    assert codes[:30] == [200] * 30 and codes[30] == 429


# --- the project page -------------------------------------------------------------------


LEARNING = LearnerSummary(
    updated_at=datetime(2026, 11, 23, 15, tzinfo=UTC),
    precision=0.91,
    recall=0.62,
    answers=12,
    suggested=40,
    threshold=0.5,
    histogram=ScoreHistogram(
        bins=(0.0, 0.25, 0.5, 0.75, 1.0),
        answered_yes=(0, 1, 3, 5),
        answered_no=(4, 2, 1, 0),
        unanswered=(300, 120, 30, 12),
    ),
)


def test_the_project_page_shows_counts_chart_and_members(client_of, owner, member, project, faces):
    project.learning = LEARNING.to_json()
    project.save()
    score(project, faces, [0.9, 0.8, 0.1])
    DepictsEditFactory(project=project, image=faces[0].image, state=DepictsEdit.State.SENT)
    body = client_of(owner).get(reverse("projects:detail", args=[project.pk])).content.decode()
    assert '<dd data-key="suggested">1</dd>' in body  # face 1 is sent already
    assert '<dd data-key="sent">1</dd>' in body
    assert body.count('class="bar open"') == 4 and body.count('class="bar yes"') == 3
    assert 'class="threshold"' in body and "91\xa0%" in body and "62\xa0%" in body
    assert "member" in body and "Invite" in body


def test_a_summary_stored_under_other_key_names_shows_no_chart_and_no_error(
    client_of, owner, project
):
    renamed = LEARNING.to_json()
    renamed["estimated_precision"] = renamed.pop("precision")
    renamed["histogram"]["open"] = renamed["histogram"].pop("unanswered")
    project.learning = renamed
    project.save()
    client = client_of(owner)
    body = client.get(reverse("projects:detail", args=[project.pk])).content.decode()
    assert 'class="bar' not in body and "The learner starts after" in body
    status = client.get(reverse("projects:status", args=[project.pk])).json()
    assert (status["precision"], status["recall"]) == (None, 0.62)


def test_members_do_not_see_the_settings(client_of, member, project):
    body = client_of(member).get(reverse("projects:detail", args=[project.pk])).content.decode()
    assert "Save settings" not in body and "Invite" not in body


def test_the_status_json_reports_progress_and_stalled_workers(client_of, owner, project, faces):
    from faces.models import Image

    an_hour_ago = timezone.now() - timezone.timedelta(hours=1)
    Image.objects.update(processed_at=an_hour_ago, created_at=an_hour_ago)
    Image.objects.filter(pk=faces[0].image_id).update(state=Image.State.PENDING)
    data = client_of(owner).get(reverse("projects:status", args=[project.pk])).json()
    assert (data["images"], data["processed"], data["faces"]) == (3, 2, 3)
    assert data["detecting"] is True
    assert data["stalled"] is True


def test_the_owner_invites_and_removes_a_reviewer(client_of, owner, project):
    from tests.factories import UserFactory

    newcomer = UserFactory(username="newcomer")
    client = client_of(owner)
    client.post(reverse("projects:member-invite", args=[project.pk]), {"username": "newcomer"})
    assert project.role_of(newcomer) == Membership.Role.REVIEWER
    response = client.post(
        reverse("projects:member-invite", args=[project.pk]), {"username": "nobody"}, follow=True
    )
    assert "Nobody called “nobody”" in response.content.decode()
    client.post(reverse("projects:member-remove", args=[project.pk, newcomer.pk]))
    assert project.role_of(newcomer) is None


def test_the_owner_cannot_be_removed(client_of, owner, project):
    url = reverse("projects:member-remove", args=[project.pk, owner.pk])
    assert client_of(owner).post(url).status_code == 404


@pytest.mark.parametrize(
    ("change", "rescored"),
    [({"distance_threshold": 0.45}, True), ({"min_answers": 8}, True), ({"crawl_depth": 1}, False)],
)
def test_new_learner_settings_rescore_at_once(
    client_of, owner, project, queued, django_capture_on_commit_callbacks, change, rescored
):
    form = {
        "state": project.state,
        "crawl_depth": project.crawl_depth,
        "distance_threshold": project.distance_threshold,
        "min_answers": project.min_answers,
        "description": project.description,
        "write_face_region": "on",
        "writes_enabled": "on",
    }
    with django_capture_on_commit_callbacks(execute=True):
        client_of(owner).post(reverse("projects:settings", args=[project.pk]), {**form, **change})
    assert [q.task for q in queued].count("faces.learn.project") == int(rescored)


def test_the_owner_pauses_the_project_in_the_settings(client_of, owner, project):
    client_of(owner).post(
        reverse("projects:settings", args=[project.pk]),
        {
            "state": "paused",
            "crawl_depth": 1,
            "distance_threshold": 0.5,
            "min_answers": 3,
            "description": "Only adult photos.",
        },
    )
    project.refresh_from_db()
    assert (project.state, project.crawl_depth, project.description) == (
        "paused",
        1,
        "Only adult photos.",
    )


def test_an_invalid_setting_is_refused_with_a_message(client_of, owner, project):
    response = client_of(owner).post(
        reverse("projects:settings", args=[project.pk]),
        {"state": "archived", "crawl_depth": 1, "distance_threshold": 9, "min_answers": 3},
        follow=True,
    )
    project.refresh_from_db()
    assert project.state == "active"
    assert "were not saved" in response.content.decode()


def read_csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_answers_export_as_csv(client_of, owner, project, faces):
    answers.answer_record(
        project=project, face=faces[0], user=owner, verdict="no", request_id=uuid.uuid4()
    )
    undo.answer_undo(project=project, user=owner)
    response = client_of(owner).get(reverse("projects:export-answers", args=[project.pk]))
    assert response["Content-Type"].startswith("text/csv")
    rows = read_csv(response)
    assert rows[0][:3] == ["time", "reviewer", "verdict"]
    assert rows[1][1:3] == ["owner", "no"] and rows[1][3]  # undone, and said so


def test_edits_export_as_csv_safe_for_spreadsheets(client_of, owner, project, faces):
    faces[0].image.title = "=HYPERLINK(evil).jpg"
    faces[0].image.save()
    DepictsEditFactory(project=project, image=faces[0].image)
    rows = read_csv(client_of(owner).get(reverse("projects:export-edits", args=[project.pk])))
    assert rows[1][3] == "'=HYPERLINK(evil).jpg"


# --- suggestions ------------------------------------------------------------------------


def grid(client, project, **query):
    return client.get(reverse("projects:suggestions", args=[project.pk]), query)


def test_suggestions_are_sorted_by_score_and_skip_what_is_decided(client_of, owner, project):
    faces = photos_of(project, 5)
    score(project, faces, [0.7, 0.95, 0.2, 0.8, 0.6])
    answers.answer_record(
        project=project, face=faces[3], user=owner, verdict="no", request_id=uuid.uuid4()
    )
    answers.answer_record(
        project=project, face=faces[2], user=owner, verdict="yes", request_id=uuid.uuid4()
    )
    cards = grid(client_of(owner), project).context["cards"]
    assert [c["face"] for c in cards] == [faces[1], faces[0], faces[4], faces[2]]
    assert [c["confirmed"] for c in cards] == [False, False, False, True]


def test_suggestions_filter_by_score_and_source(client_of, owner, project):
    faces = photos_of(project, 4)
    score(project, faces, [0.9, 0.8, 0.7, 0.2])
    answers.answer_record(
        project=project, face=faces[3], user=owner, verdict="yes", request_id=uuid.uuid4()
    )
    client = client_of(owner)
    assert [c["face"] for c in grid(client, project, score_min="75").context["cards"]] == faces[:2]
    assert [c["face"] for c in grid(client, project, source="human").context["cards"]] == [faces[3]]
    assert len(grid(client, project, source="model", score_max="85").context["cards"]) == 2


def test_suggestions_paginate_without_a_cap(client_of, owner, project):
    faces = photos_of(project, 100)
    score(project, faces, [0.5 + i / 1000 for i in range(100)])
    response = grid(client_of(owner), project, page=3)
    assert response.context["page"].paginator.num_pages == 3
    assert len(response.context["cards"]) == 4
    assert "page=2" in response.content.decode()


def test_approving_the_page_creates_approved_edits_and_sends_nothing(client_of, owner, project):
    faces = photos_of(project, 3)
    score(project, faces, [0.9, 0.8, 0.7])
    client = client_of(owner)
    ids = [c["face"].pk for c in grid(client, project).context["cards"]]
    response = client.post(
        reverse("projects:suggestions-approve", args=[project.pk]), {"face": ids}, follow=True
    )
    edits = DepictsEdit.objects.filter(project=project)
    assert sorted(edits.values_list("face_id", flat=True)) == sorted(ids)
    assert set(edits.values_list("state", flat=True)) == {DepictsEdit.State.APPROVED}
    assert "3 photos approved" in response.content.decode()
    assert response.context["cards"] == []


def test_rejecting_stores_no_answers_and_the_faces_leave_the_grid(
    client_of, owner, member, project
):
    faces = photos_of(project, 3)
    score(project, faces, [0.9, 0.8, 0.7])
    answers.answer_record(
        project=project, face=faces[0], user=member, verdict="yes", request_id=uuid.uuid4()
    )
    client = client_of(owner)
    client.post(
        reverse("projects:suggestions-reject", args=[project.pk]),
        {"face": [faces[0].pk, faces[1].pk]},
    )
    labels = Label.objects.filter(project=project, source=Label.Source.HUMAN)
    assert dict(labels.values_list("face_id", "verdict")) == {faces[0].pk: "no", faces[1].pk: "no"}
    assert [c["face"] for c in grid(client, project).context["cards"]] == [faces[2]]
    undo.answer_undo(project=project, user=owner)  # the owner changes their mind
    assert dict(labels.values_list("face_id", "verdict")) == {faces[0].pk: "yes"}


def test_a_paused_project_approves_nothing(client_of, owner, project, faces):
    score(project, faces, [0.9, 0.8, 0.7])
    project.pause()
    response = client_of(owner).post(
        reverse("projects:suggestions-approve", args=[project.pk]),
        {"face": [faces[0].pk]},
        follow=True,
    )
    assert not DepictsEdit.objects.exists()
    assert "takes no answers" in response.content.decode()


def test_faces_of_other_projects_are_ignored_when_approving(client_of, owner, project):
    other = photos_of(ProjectFactory(), 1)[0]
    client_of(owner).post(
        reverse("projects:suggestions-approve", args=[project.pk]), {"face": [other.pk]}
    )
    assert not DepictsEdit.objects.exists()


# --- queries per page: pinned, and independent of the number of rows ----------------------


@pytest.mark.parametrize("photos", [3, 30])
def test_queries_of_the_dashboard(client_of, owner, django_assert_num_queries, photos):
    projects = [ProjectFactory(owner=owner) for _ in range(3)]
    for project in projects:
        photos_of(project, photos)
    for n in range(photos // 3):  # groups of people: one query however many
        group = ProjectGroup.objects.create(owner=owner, name=f"Group {n}")
        GroupPerson.objects.create(group=group, project=ProjectFactory(owner=owner), position=0)
    client = client_of(owner)
    with django_assert_num_queries(DASHBOARD_QUERIES):
        client.get(reverse("projects:dashboard"))


@pytest.mark.parametrize("photos", [3, 30])
def test_queries_of_the_project_page(
    client_of, owner, member, project, django_assert_num_queries, photos
):
    photos_of(project, photos)
    client = client_of(owner)
    with django_assert_num_queries(PROJECT_QUERIES):
        client.get(reverse("projects:detail", args=[project.pk]))


@pytest.mark.parametrize("photos", [3, 30])
def test_queries_of_the_classify_page(
    client_of, member, project, django_assert_num_queries, photos
):
    faces = photos_of(project, photos, faces_per_photo=2)
    score(project, faces, [i / len(faces) for i in range(len(faces))])
    client = client_of(member)
    with django_assert_num_queries(CLASSIFY_QUERIES):
        client.get(reverse("projects:classify", args=[project.pk]))


@pytest.mark.parametrize("photos", [3, 30])
def test_queries_of_the_suggestion_grid(
    client_of, member, project, django_assert_num_queries, photos
):
    faces = photos_of(project, photos)
    score(project, faces, [0.6 + i / 1000 for i in range(photos)])
    client = client_of(member)
    with django_assert_num_queries(SUGGESTIONS_QUERIES):
        client.get(reverse("projects:suggestions", args=[project.pk]))


# session, user, the projects with their counts, the groups of people; the bell (unread
# notifications)
DASHBOARD_QUERIES = 5
# session, user, project; progress (images, labels, faces); counts (suggested, edits); members;
# the audit of existing statements; the bell (unread notifications)
PROJECT_QUERIES = 11
# session, user, project, membership; next face (my recent skips, held by me, candidates by
# priority, which of them are answered, the face); its lease (savepoint, insert, release);
# the photo's faces and their labels (two plain queries: one with two label subqueries per
# face cost more to build, on every answer too); the bell (unread notifications)
CLASSIFY_QUERIES = 15
# session, user, project, membership; the faces that need an individual look (sensitive
# content); the batch "which of these are not the person?"; count and page of the grid; the bell
SUGGESTIONS_QUERIES = 9


def test_a_crawl_that_never_started_counts_as_stalled_workers(client_of, owner, project):
    Project.objects.filter(pk=project.pk).update(
        created_at=timezone.now() - timezone.timedelta(hours=1)
    )
    data = client_of(owner).get(reverse("projects:status", args=[project.pk])).json()
    assert (data["crawling"], data["stalled"]) == (True, True)
    assert "Listing the photos" in data["phase"]


def test_a_fresh_project_is_not_stalled(client_of, owner, project):
    data = client_of(owner).get(reverse("projects:status", args=[project.pk])).json()
    assert data["stalled"] is False


def test_the_classify_page_of_a_paused_project_says_so(client_of, member, project, faces):
    project.pause()
    body = client_of(member).get(reverse("projects:classify", args=[project.pk])).content
    assert "takes no answers until its owner resumes it" in body.decode()
    assert not ReviewLease.objects.exists()  # nothing is held for a paused project


def test_too_many_requests_get_a_page_that_says_so(client_of, owner, project):
    client = client_of(owner)
    url = reverse("projects:export-answers", args=[project.pk])
    codes = [client.get(url).status_code for _ in range(11)]
    assert codes[-1] == 429
    response = client.get(url)
    assert b"Too many requests" in response.content and response["Retry-After"] == "60"


def test_a_project_still_being_crawled_does_not_claim_to_be_finished(client_of, owner, project):
    data = client_of(owner).get(reverse("projects:next", args=[project.pk])).json()
    assert data["question"] is None
    assert "New questions appear as faces are found" in data["message"]


def test_the_send_page_and_the_notifications_show_one_unambiguous_date(client_of, owner, project):
    """Not "12/07/2026 2:43 a.m." (12 July to a British reader) beside "Dec. 7, 2026"."""
    at = datetime(2026, 12, 7, 2, 43, tzinfo=UTC)
    DepictsEditFactory(
        project=project,
        state=DepictsEdit.State.SENT,
        batch=uuid.uuid4(),
        queued_at=at,
        sent_by=owner,
    )
    notification = Notification.objects.create(
        recipient=owner, project=project, kind=Notification.Kind.SEND_FINISHED, event="batch"
    )
    Notification.objects.filter(pk=notification.pk).update(created_at=at)
    client = client_of(owner)
    send = client.get(reverse("depicts:send", args=[project.pk])).content.decode()
    told = client.get(reverse("notifications:list")).content.decode()
    assert "7 Dec 2026, 02:43" in send
    assert "7 Dec 2026, 02:43" in told
    assert "12/07/2026" not in send
