"""The read API (issue #26): a file's and a project's pending suggestions as JSON, for
gadgets on Commons and other tools; what it may tell, and the headers every answer carries."""

from __future__ import annotations

import pytest
from django.urls import reverse

from depicts.models import DepictsEdit
from faces.models import ImageCategory, Label, ProjectImage
from projects.models import Project, Sensitivity, Withholding
from tests.factories import (
    DepictsEditFactory,
    FaceFactory,
    ImageFactory,
    LabelFactory,
    ProjectFactory,
    ProjectImageFactory,
)

pytestmark = pytest.mark.django_db

COMMONS = "https://commons.wikimedia.org"
TITLE = "File:Ada at the lab.jpg"


def suggest(project: Project, image, *, score: float = 0.9, index: int = 0) -> Label:
    """The learner proposes a face of ``image`` in ``project``, nobody answered yet."""
    if not ProjectImage.objects.filter(project=project, image=image).exists():
        ProjectImageFactory(project=project, image=image)
    face = FaceFactory(image=image, index=index, left=0.1, top=0.2, width=0.25, height=0.3)
    return LabelFactory(
        project=project, face=face, source=Label.Source.MODEL, score=score, verdict="yes"
    )


def file_api(client, title: str = TITLE, *, origin: str | None = None):
    headers = {"Origin": origin} if origin is not None else {}
    return client.get(reverse("api:file-suggestions"), {"title": title}, headers=headers)


def project_api(client, project: Project, **query):
    return client.get(reverse("api:project-suggestions", args=[project.pk]), query)


@pytest.fixture
def image():
    return ImageFactory(title=TITLE)


@pytest.fixture
def project(owner):
    return ProjectFactory(owner=owner, qid="Q7259", person_labels={"en": "Ada", "fr": "Ada L."})


# --- what a file's suggestions say ------------------------------------------------------------


def test_a_files_suggestion_names_the_person_region_score_and_project(client, project, image):
    suggest(project, image, score=0.87654)

    body = file_api(client, "file:Ada_at_the_lab.jpg").json()

    assert body["title"] == TITLE  # normalised as the rest of the app does
    (row,) = body["suggestions"]
    assert row["person"] == {"qid": "Q7259", "label": "Ada"}
    assert row["region"] == "pct:10,20,25,30"  # the P2677 value the writer would send
    assert row["score"] == 0.8765
    assert row["confirmed"] is False
    assert row["file"] == {"title": TITLE, "pageid": image.pageid}
    assert row["project"] == {
        "id": project.pk,
        "url": f"http://testserver/projects/{project.pk}/",
    }


def test_the_label_follows_the_asked_language(client, project, image):
    suggest(project, image)
    url = reverse("api:file-suggestions")
    body = client.get(url, {"title": TITLE, "lang": "fr"}).json()
    assert body["suggestions"][0]["person"]["label"] == "Ada L."


def test_a_face_a_reviewer_confirmed_is_pending_too(client, project, image, owner):
    label = suggest(project, image)
    LabelFactory(project=project, face=label.face, source=Label.Source.HUMAN, user=owner)
    (row,) = file_api(client).json()["suggestions"]
    assert row["confirmed"] is True
    assert "owner" not in file_api(client).content.decode()  # no reviewer's name


def test_what_a_reviewer_rejected_is_not_pending(client, project, image, owner):
    label = suggest(project, image)
    LabelFactory(project=project, face=label.face, source=Label.Source.HUMAN, verdict="no")
    assert file_api(client).json()["suggestions"] == []


def test_an_approved_face_is_no_longer_pending(client, project, image, owner):
    label = suggest(project, image)
    DepictsEditFactory(
        project=project,
        image=image,
        face=label.face,
        qid=project.qid,
        approved_by=owner,
        state=DepictsEdit.State.APPROVED,
    )
    assert file_api(client).json()["suggestions"] == []


def test_a_file_in_two_projects_lists_both(client, project, image):
    other = ProjectFactory(qid="Q42", person_labels={"en": "Douglas"})
    suggest(project, image, score=0.8)
    suggest(other, image, score=0.95, index=1)
    rows = file_api(client).json()["suggestions"]
    assert [row["person"]["qid"] for row in rows] == ["Q42", "Q7259"]  # best score first


def test_no_uploader_reviewer_or_owner_name_in_any_answer(client, project, image, owner):
    image.uploader = "Some Uploader"
    image.save()
    suggest(project, image)
    text = file_api(client).content.decode() + project_api(client, project).content.decode()
    assert "Some Uploader" not in text and owner.username not in text


# --- the rules: what the API never tells --------------------------------------------------------


@pytest.mark.parametrize(
    "hold",
    [
        {"state": Project.State.PAUSED},
        {"state": Project.State.ARCHIVED},
        {"moderation": Project.Moderation.PAUSED},
        {"moderator_writes_stopped": True},
    ],
)
def test_a_project_not_active_or_held_by_a_moderator_is_never_told(client, project, image, hold):
    suggest(project, image)
    Project.objects.filter(pk=project.pk).update(**hold)
    assert file_api(client).json()["suggestions"] == []
    assert project_api(client, project).status_code == 404


@pytest.mark.parametrize(
    ("model", "kind", "value"),
    [
        (Withholding, Withholding.Kind.PERSON, "Q7259"),
        (Withholding, Withholding.Kind.FILE, TITLE),
        (Withholding, Withholding.Kind.CATEGORY, "Lab photos"),
        (Sensitivity, Sensitivity.Kind.PERSON, "Q7259"),
        (Sensitivity, Sensitivity.Kind.CATEGORY, "Lab photos"),
    ],
)
def test_nothing_about_a_withheld_or_sensitive_item(client, project, image, model, kind, value):
    suggest(project, image)
    ImageCategory.objects.create(image=image, category="Lab photos")
    assert len(file_api(client).json()["suggestions"]) == 1
    model.objects.create(kind=kind, value=value, reason="test")

    assert file_api(client).json()["suggestions"] == []
    response = project_api(client, project)
    assert response.status_code == 404 or response.json()["suggestions"] == []


def test_a_project_in_a_withheld_category_is_never_told(client, owner, image):
    project = ProjectFactory(owner=owner, category="Lab photos")
    suggest(project, image)
    Withholding.objects.create(kind=Withholding.Kind.CATEGORY, value="Lab photos", reason="x")
    assert file_api(client).json()["suggestions"] == []
    assert project_api(client, project).status_code == 404


# --- a project's suggestions, paged -----------------------------------------------------------


def test_a_projects_suggestions_come_a_page_at_a_time(client, project, settings):
    for number in range(51):
        suggest(project, ImageFactory(), score=number / 100)

    first = project_api(client, project).json()
    second = client.get(first["next"]).json()

    assert first["project"]["id"] == project.pk
    assert len(first["suggestions"]) == 50 and first["page"] == 1
    assert first["suggestions"][0]["score"] == 0.5  # the grid's order: best first
    assert [row["score"] for row in second["suggestions"]] == [0.0]
    assert second["next"] is None


def test_an_unknown_project_is_a_json_404(client, db):
    response = client.get(reverse("api:project-suggestions", args=[999_999]))
    assert response.status_code == 404 and response.json()["error"] == "not_found"


# --- bad input, methods, headers -------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ({}, "missing_title"),
        ({"title": "Category:Lab photos"}, "bad_title"),
        ({"title": "File:a<b>.jpg"}, "bad_title"),
        ({"title": TITLE, "lang": "en'; drop"}, "bad_lang"),
    ],
)
def test_bad_input_is_a_400_with_a_json_error(client, db, query, code):
    response = client.get(reverse("api:file-suggestions"), query)
    assert response.status_code == 400
    assert response.json()["error"] == code and response.json()["message"]


@pytest.mark.parametrize("page", ["0", "x", "-1", "10001"])
def test_a_bad_page_is_a_400(client, project, page):
    response = project_api(client, project, page=page)
    assert response.status_code == 400 and response.json()["error"] == "bad_page"


@pytest.mark.parametrize("method", ["post", "put", "delete", "patch"])
def test_only_get_and_head_are_answered(client, project, image, method):
    suggest(project, image)
    response = getattr(client, method)(reverse("api:file-suggestions") + f"?title={TITLE}")
    assert response.status_code == 405 and response["Allow"] == "GET, HEAD"
    assert Label.objects.count() == 1
    assert client.head(reverse("api:file-suggestions"), {"title": TITLE}).status_code == 200


def test_commons_may_read_the_answers_from_its_pages(client, db):
    response = file_api(client, origin=COMMONS)
    assert response["Access-Control-Allow-Origin"] == COMMONS
    assert "Origin" in response["Vary"]


@pytest.mark.parametrize("origin", ["https://evil.example", "http://commons.wikimedia.org", ""])
def test_no_other_origin_gets_a_cors_header(client, db, origin):
    response = file_api(client, origin=origin)
    assert "Access-Control-Allow-Origin" not in response


def test_answers_and_errors_are_cacheable_for_a_minute(client, project):
    assert file_api(client)["Cache-Control"] == "max-age=60"
    assert project_api(client, project, page="x")["Cache-Control"] == "max-age=60"


def test_the_api_is_rate_limited_per_address_with_a_json_429(client, db):
    statuses = [file_api(client).status_code for _ in range(121)]
    assert 429 not in statuses[:120] and statuses[120] == 429
    refused = file_api(client, origin=COMMONS)
    assert refused.json()["error"] == "rate_limited"
    assert refused["Access-Control-Allow-Origin"] == COMMONS  # a gadget can read why
    assert "no-store" in refused["Cache-Control"]


# --- queries ---------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [1, 6])
def test_a_files_suggestions_cost_one_query_however_many(
    client, project, image, count, django_assert_num_queries
):
    for index in range(count):
        other = ProjectFactory(qid=f"Q{9000 + index}")
        suggest(other if index % 2 else project, image, index=index)
    with django_assert_num_queries(1):
        assert len(file_api(client).json()["suggestions"]) == count


@pytest.mark.parametrize("count", [1, 12])
def test_a_projects_page_costs_two_queries_however_many(
    client, project, count, django_assert_num_queries
):
    for _ in range(count):
        suggest(project, ImageFactory())
    with django_assert_num_queries(2):
        assert len(project_api(client, project).json()["suggestions"]) == count
