"""Writes name their fields where a worker may change the same row meanwhile: a page or a
crawl that read the row earlier never puts back old values over the worker's."""

from __future__ import annotations

import uuid

import pytest
from django.urls import reverse
from django.utils import timezone

from commons.types import FileInfo
from depicts.models import DepictsEdit
from depicts.services.approval import _reapprove
from faces.models import Image
from faces.services.images import _refresh_metadata
from projects.forms import ProjectSettingsForm
from projects.models import Project
from tests.factories import DepictsEditFactory, FaceFactory, ImageFactory

pytestmark = pytest.mark.django_db

CURSOR = {"cmcontinue": "file|4142|123", "depth": 1}


def test_saving_the_settings_keeps_what_a_worker_wrote_meanwhile(
    client_of, owner, project, monkeypatch
):
    valid = ProjectSettingsForm.is_valid

    def worker_writes_then_validate(form):
        # The crawl and the learner write while the owner's request is under way.
        Project.objects.filter(pk=project.pk).update(crawl_cursor=CURSOR, learning={"answers": 3})
        return valid(form)

    monkeypatch.setattr(ProjectSettingsForm, "is_valid", worker_writes_then_validate)
    data = {
        "state": "active",
        "description": "Only the portrait photos",
        "crawl_depth": 1,
        "distance_threshold": 0.5,
        "min_answers": 3,
    }
    response = client_of(owner).post(reverse("projects:settings", args=[project.pk]), data)
    assert response.status_code == 302
    project.refresh_from_db()
    assert (project.description, project.distance_threshold) == ("Only the portrait photos", 0.5)
    assert (project.crawl_cursor, project.learning) == (CURSOR, {"answers": 3})


def test_a_crawl_refreshing_a_file_keeps_a_detect_workers_claim():
    image = ImageFactory(state=Image.State.PENDING)
    claimed = timezone.now()
    Image.objects.filter(pk=image.pk).update(state=Image.State.PROCESSING, claimed_at=claimed)
    _refresh_metadata(image, file_info(image, title="File:Renamed.jpg"))
    image.refresh_from_db()
    assert (image.title, image.state, image.claimed_at) == (
        "File:Renamed.jpg",
        Image.State.PROCESSING,
        claimed,
    )


def file_info(image: Image, **changes: object) -> FileInfo:
    values = {
        "pageid": image.pageid,
        "title": image.title,
        "url": "https://upload.example/x.jpg",
        "description_url": "https://commons.example/wiki/File:x.jpg",
        "mime": image.mime,
        "size": 1000,
        "width": image.width,
        "height": image.height,
        "sha1": image.sha1,
        "timestamp": None,
        "user": "Uploader",
        "thumb_url": image.thumb_url,
        "thumb_width": image.thumb_width,
        "thumb_height": 375,
        **changes,
    }
    return FileInfo(**values)  # type: ignore[arg-type]


def test_approving_again_never_undoes_a_send_queued_meanwhile(project):
    edit = DepictsEditFactory(project=project, state=DepictsEdit.State.CANCELLED)
    stale = DepictsEdit.objects.get(pk=edit.pk)  # read by the approval, before the send
    batch = uuid.uuid4()
    DepictsEdit.objects.filter(pk=edit.pk).update(state=DepictsEdit.State.QUEUED, batch=batch)
    face = FaceFactory(image=edit.image)
    _reapprove(stale, face=face, region="pct:1,2,3,4", user=project.owner)
    edit.refresh_from_db()
    assert (edit.state, edit.batch) == (DepictsEdit.State.QUEUED, batch)
    assert (stale.state, stale.batch) == (DepictsEdit.State.QUEUED, batch)  # re-read, not kept
