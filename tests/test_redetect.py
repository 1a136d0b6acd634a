"""A file re-uploaded on Commons (new bytes, new SHA1) is detected again: the faces found on
the old bytes are retired, kept with their answers as history but never served, scored,
suggested or written again; their edits not sent yet are cancelled."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from depicts import policy
from depicts.models import DepictsEdit
from depicts.services import approval, resume
from faces.models import Answer, Face, Image, Label
from faces.selectors import next_face
from faces.services import crawl as crawl_service
from faces.services import detect, images, processing
from faces.services.answers import answer_record
from tests.depicts.writing import approve, queue_only, send_all, setclaims
from tests.factories import FaceFactory, ImageFactory, ProjectFactory
from tests.pipeline.test_pipeline import client
from tests.test_concurrent_writes import file_info

pytestmark = pytest.mark.django_db

FACES = Path(settings.FACES_DATA_DIR)
PORTRAIT, OTHER = "Portrait.jpg", "Other portrait.jpg"


def world(portrait: str, *, timestamp: str = "2016-05-01T10:00:00Z") -> dict[str, Any]:
    """One category; ``portrait`` is the photo (under the face data) behind Portrait.jpg."""
    return {
        "items": {"Q76": {"labels": {"en": "Barack Obama"}, "P31": ["Q5"]}},
        "categories": {"Portraits": {"files": [PORTRAIT, OTHER], "subcats": []}},
        "files": {
            PORTRAIT: {"path": str(FACES / portrait), "timestamp": timestamp},
            OTHER: {"path": str(FACES / "barack_obama/02.jpg")},
        },
    }


# A re-upload: the same file page (same title, so the same page id), other bytes.
FIRST, SECOND = "barack_obama/01.jpg", "multi/01.jpg"
REUPLOADED_AT = "2019-07-01T10:00:00Z"


@pytest.fixture
def project(owner):
    return ProjectFactory(owner=owner, qid="Q76", category="Portraits", crawl_depth=0)


def crawl(project) -> None:
    with client() as api:
        crawl_service.project_crawl(project=project, client=api)


def detect_pending() -> None:
    with client() as api:
        for image_id in Image.objects.filter(state=Image.State.PENDING).values_list(
            "pk", flat=True
        ):
            detect.image_detect(image_id=image_id, client=api)


def portrait() -> Image:
    return Image.objects.get(title=f"File:{PORTRAIT}")


def answer(project, user, face: Face, verdict: str = "yes") -> None:
    answer_record(project=project, face=face, user=user, verdict=verdict, request_id=uuid.uuid4())


@pytest.fixture
def answered(make_fake_commons, project, owner):
    """Portrait.jpg crawled, detected, its face answered yes and approved for sending."""
    make_fake_commons(world(FIRST))
    crawl(project)
    detect_pending()
    (face,) = portrait().faces.all()
    answer(project, owner, face)
    (edit,) = approval.edits_approve(project=project, faces=[face], user=owner)
    return face, edit


@pytest.fixture
def reupload(make_fake_commons, project, queued, django_capture_on_commit_callbacks):
    """Portrait.jpg re-uploaded with other bytes, then the project crawled again (what the
    crawl queued once committed is in ``queued``); called again, it crawls again."""

    def upload_and_crawl() -> None:
        if not reuploaded:
            make_fake_commons(world(SECOND, timestamp=REUPLOADED_AT))
            reuploaded.append(True)
        queued.clear()
        with django_capture_on_commit_callbacks(execute=True):
            crawl(project)

    reuploaded: list[bool] = []
    return upload_and_crawl


def test_new_bytes_retire_the_old_faces_and_keep_their_answers(answered, reupload, queued):
    old_face, _edit = answered
    old_sha1 = portrait().sha1
    reupload()

    image = portrait()
    assert image.sha1 != old_sha1
    assert (image.state, image.claimed_at, image.error) == (Image.State.PENDING, None, "")
    assert image.processed_at is None  # a detection of the new bytes, not a re-encoding
    assert [job.task for job in queued] == ["faces.detect.next"]
    old_face.refresh_from_db()
    assert old_face.is_retired
    assert list(Face.objects.retired()) == [old_face]
    assert not image.faces.current().exists()
    # History stays: the answer and the label on the old face.
    assert Answer.objects.filter(face=old_face, verdict="yes").count() == 1
    assert Label.objects.filter(face=old_face, source=Label.Source.HUMAN).count() == 1


def test_a_retired_face_is_never_served_again(answered, reupload, project, owner):
    old_face, _edit = answered
    Label.objects.filter(face=old_face).delete()  # as if nobody had answered it
    Answer.objects.filter(face=old_face).delete()
    reupload()
    served: list[int] = []
    while (face := next_face(project=project, user=owner, exclude=served)) is not None:
        served.append(face.pk)
    assert served  # the other photo's face is still asked about
    assert old_face.pk not in served


def test_the_new_bytes_are_detected_again_from_index_zero(answered, reupload, project):
    old_face, _edit = answered
    reupload()
    detect_pending()
    image = portrait()
    assert image.state == Image.State.DONE, image.error
    new_faces = list(image.faces.current().order_by("index"))
    assert len(new_faces) >= 2  # multi/01.jpg: a group photo
    assert [face.index for face in new_faces] == list(range(len(new_faces)))
    assert old_face.pk not in {face.pk for face in new_faces}
    assert not Label.objects.filter(face__in=new_faces, source=Label.Source.HUMAN).exists()


def test_a_second_crawl_of_the_same_new_bytes_changes_nothing(answered, reupload, queued):
    reupload()
    detect_pending()
    faces_before = sorted(Face.objects.values_list("pk", "index", "superseded_by_id"))
    reupload()
    assert sorted(Face.objects.values_list("pk", "index", "superseded_by_id")) == faces_before
    assert portrait().state == Image.State.DONE
    assert [job.task for job in queued] == []


def test_an_approved_edit_of_a_retired_face_is_cancelled_with_its_reason(
    answered, reupload, project
):
    _face, edit = answered
    reupload()
    resume.edits_resume()
    edit.refresh_from_db()
    assert edit.state == DepictsEdit.State.CANCELLED
    assert edit.error == policy.FACE_RETIRED


def test_the_new_face_can_be_approved_again_after_the_cancellation(
    answered, reupload, project, owner
):
    _face, edit = answered
    reupload()
    detect_pending()
    resume.edits_resume()
    new_face = portrait().faces.current().first()
    (again,) = approval.edits_approve(project=project, faces=[new_face], user=owner)
    assert (again.pk, again.state, again.face_id) == (edit.pk, "approved", new_face.pk)


def test_a_queued_edit_of_a_retired_face_is_never_written(commons, project, sender):
    (edit,) = approve(commons, project, sender, ["Obama 1.jpg"])
    queue_only(project, sender, [edit])
    edit.face.retire(index=images.RETIRED_INDEX_BASE)
    assert send_all([edit.pk]) == {edit.pk: DepictsEdit.State.CANCELLED}
    edit.refresh_from_db()
    assert edit.error == policy.FACE_RETIRED
    assert setclaims(commons) == []


def test_queueing_cancels_an_approved_edit_of_a_retired_face(commons, project, sender):
    (edit,) = approve(commons, project, sender, ["Obama 1.jpg"])
    edit.face.retire(index=images.RETIRED_INDEX_BASE)
    queue_only(project, sender, [edit])
    edit.refresh_from_db()
    assert (edit.state, edit.error) == (DepictsEdit.State.CANCELLED, policy.FACE_RETIRED)


def test_a_worker_detecting_the_old_bytes_stores_nothing(
    make_fake_commons, reupload, project, monkeypatch
):
    """The re-upload is crawled while a worker analyses the old bytes: the worker's claim is
    gone, so it stores nothing, and the image waits, pending, for a worker to detect it."""
    make_fake_commons(world(FIRST))
    crawl(project)
    with client() as api:
        download = api.download

        def reuploaded_meanwhile(*args: Any, **kwargs: Any) -> bytes:
            data = download(*args, **kwargs)  # the old bytes, in the worker's hands
            reupload()
            return data

        monkeypatch.setattr(api, "download", reuploaded_meanwhile)
        outcome = detect.image_detect(image_id=portrait().pk, client=api)
    assert outcome == processing.NOT_CLAIMED
    assert portrait().state == Image.State.PENDING
    assert not portrait().faces.exists()


def test_each_reupload_retires_the_faces_of_its_time_without_clashing(db):
    image = ImageFactory(state=Image.State.DONE, sha1="a" * 40)
    first = [FaceFactory(image=image, index=i) for i in range(2)]
    images.images_upsert(infos=[file_info(image, sha1="b" * 40)])
    Image.objects.filter(pk=image.pk).update(state=Image.State.DONE)
    second = [FaceFactory(image=image, index=i) for i in range(3)]  # detected again
    image.refresh_from_db()
    images.images_upsert(infos=[file_info(image, sha1="c" * 40)])
    retired = {face.pk: face.index for face in Face.objects.retired()}
    assert set(retired) == {face.pk for face in first + second}
    assert min(retired.values()) >= images.RETIRED_INDEX_BASE
    assert not Face.objects.current().filter(image=image).exists()
    # Once retired, a face stays as it was: the second re-upload moved only the newer ones.
    assert [retired[face.pk] for face in first] == [10_000, 10_001]
