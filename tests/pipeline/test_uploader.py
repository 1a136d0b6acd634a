"""Each file's uploader and upload time, as the crawl reads them from ``imageinfo`` on the
offline stand-in: stored on the Image, and brought up to date by a re-upload."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.urls import reverse

from faces.models import Image
from faces.services import crawl as crawl_service
from tests.factories import ImageFactory, ProjectFactory
from tests.pipeline.test_pipeline import client

pytestmark = pytest.mark.django_db

FACES = Path(settings.FACES_DATA_DIR)
PORTRAIT = "Portrait.jpg"
FIRST, SECOND = "2016-05-01T10:00:00Z", "2019-07-01T10:00:00Z"


def world(photo: str, *, user: str, timestamp: str) -> dict[str, Any]:
    return {
        "items": {"Q76": {"labels": {"en": "Barack Obama"}, "P31": ["Q5"]}},
        "categories": {"Portraits": {"files": [PORTRAIT], "subcats": []}},
        "files": {PORTRAIT: {"path": str(FACES / photo), "user": user, "timestamp": timestamp}},
    }


@pytest.fixture
def project(owner):
    return ProjectFactory(owner=owner, qid="Q76", category="Portraits", crawl_depth=0)


def crawl(project) -> Image:
    with client() as api:
        crawl_service.project_crawl(project=project, client=api)
    return Image.objects.get(title=f"File:{PORTRAIT}")


def test_a_crawl_stores_the_uploader_and_the_upload_time(make_fake_commons, project):
    make_fake_commons(world("barack_obama/01.jpg", user="Ada Uploader", timestamp=FIRST))

    image = crawl(project)

    assert image.uploader == "Ada Uploader"
    assert image.uploaded_at == datetime(2016, 5, 1, 10, 0, tzinfo=UTC)


def test_a_reupload_by_someone_else_updates_the_uploader(make_fake_commons, project):
    make_fake_commons(world("barack_obama/01.jpg", user="Ada Uploader", timestamp=FIRST))
    crawl(project)
    make_fake_commons(world("multi/01.jpg", user="Bo Reuploader", timestamp=SECOND))

    image = crawl(project)

    assert image.uploader == "Bo Reuploader"
    assert image.uploaded_at == datetime(2019, 7, 1, 10, 0, tzinfo=UTC)


def test_the_uploader_alone_changing_is_stored(make_fake_commons, project):
    """Same bytes, same time, another name (a renamed account): the row follows Commons."""
    make_fake_commons(world("barack_obama/01.jpg", user="Ada Uploader", timestamp=FIRST))
    crawl(project)
    make_fake_commons(world("barack_obama/01.jpg", user="Ada Renamed", timestamp=FIRST))

    image = crawl(project)

    assert image.uploader == "Ada Renamed"


def test_the_uploader_is_shown_in_the_admin_and_read_only(client_of, moderator):
    image = ImageFactory(uploader="Ada Uploader")
    page = client_of(moderator).get(reverse("admin:faces_image_change", args=[image.pk]))
    assert page.status_code == 200
    assert "Ada Uploader" in page.content.decode()
    assert 'name="uploader"' not in page.content.decode()  # read-only: Commons says who
