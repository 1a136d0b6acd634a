"""Projects over a Commons search or over the uploads of a user: made on the new-project page
(the search's size estimated, the user name checked), crawled by the worker's task through the
real client against the offline stand-in, and run again at each re-crawl: what the listing
no longer names leaves the project, as a category's files do; withholdings apply."""

from __future__ import annotations

import copy
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction
from django.urls import reverse

from faces import tasks
from faces.models import Image, ProjectImage
from faces.selectors import sensitive_faces
from fakecommons.media import source_from_spec
from projects.models import Project, Sensitivity, Withholding
from tests.factories import FaceFactory, ProjectFactory

pytestmark = pytest.mark.django_db

ADA, BO = "Ada Lovelace", "Bo Builder"


def jpeg(seed: int, user: str, timestamp: str, **extra: Any) -> dict[str, Any]:
    generate = {"format": "JPEG", "width": 1200, "height": 900, "seed": seed}
    return {"generate": generate, "user": user, "timestamp": timestamp, **extra}


WORLD: dict[str, Any] = {
    "items": {"Q42": {"labels": {"en": "Douglas Adams"}, "P31": ["Q5"]}},
    "categories": {
        "Douglas Adams": {"files": ["Adams 1.jpg", "Adams 2.jpg", "Adams 3.jpg", "Map.svg"]},
        "Private portraits": {"files": ["Adams 3.jpg"]},
    },
    "files": {
        "Adams 1.jpg": jpeg(1, ADA, "2016-01-01T10:00:00Z", depicts=["Q42"]),
        "Adams 2.jpg": jpeg(2, BO, "2017-01-01T10:00:00Z"),
        "Adams 3.jpg": jpeg(3, ADA, "2018-01-01T10:00:00Z"),
        "Elsewhere.jpg": jpeg(4, ADA, "2019-01-01T10:00:00Z"),
        "Map.svg": {
            "generate": {"format": "SVG", "width": 10, "height": 10},
            "user": ADA,
            "timestamp": "2019-06-01T10:00:00Z",
        },
    },
}
SEARCH = "incategory:Douglas_Adams"


@pytest.fixture
def fake(make_fake_commons):
    return make_fake_commons(copy.deepcopy(WORLD))


@pytest.fixture
def search_project(owner):
    return ProjectFactory(
        owner=owner, qid="Q42", scope="search", category=None, search_query=SEARCH
    )


@pytest.fixture
def uploads_project(owner):
    return ProjectFactory(owner=owner, qid="Q42", scope="uploads", category=None, uploads_user=ADA)


def crawl_task(project, capture) -> None:
    """One ``faces.crawl.project`` task, as a worker runs it (what it queues is recorded)."""
    with capture(execute=True):
        tasks.crawl_project(project.pk)


def linked(project: Project) -> set[str]:
    links = ProjectImage.objects.filter(project=project, source=ProjectImage.Source.CATEGORY)
    return set(links.values_list("image__title", flat=True))


def upload(fake, name: str, *, user: str, seed: int, categories=()) -> None:
    source = source_from_spec({"generate": {"format": "JPEG", "seed": seed}}, Path("."))
    fake.world.upload(
        name, source, user=user, timestamp="2020-01-01T10:00:00Z", categories=categories
    )


def form_data(**changes) -> dict:
    data = {
        "qid": "Q42",
        "scope": "search",
        "category": "",
        "search_query": "",
        "uploads_user": "",
        "distance_threshold": 0.6,
        "min_answers": 3,
    }
    return {**data, **changes}


def post_new(client, **changes):
    return client.post(reverse("projects:new"), form_data(**changes), follow=True)


def field_errors(response, field: str) -> list[str]:
    return [str(e) for e in response.context["form"].errors.get(field, [])]


# --- the new-project page ------------------------------------------------------------------


def test_a_search_becomes_a_project_told_how_many_files_it_finds(client_of, owner, fake, queued):
    response = post_new(client_of(owner), search_query="  incategory:Douglas_Adams   -Map ")
    project = Project.objects.get()
    assert (project.scope, project.search_query, project.category) == (
        "search",
        "incategory:Douglas_Adams -Map",
        None,
    )
    assert "The search finds about 3 files on Commons." in response.content.decode()
    assert "Commons search: incategory:Douglas_Adams -Map" in response.content.decode()


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("   ", "Give the search to run on Commons."),
        ("incategory:No_such_category", "This search finds no file on Commons."),
    ],
)
def test_an_empty_search_or_one_that_finds_nothing_is_refused(client_of, owner, fake, query, says):
    response = post_new(client_of(owner), search_query=query)
    assert field_errors(response, "search_query") == [says]
    assert not Project.objects.exists()


def test_the_page_estimates_a_search_as_it_is_typed(client_of, owner, fake):
    client = client_of(owner)
    url = reverse("projects:search-estimate")
    answer = client.get(url, {"q": SEARCH}).json()
    assert answer == {"files": 4, "message": "The search finds about 4 files on Commons."}
    nothing = client.get(url, {"q": "incategory:Nothing_here"})
    assert nothing.status_code == 404 and nothing.json()["error"] == "empty"


def test_the_uploads_of_a_user_become_a_project_under_their_normal_name(
    client_of, owner, fake, queued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = post_new(client_of(owner), scope="uploads", uploads_user="User:Ada_Lovelace")
    project = Project.objects.get()
    assert (project.scope, project.uploads_user) == ("uploads", ADA)
    assert "The uploads of User:Ada Lovelace are being listed now." in response.content.decode()
    assert ("faces.crawl.project", (project.pk,)) in [(job.task, job.args) for job in queued]


@pytest.mark.parametrize(
    ("given", "says"),
    [
        ("", "Give the name of a Wikimedia user."),
        ("User:", "Give the name of a Wikimedia user."),
        ("Ada<3", "“Ada<3” is not a valid Wikimedia user name."),
        ("Nobody Here", "User:Nobody Here has uploaded no file to Commons."),
    ],
)
def test_an_empty_invalid_or_uploadless_user_is_refused(client_of, owner, fake, given, says):
    response = post_new(client_of(owner), scope="uploads", uploads_user=given)
    assert field_errors(response, "uploads_user") == [says]
    assert not Project.objects.exists()


def test_a_user_whose_uploads_are_all_someone_elses_now_is_told_so(client_of, owner, fake):
    upload(fake, "Elsewhere.jpg", user=BO, seed=8)
    upload(fake, "Adams 1.jpg", user=BO, seed=9)
    upload(fake, "Adams 3.jpg", user=BO, seed=10)
    fake.world.delete_file("Map.svg")

    response = post_new(client_of(owner), scope="uploads", uploads_user=ADA)

    assert field_errors(response, "uploads_user") == [
        "User:Ada Lovelace uploaded files to Commons, but none of them is theirs now (deleted, "
        "or a newer version uploaded by someone else)."
    ]


def test_a_category_project_is_made_as_before(client_of, owner, fake):
    post_new(client_of(owner), scope="category", category="Douglas Adams", crawl_depth=0)
    project = Project.objects.get()
    assert (project.scope, project.category, project.search_query, project.uploads_user) == (
        "category",
        "Douglas Adams",
        "",
        "",
    )


def test_a_project_holds_exactly_the_parameter_of_its_scope(owner):
    for scope, fields in [
        ("search", {"category": None, "search_query": ""}),
        ("search", {"category": "X", "search_query": SEARCH}),
        ("uploads", {"category": None, "uploads_user": ""}),
        ("uploads", {"category": None, "uploads_user": ADA, "search_query": SEARCH}),
        ("category", {"category": "X", "uploads_user": ADA}),
        ("files", {"category": None, "search_query": SEARCH}),
    ]:
        with pytest.raises(IntegrityError), transaction.atomic():
            Project.objects.create(owner=owner, qid="Q42", scope=scope, **fields)


# --- the crawl -----------------------------------------------------------------------------


def test_a_search_project_takes_the_bitmaps_the_search_finds(
    fake, search_project, queued, django_capture_on_commit_callbacks
):
    crawl_task(search_project, django_capture_on_commit_callbacks)

    assert linked(search_project) == {"File:Adams 1.jpg", "File:Adams 2.jpg", "File:Adams 3.jpg"}
    search_project.refresh_from_db()
    assert search_project.crawl_cursor is None and search_project.crawled_at is not None
    searches = [r for r in fake.api_requests() if r.params.get("list") == "search"]
    assert searches and searches[0].params["srsearch"] == SEARCH
    assert searches[0].params["srnamespace"] == "6"
    assert "faces.detect.next" in [job.task for job in queued]


def test_an_uploads_project_takes_the_users_current_uploads(
    fake, uploads_project, queued, django_capture_on_commit_callbacks
):
    crawl_task(uploads_project, django_capture_on_commit_callbacks)

    assert linked(uploads_project) == {"File:Adams 1.jpg", "File:Adams 3.jpg", "File:Elsewhere.jpg"}
    assert set(Image.objects.values_list("uploader", flat=True)) == {ADA}


def test_a_recrawl_runs_the_search_again(
    fake, search_project, queued, django_capture_on_commit_callbacks
):
    crawl_task(search_project, django_capture_on_commit_callbacks)
    upload(fake, "Adams 4.jpg", user=BO, seed=5, categories=["Douglas Adams"])
    fake.world.uncategorise("Adams 2.jpg", "Douglas Adams")
    queued.clear()

    crawl_task(search_project, django_capture_on_commit_callbacks)

    assert linked(search_project) == {"File:Adams 1.jpg", "File:Adams 3.jpg", "File:Adams 4.jpg"}
    assert Image.objects.filter(title="File:Adams 2.jpg").exists()  # kept as history
    assert ("depicts.write.unlinked_cancel", (search_project.pk,)) in [
        (job.task, job.args) for job in queued
    ]


def test_a_recrawl_lists_the_users_uploads_again(
    fake, uploads_project, queued, django_capture_on_commit_callbacks
):
    crawl_task(uploads_project, django_capture_on_commit_callbacks)
    upload(fake, "Adams at home.jpg", user=ADA, seed=6)
    upload(fake, "Adams 3.jpg", user=BO, seed=7)  # a new version by someone else

    crawl_task(uploads_project, django_capture_on_commit_callbacks)

    assert linked(uploads_project) == {
        "File:Adams 1.jpg",
        "File:Elsewhere.jpg",
        "File:Adams at home.jpg",
    }


@pytest.mark.parametrize("scope", ["search", "uploads"])
def test_withheld_files_and_files_in_withheld_categories_are_left_out(
    fake, search_project, uploads_project, scope, django_capture_on_commit_callbacks
):
    project = search_project if scope == "search" else uploads_project
    crawl_task(project, django_capture_on_commit_callbacks)
    assert "File:Adams 3.jpg" in linked(project)
    Withholding.objects.create(kind="category", value="Private portraits", reason="Asked")
    Withholding.objects.create(kind="file", value="File:Adams 1.jpg", reason="Asked")

    crawl_task(project, django_capture_on_commit_callbacks)

    assert not linked(project) & {"File:Adams 1.jpg", "File:Adams 3.jpg"}
    assert linked(project)  # the others stay


def test_a_search_stops_at_the_project_bound_and_unlinks_nothing(
    fake, search_project, settings, client_of, owner, django_capture_on_commit_callbacks
):
    settings.WIKIVISAGE_MAX_FILES_PER_PROJECT = 2
    crawl_task(search_project, django_capture_on_commit_callbacks)
    search_project.refresh_from_db()
    assert len(linked(search_project)) == 2 and search_project.crawl_limit_hit == 2
    page = client_of(owner).get(reverse("projects:detail", args=[search_project.pk]))
    assert "hold more than 2 files; WikiVisage took the first 2." in page.content.decode()
    fake.world.uncategorise("Adams 1.jpg", "Douglas Adams")

    crawl_task(search_project, django_capture_on_commit_callbacks)

    assert "File:Adams 1.jpg" in linked(search_project)  # a pass cut short unlinks nothing


def test_the_project_page_says_where_it_looks(client_of, owner, search_project, uploads_project):
    client = client_of(owner)
    page = client.get(reverse("projects:detail", args=[search_project.pk])).content.decode()
    assert f"Commons search: {SEARCH}" in page
    page = client.get(reverse("projects:detail", args=[uploads_project.pk])).content.decode()
    assert "Uploads of User:Ada Lovelace" in page


def test_the_admin_lists_where_each_project_looks(
    client_of, moderator, search_project, uploads_project
):
    client = client_of(moderator)
    listing = client.get(reverse("admin:projects_project_changelist")).content.decode()
    assert f"Commons search: {SEARCH}" in listing and "Uploads of User:Ada Lovelace" in listing
    filtered = client.get(reverse("admin:projects_project_changelist"), {"scope": "uploads"})
    assert "Uploads of User:Ada Lovelace" in filtered.content.decode()
    assert "Commons search:" not in filtered.content.decode()
    page = client.get(reverse("admin:projects_project_change", args=[search_project.pk]))
    assert SEARCH in page.content.decode()


# --- a listing longer than one answer ------------------------------------------------------

MANY = 510


@pytest.fixture
def prolific(make_fake_commons):
    files = {
        f"Upload {n:03d}.jpg": {
            "generate": {"format": "JPEG", "width": 32, "height": 24, "seed": n},
            "user": "Prolific",
            "timestamp": f"2020-01-01T0{n // 60}:{n % 60:02d}:00Z",
        }
        for n in range(MANY)
    }
    return make_fake_commons({"files": files})


def test_an_interrupted_uploads_crawl_continues_where_it_stopped(
    prolific, owner, monkeypatch, queued, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(tasks, "CRAWL_BATCHES_PER_TASK", 1)
    project = ProjectFactory(
        owner=owner, qid="Q42", scope="uploads", category=None, uploads_user="Prolific"
    )
    crawl_task(project, django_capture_on_commit_callbacks)
    project.refresh_from_db()
    assert project.crawl_cursor["continue"]["aicontinue"].startswith("20200101")
    assert len(linked(project)) == 500
    assert ("faces.crawl.project", (project.pk,)) in [(job.task, job.args) for job in queued]

    crawl_task(project, django_capture_on_commit_callbacks)  # the task it queued

    project.refresh_from_db()
    assert project.crawl_cursor is None
    assert len(linked(project)) == MANY


# --- createproject ---------------------------------------------------------------------------


def test_createproject_makes_search_and_uploads_projects(fake, owner, queued):
    out = StringIO()
    call_command(
        "createproject", "--qid", "Q42", "--search", SEARCH, "--owner", owner.username, stdout=out
    )
    project = Project.objects.get(pk=int(out.getvalue()))
    assert (project.scope, project.search_query) == ("search", SEARCH)
    out = StringIO()
    call_command(
        "createproject",
        "--qid",
        "Q42",
        "--uploads",
        "User:Ada_Lovelace",
        "--owner",
        owner.username,
        stdout=out,
    )
    assert Project.objects.get(pk=int(out.getvalue())).uploads_user == ADA
    with pytest.raises(CommandError, match="finds no file"):
        call_command(
            "createproject",
            "--qid",
            "Q42",
            "--search",
            "incategory:Nothing",
            "--owner",
            owner.username,
        )
    with pytest.raises(CommandError, match="one of them only"):
        call_command(
            "createproject",
            "--qid",
            "Q42",
            "--search",
            SEARCH,
            "--uploads",
            ADA,
            "--owner",
            owner.username,
        )


def test_a_search_crawl_records_the_files_categories_for_the_sensitive_hold(
    fake, search_project, django_capture_on_commit_callbacks
):
    crawl_task(search_project, django_capture_on_commit_callbacks)
    Sensitivity.objects.create(kind="category", value="Private portraits", reason="Minors")
    faces = [
        FaceFactory(image=Image.objects.get(title=f"File:{name}"), index=0)
        for name in ("Adams 1.jpg", "Adams 3.jpg")
    ]

    held = sensitive_faces(project=search_project, faces=faces)

    assert held == {faces[1].pk}
