"""Bounds of one project: files per project, bootstrap hits, crawl depth on a looping tree.

Each bound is met through the real client and the offline stand-in, and each one that cuts a
project short says so on the project page, in words a contributor understands.
"""

from __future__ import annotations

import html
from collections import Counter

import pytest
from django.urls import reverse

from commons.client import ApiClient, commons_client
from core.retry import RetryPolicy
from faces.models import ProjectImage
from faces.services import bootstrap as bootstrap_service
from faces.services import crawl as crawl_service
from projects.models import Project
from tests.factories import ImageFactory, ProjectFactory, ProjectImageFactory

pytestmark = pytest.mark.django_db

NO_WAIT = RetryPolicy(max_attempts=3, base_delay=0.0, max_delay=0.0)

# Root → A → B → Root loops; B also leads to C, three levels below Root.
TREE = {
    "Root": (["Root 1.jpg", "Root 2.jpg", "Root 3.jpg"], ["A"]),
    "A": (["A 1.jpg", "A 2.jpg", "A 3.jpg"], ["B"]),
    "B": (["B 1.jpg", "B 2.jpg"], ["Root", "C"]),
    "C": (["C 1.jpg"], ["A"]),
}
DEPICTING = [f"Portrait {n}.jpg" for n in range(1, 6)]  # outside the tree, depict Q76


def world() -> dict:
    names = [name for files, _ in TREE.values() for name in files] + DEPICTING
    files = {
        name: {"generate": {"format": "JPEG", "width": 64, "height": 48, "seed": seed}}
        for seed, name in enumerate(names)
    }
    for name in DEPICTING:
        files[name]["depicts"] = ["Q76"]
    categories = {name: {"files": f, "subcats": s} for name, (f, s) in TREE.items()}
    return {
        "items": {"Q76": {"labels": {"en": "Barack Obama"}, "P31": ["Q5"]}},
        "categories": categories,
        "files": files,
    }


@pytest.fixture
def fake(make_fake_commons):
    return make_fake_commons(world())


@pytest.fixture
def tree_project(owner):
    return ProjectFactory(owner=owner, qid="Q76", category="Root", crawl_depth=10)


def client() -> ApiClient:
    return commons_client(retry=NO_WAIT, sleep=lambda seconds: None)


def crawl(project) -> crawl_service.CrawlSummary:
    with client() as api:
        return crawl_service.project_crawl(project=project, client=api, queue=False)


def bootstrap(project) -> int:
    with client() as api:
        return bootstrap_service.project_bootstrap(project=project, client=api, queue=False)


def linked(project, source=ProjectImage.Source.CATEGORY) -> set[str]:
    links = ProjectImage.objects.filter(project=project, source=source)
    return set(links.values_list("image__title", flat=True))


def listed_categories(fake) -> Counter:
    return Counter(
        r.params["cmtitle"] for r in fake.api_requests(action="query") if "cmtitle" in r.params
    )


def limits_shown(client_of, owner, project) -> tuple[str, str]:
    client = client_of(owner)
    page = client.get(reverse("projects:detail", args=[project.pk])).content.decode()
    status = client.get(reverse("projects:status", args=[project.pk])).json()
    return page, status["limits"]


# --- files per project ------------------------------------------------------------------


def test_the_crawl_stops_at_the_file_bound_and_the_project_page_says_so(
    fake, tree_project, settings, client_of, owner
):
    settings.WIKIVISAGE_MAX_FILES_PER_PROJECT = 4
    summary = crawl(tree_project)
    assert summary.finished and summary.limit_hit == 4
    assert linked(tree_project) == {
        f"File:{n}" for n in ["Root 1.jpg", "Root 2.jpg", "Root 3.jpg", "A 1.jpg"]
    }
    # It stopped where it was: the rest of the tree was never listed.
    assert set(listed_categories(fake)) == {"Category:Root", "Category:A"}
    tree_project.refresh_from_db()
    assert tree_project.crawl_limit_hit == 4
    assert tree_project.crawl_cursor is None and tree_project.crawled_at is not None
    message = (
        "This category and its subcategories hold more than 4 files; WikiVisage took the first 4."
    )
    page, status = limits_shown(client_of, owner, tree_project)
    assert message in page and status == message


def test_the_bound_is_written_with_the_digits_grouped(fake, tree_project, client_of, owner):
    tree_project.crawl_limit_hit = 20000
    tree_project.save()
    _, status = limits_shown(client_of, owner, tree_project)
    assert status == (
        "This category and its subcategories hold more than 20,000 files; "
        "WikiVisage took the first 20,000."
    )


def test_a_tree_of_exactly_the_bound_is_taken_whole_and_nothing_is_said(
    fake, tree_project, settings, client_of, owner
):
    settings.WIKIVISAGE_MAX_FILES_PER_PROJECT = 9
    summary = crawl(tree_project)
    assert summary.limit_hit is None and len(linked(tree_project)) == 9
    tree_project.refresh_from_db()
    assert tree_project.crawl_limit_hit is None
    page, status = limits_shown(client_of, owner, tree_project)
    assert status == "" and "WikiVisage took the first" not in page


def test_a_recrawl_keeps_its_files_at_the_bound_and_a_raised_bound_takes_the_rest(
    fake, tree_project, settings
):
    settings.WIKIVISAGE_MAX_FILES_PER_PROJECT = 4
    crawl(tree_project)
    first = linked(tree_project)
    assert len(first) == 4
    crawl(tree_project)
    assert linked(tree_project) == first
    settings.WIKIVISAGE_MAX_FILES_PER_PROJECT = 100
    summary = crawl(tree_project)
    assert summary.limit_hit is None and len(linked(tree_project)) == 9
    tree_project.refresh_from_db()
    assert tree_project.crawl_limit_hit is None


def test_a_crawl_resumed_batch_by_batch_stops_at_the_same_bound(fake, tree_project, settings):
    settings.WIKIVISAGE_MAX_FILES_PER_PROJECT = 5
    with client() as api:
        while not crawl_service.project_crawl(
            project=tree_project, client=api, max_batches=1, queue=False
        ).finished:
            pass
    assert len(linked(tree_project)) == 5
    tree_project.refresh_from_db()
    assert tree_project.crawl_limit_hit == 5


# --- files per user ----------------------------------------------------------------------


def test_the_crawl_stops_where_the_owner_s_projects_hold_the_most_one_user_may(
    fake, tree_project, settings, client_of, owner
):
    settings.WIKIVISAGE_MAX_FILES_PER_USER = 7
    earlier = ProjectFactory(owner=owner, qid="Q1", category="Other")
    for image in ImageFactory.create_batch(4):
        ProjectImageFactory(project=earlier, image=image)
    summary = crawl(tree_project)
    assert (summary.owner_limit_hit, summary.limit_hit) == (7, None)
    assert len(linked(tree_project)) == 3  # 4 + 3: the owner's room, not the project's
    tree_project.refresh_from_db()
    assert (tree_project.owner_limit_hit, tree_project.crawl_limit_hit) == (7, None)
    message = (
        "The owner's projects hold 7 files together, the most one user may have: "
        "WikiVisage took no more for this project."
    )
    page, status = limits_shown(client_of, owner, tree_project)
    assert html.escape(message) in page and status == message
    # Another user has room of their own: 7 files, whatever this one holds.
    other = ProjectFactory(qid="Q76", category="Root", crawl_depth=10)
    assert len(linked(other)) == 0 and crawl(other).owner_limit_hit == 7
    assert len(linked(other)) == 7


def test_a_user_whose_projects_are_full_cannot_start_another(client_of, owner, settings):
    settings.WIKIVISAGE_MAX_FILES_PER_USER = 2
    full = ProjectFactory(owner=owner, qid="Q1", category="Other")
    for image in ImageFactory.create_batch(2):
        ProjectImageFactory(project=full, image=image)
    data = {"qid": "Q76", "scope": "files", "file_list": "A.jpg", "distance_threshold": 0.6}
    response = client_of(owner).post(reverse("projects:new"), {**data, "min_answers": 3})
    assert "Your projects hold 2 files together, the most one user may have" in (
        response.content.decode()
    )
    assert not Project.objects.filter(qid="Q76").exists()


# --- bootstrap hits ---------------------------------------------------------------------


def test_the_bootstrap_search_adds_at_most_its_cap_and_says_so(
    fake, tree_project, settings, client_of, owner
):
    settings.WIKIVISAGE_MAX_BOOTSTRAP_FILES = 3
    assert bootstrap(tree_project) == 3
    assert len(linked(tree_project, ProjectImage.Source.BOOTSTRAP)) == 3
    # One hit past the cap is asked for, to know there were more; no further page.
    searches = [r for r in fake.api_requests(action="query") if r.params.get("list") == "search"]
    assert [r.params["srlimit"] for r in searches] == ["4"]
    tree_project.refresh_from_db()
    assert tree_project.bootstrap_limit_hit == 3
    message = (
        "More than 3 files on Commons already say they depict this person; "
        "WikiVisage took the first 3."
    )
    page, status = limits_shown(client_of, owner, tree_project)
    assert message in page and status == message


def test_a_bootstrap_search_within_its_cap_takes_every_hit(fake, tree_project, settings):
    settings.WIKIVISAGE_MAX_BOOTSTRAP_FILES = 5
    tree_project.bootstrap_limit_hit = 3  # an earlier, smaller cap
    tree_project.save()
    assert bootstrap(tree_project) == 5
    tree_project.refresh_from_db()
    assert tree_project.bootstrap_limit_hit is None


# --- crawl depth on a looping tree ------------------------------------------------------


@pytest.mark.parametrize(
    ("depth", "categories"),
    [(0, ["Root"]), (1, ["Root", "A"]), (2, ["Root", "A", "B"]), (10, ["Root", "A", "B", "C"])],
)
def test_a_looping_tree_is_listed_once_per_category_within_the_depth(
    fake, owner, depth, categories
):
    project = ProjectFactory(owner=owner, qid="Q76", category="Root", crawl_depth=depth)
    summary = crawl(project)
    assert summary.finished and summary.limit_hit is None
    assert listed_categories(fake) == Counter({f"Category:{c}": 1 for c in categories})
    expected = {f"File:{name}" for c in categories for name in TREE[c][0]}
    assert linked(project) == expected
