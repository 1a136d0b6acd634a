"""Fixtures of the review UI tests: a project with faces, and the learner's labels on them."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import pytest

from faces.models import Face, Image, Label
from tests.factories import FaceFactory, ImageFactory, ProjectImageFactory

THUMB = "https://upload.wikimedia.org/wikipedia/commons/thumb/a/ab/{name}/500px-{name}"


def photos_of(project, count: int, *, faces_per_photo: int = 1) -> list[Face]:
    """``count`` photos in the project's category with their faces, in discovery order."""
    faces = []
    for _ in range(count):
        image = ImageFactory(width=2000, height=1500, state=Image.State.DONE)
        image.thumb_url = THUMB.format(name=f"Photo_{image.pk}.jpg")
        image.thumb_width = 500
        image.save(update_fields=["thumb_url", "thumb_width"])
        ProjectImageFactory(project=project, image=image)
        for index in range(faces_per_photo):
            faces.append(
                FaceFactory(
                    image=image,
                    index=index,
                    left=0.1 + 0.3 * index,
                    top=0.2,
                    width=0.2,
                    height=0.25,
                )
            )
    return faces


def score(project, faces: Sequence[Face], scores: Sequence[float], *, threshold: float = 0.5):
    """The learner's labels: priority highest nearest the threshold, as it asks those first."""
    Label.objects.bulk_create(
        [
            Label(
                project=project,
                face=face,
                source=Label.Source.MODEL,
                score=value,
                verdict=Label.Verdict.YES if value >= threshold else Label.Verdict.NO,
                priority=1 - abs(value - threshold),
            )
            for face, value in zip(faces, scores, strict=True)
        ]
    )


def answer_body(face: Face, verdict: str = "yes", request_id: uuid.UUID | None = None) -> dict:
    return {"face": face.pk, "verdict": verdict, "request_id": str(request_id or uuid.uuid4())}


@pytest.fixture
def faces(project) -> list[Face]:
    return photos_of(project, 3)


@pytest.fixture
def face(faces) -> Face:
    return faces[0]


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    # The factories hash a password for every user; PBKDF2's real cost is not under test here.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
