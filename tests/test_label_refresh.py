"""The person's labels, cached when a project is created, are read from Wikidata again with
the periodic re-crawl; Wikidata failing to answer keeps the old labels."""

from __future__ import annotations

from typing import Any

import pytest

from commons.client import wikidata_client
from commons.wikidata import MAX_IDS_PER_REQUEST, get_labels
from faces.tasks import recrawl_active
from projects import services
from projects.models import Project
from projects.tasks import refresh_labels
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db

OLD = {"en": "Obama (as cached)", "fr": "Obama (en cache)"}
# Every language of the site and the fallbacks ("mul", "en"), as a new project stores them:
# with Wikidata's fallback where the item has no label of that language.
NOW = dict.fromkeys(("en", "nb", "es", "fr", "mul"), "Barack Obama")


def world(**items: Any) -> dict[str, Any]:
    return {
        "items": {
            "Q76": {"labels": {"en": "Barack Obama", "nb": "Barack Obama"}, "P31": ["Q5"]},
            "Q999": {"redirect": "Q76"},
            "Q404": {"missing": True},
            **items,
        },
        "categories": {"Barack Obama": {"files": [], "subcats": []}},
        "files": {},
    }


@pytest.fixture
def wikidata(make_fake_commons):
    return make_fake_commons(world())


def labels_of(project: Project) -> dict[str, str]:
    project.refresh_from_db()
    return project.person_labels


def beat(queued, django_capture_on_commit_callbacks) -> list[str]:
    """Beat's re-crawl, then the label refresh it queued, as a worker runs it."""
    with django_capture_on_commit_callbacks(execute=True):
        recrawl_active()
    tasks = [job.task for job in queued]
    if "projects.crawl.refresh_labels" in tasks:
        refresh_labels()
    return tasks


def test_the_periodic_recrawl_refreshes_the_labels(
    wikidata, queued, django_capture_on_commit_callbacks
):
    project = ProjectFactory(qid="Q76", category="Barack Obama", person_labels=OLD)
    tasks = beat(queued, django_capture_on_commit_callbacks)
    assert "projects.crawl.refresh_labels" in tasks
    assert labels_of(project) == NOW


def test_a_refresh_that_finds_nothing_new_changes_nothing(wikidata):
    ProjectFactory(qid="Q76", person_labels=OLD)
    with wikidata_client() as client:
        assert services.projects_labels_refresh(client=client, projects=Project.objects.all()) == 1
        assert services.projects_labels_refresh(client=client, projects=Project.objects.all()) == 0


def test_wikidata_failing_keeps_the_old_labels(wikidata):
    project = ProjectFactory(qid="Q76", person_labels=OLD)
    wikidata.inject("http503", times=None, action="wbgetentities")
    refresh_labels()
    assert labels_of(project) == OLD


def test_a_deleted_item_keeps_the_old_labels(wikidata):
    gone = ProjectFactory(qid="Q404", person_labels=OLD)
    kept = ProjectFactory(qid="Q76", person_labels=OLD)
    refresh_labels()
    assert labels_of(gone) == OLD
    assert labels_of(kept) == NOW


def test_a_redirected_item_gives_its_targets_labels(wikidata):
    project = ProjectFactory(qid="Q999", person_labels=OLD)
    refresh_labels()
    assert labels_of(project) == NOW


def test_projects_not_active_are_left_alone(wikidata):
    paused = ProjectFactory(qid="Q76", person_labels=OLD, state=Project.State.PAUSED)
    refresh_labels()
    assert labels_of(paused) == OLD


def test_labels_are_read_fifty_items_a_request(make_fake_commons):
    people = {f"Q{1000 + n}": {"labels": {"en": f"Person {n}"}, "P31": ["Q5"]} for n in range(60)}
    server = make_fake_commons(world(**people))
    with wikidata_client() as client:
        labels = get_labels(client, qids=list(people), languages=["en"])
    assert len(labels) == 60
    assert labels["Q1059"]["en"] == "Person 59"
    requests = server.api_requests(site="wikidata", action="wbgetentities")
    assert len(requests) == 2 == -(-60 // MAX_IDS_PER_REQUEST)
