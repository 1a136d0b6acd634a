"""A project over a list of files: made on the new-project page (pasted or uploaded) or by
``createproject --files``, crawled through the real client against the offline stand-in,
every line reported; and the size estimate of a category before a project is created."""

from __future__ import annotations

import copy
import re
from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from commons.client import commons_client
from core.retry import RetryPolicy
from faces.models import Image, ProjectImage
from faces.selectors import sensitive_faces
from faces.services import crawl as crawl_service
from projects.models import ListedFile, Project, Sensitivity, Withholding
from tests.factories import FaceFactory, UserFactory

pytestmark = pytest.mark.django_db

NO_WAIT = RetryPolicy(max_attempts=3, base_delay=0.0, max_delay=0.0)


def jpeg(seed: int) -> dict:
    return {"generate": {"format": "JPEG", "width": 1200, "height": 900, "seed": seed}}


WORLD = {
    "items": {
        "Q76": {"labels": {"en": "Barack Obama"}, "P31": ["Q5"]},
    },
    "categories": {
        "Barack Obama": {"files": ["Obama 1.jpg", "Diagram.svg"], "subcats": ["Obama in 2009"]},
        "Obama in 2009": {"files": ["Obama 2.jpg", "Group photo.jpg"], "subcats": ["Deeper"]},
        "Deeper": {"files": ["Portrait 3.jpg"], "subcats": ["Barack Obama"]},
    },
    "files": {
        "Obama 1.jpg": {**jpeg(1), "depicts": ["Q76"]},
        "Obama 2.jpg": jpeg(2),
        "Group photo.jpg": jpeg(3),
        "Portrait 3.jpg": jpeg(4),
        # Named with underscores in the world file, as Commons never stores a title.
        "Obama_at_the_lectern.jpg": jpeg(5),
        "Diagram.svg": {"generate": {"format": "SVG", "width": 100, "height": 100}},
    },
}


@pytest.fixture
def fake(make_fake_commons):
    return make_fake_commons(copy.deepcopy(WORLD))


def pageid(fake, name: str) -> int:
    page = fake.world.file(name)
    return page.pageid if page else fake.world.category(name).pageid


def pasted_lines(fake) -> list[str]:
    return [
        "Obama 1.jpg",
        "file:obama_2.jpg",  # prefix, case and underscores as a contributor may type them
        "https://commons.wikimedia.org/wiki/File:Group_photo.jpg",
        str(pageid(fake, "Portrait 3.jpg")),
        "Obama at the lectern.jpg",
        "No such file.jpg",
        "Diagram.svg",
        str(pageid(fake, "Barack Obama")),  # the page id of a category
        "",
        "Obama 1.jpg",  # said twice: one line
    ]


def form_data(**changes) -> dict:
    data = {
        "qid": "Q76",
        "scope": "files",
        "category": "",
        "crawl_depth": 2,
        "file_list": "",
        "distance_threshold": 0.6,
        "min_answers": 3,
    }
    data.update(changes)
    return data


def post_new(client, **changes):
    return client.post(reverse("projects:new"), form_data(**changes))


def crawl(project: Project, **kwargs) -> crawl_service.CrawlSummary:
    with commons_client(retry=NO_WAIT, sleep=lambda seconds: None) as client:
        return crawl_service.project_crawl(project=project, client=client, queue=False, **kwargs)


def states(project: Project) -> dict[str, str]:
    return dict(project.listed_files.order_by("position").values_list("line", "state"))


def linked_titles(project: Project) -> set[str]:
    links = ProjectImage.objects.filter(project=project, source=ProjectImage.Source.CATEGORY)
    return set(links.values_list("image__title", flat=True))


EXPECTED_IMAGES = {
    "File:Obama 1.jpg",
    "File:Obama 2.jpg",
    "File:Group photo.jpg",
    "File:Portrait 3.jpg",
    "File:Obama at the lectern.jpg",
}


# --- the page ------------------------------------------------------------------------------


def test_the_project_page_numbers_each_line_as_it_was_pasted(client_of, owner, fake):
    lines = ["", "Obama 1.jpg", "", "Obama 1.jpg", "No such file.jpg", "  ", "Also missing.jpg"]
    client = client_of(owner)
    post_new(client, file_list="\n".join(lines))
    project = Project.objects.get()
    numbered = list(project.listed_files.order_by("position").values_list("position", "line"))
    assert numbered == [(2, "Obama 1.jpg"), (5, "No such file.jpg"), (7, "Also missing.jpg")]
    crawl(project)
    body = client.get(reverse("projects:detail", args=[project.pk])).content.decode()
    rows = re.findall(r'<tr data-state="missing"><td>(\d+)</td><td>([^<]*)</td>', body)
    assert rows == [("5", "No such file.jpg"), ("7", "Also missing.jpg")]


def test_a_pasted_list_becomes_a_project_and_its_crawl_takes_the_listed_images(
    client_of, owner, fake, queued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = post_new(client_of(owner), file_list="\n".join(pasted_lines(fake)))

    project = Project.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("projects:detail", args=[project.pk])
    assert (project.scope, project.category, project.listed_count) == ("files", None, 8)
    assert [(q.task, q.args) for q in queued] == [("faces.crawl.project", (project.pk,))]

    summary = crawl(project)

    assert summary.finished and summary.files == 5
    assert linked_titles(project) == EXPECTED_IMAGES
    assert states(project) == {
        "Obama 1.jpg": "found",
        "file:obama_2.jpg": "found",
        "https://commons.wikimedia.org/wiki/File:Group_photo.jpg": "found",
        str(pageid(fake, "Portrait 3.jpg")): "found",
        "Obama at the lectern.jpg": "found",
        "No such file.jpg": "missing",
        "Diagram.svg": "not_image",
        str(pageid(fake, "Barack Obama")): "not_file",
    }
    # The existing depicts statement is read as for a category's files.
    assert ProjectImage.objects.get(project=project, image__title="File:Obama 1.jpg").depicts_person


def test_the_project_page_names_every_line_that_gave_no_image(client_of, owner, fake):
    post_new(client_of(owner), file_list="\n".join(pasted_lines(fake)))
    project = Project.objects.get()
    crawl(project)

    page = client_of(owner).get(reverse("projects:detail", args=[project.pk])).content.decode()

    assert "8 listed files" in page
    assert "5 of 8 listed files are images WikiVisage looks in." in page
    assert "3 lines gave no image:" in page
    assert "No such file.jpg</td>" in page and "No such file on Commons" in page
    assert "Not an image (image/svg+xml)" in page
    assert "Not a file: Category:Barack Obama" in page
    dashboard = client_of(owner).get(reverse("projects:dashboard")).content.decode()
    assert "8 listed files" in dashboard


def test_crawling_a_list_twice_changes_nothing(client_of, owner, fake):
    post_new(client_of(owner), file_list="\n".join(pasted_lines(fake)))
    project = Project.objects.get()
    crawl(project)
    first = (states(project), sorted(Image.objects.values_list("pageid", flat=True)))

    crawl(project)

    assert (states(project), sorted(Image.objects.values_list("pageid", flat=True))) == first
    assert ProjectImage.objects.filter(project=project).count() == 5


def test_a_list_has_no_subcategory_depth_to_set(client_of, owner, fake):
    post_new(client_of(owner), file_list="Obama 1.jpg")
    project = Project.objects.get()

    page = client_of(owner).get(reverse("projects:detail", args=[project.pk])).content.decode()

    assert 'id="id_crawl_depth"' not in page
    assert 'id="id_distance_threshold"' in page
    assert "Looking up the listed files on Commons…" in page


def test_a_recrawl_looks_every_line_up_again(client_of, owner, fake):
    post_new(client_of(owner), file_list="Obama 1.jpg\nObama 2.jpg")
    project = Project.objects.get()
    crawl(project)

    fake.world.delete_file("Obama 2.jpg")
    crawl(project)

    assert states(project) == {"Obama 1.jpg": "found", "Obama 2.jpg": "missing"}


def test_an_uploaded_csv_list_is_read_from_its_first_column(client_of, owner, fake):
    csv = (
        "title,note\n"
        '"Obama 1.jpg","a comma, inside quotes"\n'
        f"{pageid(fake, 'Obama 2.jpg')},by page id\n"
        "No such file.jpg,\n"
    )
    upload = SimpleUploadedFile("list.csv", csv.encode(), content_type="text/csv")

    response = post_new(client_of(owner), file_upload=upload)

    assert response.status_code == 302
    project = Project.objects.get()
    crawl(project)
    assert linked_titles(project) == {"File:Obama 1.jpg", "File:Obama 2.jpg"}
    assert list(project.listed_files.problems().values_list("line", flat=True)) == [
        "No such file.jpg"
    ]


def test_a_long_list_is_crawled_in_batches_that_resume(client_of, owner, fake):
    lines = ["Obama 1.jpg"] + [f"Missing {n}.jpg" for n in range(60)] + ["Obama 2.jpg"]
    post_new(client_of(owner), file_list="\n".join(lines))
    project = Project.objects.get()

    first = crawl(project, max_batches=1)

    project.refresh_from_db()
    assert not first.finished and project.crawl_cursor == {"listed_after": 50}
    assert project.listed_files.filter(state="pending").count() == 12
    rest = crawl(project)
    assert rest.finished
    assert linked_titles(project) == {"File:Obama 1.jpg", "File:Obama 2.jpg"}
    assert project.listed_files.counts()["missing"] == 60


def test_withheld_and_over_the_bound_files_are_reported_not_dropped(
    client_of, owner, fake, settings
):
    post_new(client_of(owner), file_list="Obama 1.jpg\nObama 2.jpg\nGroup photo.jpg")
    project = Project.objects.get()
    Withholding.objects.create(kind="file", value="File:Obama 2.jpg", reason="asked")
    settings.WIKIVISAGE_MAX_FILES_PER_PROJECT = 1

    summary = crawl(project)

    assert states(project) == {
        "Obama 1.jpg": "found",
        "Obama 2.jpg": "withheld",
        "Group photo.jpg": "over_limit",
    }
    assert linked_titles(project) == {"File:Obama 1.jpg"}
    assert summary.limit_hit == 1


def test_a_listed_files_categories_are_recorded_for_the_sensitive_hold(client_of, owner, fake):
    # No category listing meets a listed file: its direct categories are read with the list,
    # so a sensitive category holds its faces out of the bulk grid (and the read API).
    post_new(client_of(owner), file_list="Obama 1.jpg\nObama 2.jpg")
    project = Project.objects.get()
    crawl(project)
    Sensitivity.objects.create(kind="category", value="Obama in 2009", reason="Minors")
    faces = [
        FaceFactory(image=Image.objects.get(title=f"File:{name}"), index=0)
        for name in ("Obama 1.jpg", "Obama 2.jpg")
    ]

    assert sensitive_faces(project=project, faces=faces) == {faces[1].pk}


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"file_list": " \n\n"}, "The list names no file"),
        ({"file_list": "Obama 1.jpg\nCategory:Barack Obama"}, "Line 2: “Category:Barack Obama” is"),
        ({"file_list": "Obama 1.jpg\n\nA {{template}}.jpg"}, "Line 3: “A {{template}}.jpg” is not"),
        ({"file_list": "https://en.wikipedia.org/wiki/File:X.jpg"}, "is not an address on Commons"),
        ({"file_list": "a.jpg\nb.jpg\nc.jpg\nd.jpg"}, "The list has 4 lines; a project takes at"),
        ({"scope": "category"}, "Give the name of a Commons category."),
    ],
)
def test_a_bad_list_is_refused_with_a_clear_error(client_of, owner, fake, settings, changes, error):
    settings.WIKIVISAGE_MAX_FILES_PER_PROJECT = 3

    response = post_new(client_of(owner), **changes)

    assert response.status_code == 200
    assert error in response.content.decode()
    assert not Project.objects.exists()


def test_a_binary_upload_is_refused(client_of, owner, fake):
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))
    upload = SimpleUploadedFile("photo.png", png, content_type="image/png")

    response = post_new(client_of(owner), file_upload=upload)

    assert response.status_code == 200
    assert "This is not a text file." in response.content.decode()
    assert not Project.objects.exists()


def test_a_too_large_upload_is_refused(client_of, owner, fake, monkeypatch):
    monkeypatch.setattr("projects.forms.MAX_UPLOAD_BYTES", 20)
    upload = SimpleUploadedFile(
        "list.txt", b"Obama 1.jpg\nObama 2.jpg\n", content_type="text/plain"
    )

    response = post_new(client_of(owner), file_upload=upload)

    assert "The file is too large" in response.content.decode()
    assert not Project.objects.exists()


def test_the_form_fields_keep_their_ids(client_of, owner):
    page = client_of(owner).get(reverse("projects:new")).content.decode()
    for element_id in (
        'id="id_scope_0"',
        'id="id_scope_1"',
        'id="id_category"',
        'id="id_crawl_depth"',
        'id="id_file_list"',
        'id="id_file_upload"',
        'id="category-estimate"',
        'id="file-list-count"',
        'enctype="multipart/form-data"',
    ):
        assert element_id in page


# --- what the page tells before creation -------------------------------------------------


def test_the_list_check_counts_the_recognised_lines(client_of, owner):
    response = client_of(owner).post(
        reverse("projects:file-list-check"),
        {"file_list": "Obama 1.jpg\nobama_1.jpg\n12345\nCategory:X\n\nB.png"},
        content_type="application/json",
    )

    data = response.json()
    assert (data["files"], data["duplicates"], data["too_many"]) == (3, 1, False)
    assert [bad["line"] for bad in data["bad"]] == [4]
    assert data["message"] == "3 files recognised. 1 line names no file."


def test_the_list_check_reads_a_chosen_csv_file_by_its_first_column(client_of, owner):
    response = client_of(owner).post(
        reverse("projects:file-list-check"),
        {
            "file_list": "Pasted, with a comma.jpg",
            "upload": 'title,note\n"A, b.jpg",x\nC.jpg,y\nCategory:Z,\n',
            "name": "list.csv",
        },
        content_type="application/json",
    )

    data = response.json()
    assert (data["files"], [bad["line"] for bad in data["bad"]]) == (3, [5])


def test_the_list_check_refuses_a_binary_file(client_of, owner):
    response = client_of(owner).post(
        reverse("projects:file-list-check"),
        {"upload": "\x89PNG\r\n\x1a\n\x00\x00", "name": "photo.png"},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "This is not a text file." in response.json()["message"]


def test_the_list_check_refuses_what_is_not_a_list(client_of, owner):
    response = client_of(owner).post(
        reverse("projects:file-list-check"), {"file_list": 42}, content_type="application/json"
    )
    assert response.status_code == 400


def test_the_estimate_counts_the_files_over_the_chosen_depth(client_of, owner, fake):
    url = reverse("projects:estimate")
    client = client_of(owner)

    whole = client.get(url, {"category": "Category:barack_Obama", "depth": 5}).json()
    top = client.get(url, {"category": "Barack Obama", "depth": 0}).json()

    assert (whole["files"], whole["categories"], whole["complete"]) == (5, 3, True)
    assert whole["message"] == (
        "“Barack Obama” and its subcategories to depth 5 hold about 5 files."
    )
    assert (top["files"], top["complete"], top["message"]) == (
        2,
        True,
        "“Barack Obama” holds about 2 files.",
    )


def test_an_estimate_cut_short_says_more_than(client_of, owner, fake, monkeypatch):
    monkeypatch.setattr("projects.views.ESTIMATE_REQUESTS", 2)

    data = client_of(owner).get(reverse("projects:estimate"), {"category": "Barack Obama"}).json()

    assert (data["files"], data["complete"]) == (4, False)
    assert "hold more than 4 files" in data["message"]


def test_the_estimate_of_a_missing_category_says_so(client_of, owner, fake):
    response = client_of(owner).get(reverse("projects:estimate"), {"category": "Nothing here"})
    assert response.status_code == 404
    assert "There is no category “Nothing here” on Commons." in response.json()["message"]


def test_a_new_category_project_tells_the_size_over_its_depth(client_of, owner, fake):
    """Creating asks Commons one question (the category exists, and its own files); the
    page's estimate, asked as the contributor typed, has counted the subcategories."""
    requests_before = len(fake.requests)
    response = post_new(client_of(owner), scope="category", category="Barack Obama", crawl_depth=1)
    assert [r.params.get("prop") for r in fake.requests[requests_before:]].count(
        "categoryinfo"
    ) == 1
    page = client_of(owner).get(response.url).content.decode()
    said = re.search(
        r"“Barack Obama” and its subcategories to depth 1 hold more than (\d+) files?\.", page
    )
    assert said and "They are being crawled now." in page
    assert int(said.group(1)) < 4  # the estimate over the depth (tests above) finds 4


# --- createproject --files -----------------------------------------------------------------


def create(**options) -> str:
    out = StringIO()
    call_command("createproject", stdout=out, stderr=StringIO(), **options)
    return out.getvalue().strip()


def test_createproject_takes_a_list_of_files(fake, tmp_path):
    UserFactory(username="alice")
    listing = tmp_path / "files.txt"
    listing.write_text("Obama_1.jpg\nhttps://commons.wikimedia.org/wiki/File:Obama_2.jpg\n")

    project = Project.objects.get(pk=int(create(qid="Q76", files=str(listing), owner="alice")))

    assert (project.scope, project.listed_count) == ("files", 2)
    crawl(project)
    assert linked_titles(project) == {"File:Obama 1.jpg", "File:Obama 2.jpg"}


@pytest.mark.parametrize(
    ("options", "refusal"),
    [
        ({"category": "Barack Obama", "files": "list.txt"}, "either --category or --files"),
        ({}, "either --category or --files"),
        ({"files": "no/such/list.txt"}, "Cannot read no/such/list.txt"),
    ],
)
def test_createproject_wants_one_scope(fake, options, refusal):
    UserFactory(username="alice")
    with pytest.raises(CommandError, match=refusal):
        create(qid="Q76", owner="alice", **options)
    assert not Project.objects.exists()


def test_createproject_refuses_a_bad_list(fake, tmp_path):
    UserFactory(username="alice")
    listing = tmp_path / "files.txt"
    listing.write_text("Obama 1.jpg\nUser:Somebody\n")
    with pytest.raises(CommandError, match="Line 2"):
        create(qid="Q76", owner="alice", files=str(listing))
    assert not ListedFile.objects.exists()


# --- the tasks -----------------------------------------------------------------------------


def test_the_periodic_recrawl_looks_a_list_up_again_through_the_tasks(
    client_of, owner, make_fake_commons, queued, django_capture_on_commit_callbacks
):
    from faces.tasks import crawl_project, recrawl_active

    def beat_then_workers() -> None:
        with django_capture_on_commit_callbacks(execute=True):
            recrawl_active()
        crawls = [job.args for job in queued if job.task == "faces.crawl.project"]
        queued.clear()
        for args in crawls:
            with django_capture_on_commit_callbacks(execute=True):
                crawl_project(*args)

    make_fake_commons(copy.deepcopy(WORLD))
    post_new(client_of(owner), file_list="Obama 1.jpg\nUploaded later.jpg")
    project = Project.objects.get()
    beat_then_workers()
    beat_then_workers()  # run twice: nothing changes
    assert states(project) == {"Obama 1.jpg": "found", "Uploaded later.jpg": "missing"}
    assert linked_titles(project) == {"File:Obama 1.jpg"}

    later = copy.deepcopy(WORLD)
    later["files"]["Uploaded later.jpg"] = jpeg(9)
    make_fake_commons(later)  # Commons a day later: the missing file was uploaded
    beat_then_workers()

    assert states(project) == {"Obama 1.jpg": "found", "Uploaded later.jpg": "found"}
    assert linked_titles(project) == {"File:Obama 1.jpg", "File:Uploaded later.jpg"}


# --- who may ask -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["estimate", "file-list-check"])
def test_the_checks_ask_anonymous_visitors_to_log_in(client, name):
    response = client.get(reverse(f"projects:{name}"), {"category": "Barack Obama"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_the_list_check_needs_the_csrf_token_and_a_post(owner):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    url = reverse("projects:file-list-check")
    assert client.post(url, {"file_list": "A.jpg"}).status_code == 403
    assert client.get(url).status_code == 405


@pytest.mark.parametrize("persona", ["owner", "outsider", "moderator"])
def test_every_logged_in_user_may_ask_for_an_estimate(request, client_of, fake, persona):
    client = client_of(request.getfixturevalue(persona))
    response = client.get(reverse("projects:estimate"), {"category": "Barack Obama"})
    assert response.status_code == 200


@pytest.mark.parametrize("query", [{}, {"category": "X", "depth": "deep"}, {"category": "a|b"}])
def test_a_bad_estimate_request_is_a_clear_400_or_404(client_of, owner, fake, query):
    response = client_of(owner).get(reverse("projects:estimate"), query)
    assert response.status_code in (400, 404)
    assert response.json()["message"]
