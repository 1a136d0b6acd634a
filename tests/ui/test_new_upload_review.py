"""A new upload (younger than WIKIVISAGE_NEW_UPLOAD_WAIT_HOURS) waits on the review side too:
no face is drawn, corrected, served or answered on it, and the reviewer is told why."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from faceengine.detection import FaceBox
from faces.models import Answer, Face, Image
from faces.services import answers, drawing, leases, refusals
from tests.ui.conftest import answer_body, photos_of
from tests.ui.test_review import post

pytestmark = pytest.mark.django_db

BOX = {"left": 0.6, "top": 0.1, "width": 0.2, "height": 0.3}


@pytest.fixture
def young(project) -> list[Face]:
    """A photo uploaded an hour ago, holding a face (found before the wait held every path)."""
    faces = photos_of(project, 1, faces_per_photo=2)
    Image.objects.filter(pk=faces[0].image_id).update(
        uploaded_at=timezone.now() - timedelta(hours=1)
    )
    for face in faces:
        face.image.refresh_from_db()
    return faces


def test_drawing_a_face_on_a_new_upload_is_refused_with_the_reason(
    client_of, owner, project, young, queued
):
    status, data = post(client_of(owner), project, "draw", {"image": young[0].image_id, **BOX})
    assert (status, data["error"]) == (409, "new_upload")
    assert "less than 48 hours ago" in data["message"]
    assert not Face.objects.filter(origin=Face.Origin.DRAWN).exists()
    assert queued == []


def test_correcting_a_box_on_a_new_upload_is_refused(owner, project, young):
    with pytest.raises(refusals.NewUploadWaits):
        drawing.face_correct(project=project, face=young[0], user=owner, box=FaceBox(**BOX))
    assert Face.objects.current().filter(pk=young[0].pk).exists()


def test_answering_a_face_of_a_new_upload_is_refused(client_of, owner, project, young):
    status, data = post(client_of(owner), project, "answer", answer_body(young[0], "yes"))
    assert (status, data["error"]) == (409, "new_upload")
    assert not Answer.objects.exists()


def test_picking_a_face_of_a_new_upload_is_refused(owner, project, young):
    with pytest.raises(refusals.NewUploadWaits):
        answers.answer_pick(
            project=project,
            image=young[0].image,
            user=owner,
            chosen=young[0],
            request_id=uuid.uuid4(),
        )
    assert not Answer.objects.exists()


def test_a_face_of_a_new_upload_is_not_served(owner, project, young):
    assert leases.face_serve(project=project, user=owner) is None
    older = photos_of(project, 1)
    assert leases.face_serve(project=project, user=owner) == older[0]


def test_with_new_uploads_switched_off_drawing_says_they_are_not_processed(
    client_of, owner, project, young, settings
):
    settings.WIKIVISAGE_PROCESS_NEW_UPLOADS = False
    status, data = post(client_of(owner), project, "draw", {"image": young[0].image_id, **BOX})
    assert (status, data["error"]) == (409, "new_upload")
    assert "new uploads are not processed" in data["message"]


def test_a_photo_past_the_wait_takes_drawn_faces(client_of, owner, project, young):
    Image.objects.filter(pk=young[0].image_id).update(
        uploaded_at=timezone.now() - timedelta(hours=49)
    )
    status, _data = post(client_of(owner), project, "draw", {"image": young[0].image_id, **BOX})
    assert status == 200
