"""Several detectors at once (``WIKIVISAGE_DETECTORS``): every one detects each photo, their
boxes are merged, the first one encodes every face, and each face records who found it.

The second detector is the reference model service (``benchmarks.modelserver``) over HTTP,
with dlib's CNN: on the group photo it finds two faces HOG misses, and none of the three faces
of the other one. Commons is the offline stand-in.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.urls import reverse

from benchmarks.commands import benchmark_detection
from benchmarks.modelserver import ModelServer
from faceengine.detection import DETECTION, ENCODER, FaceBox
from faces.modelclient import ModelServiceUnavailable
from faces.models import Face, Image
from faces.providers import DlibProvider, HttpProvider, detector, detectors
from faces.services import crawl, detect
from tests.faces.test_detection import benchmark_folder as benchmark_folder
from tests.faces.test_model_door import REFUSED, answering
from tests.faces.test_model_door import service as service
from tests.faces.test_providers import (
    FACES,
    OBAMA,
    OTHER_MODEL,
    free_port,
    thumbnail_of,
)
from tests.factories import FaceFactory, ImageFactory, ProjectFactory, ProjectImageFactory
from tests.pipeline.test_pipeline import client
from tests.test_settings import manage

GROUP = "Group.jpg"  # HOG finds 4 faces, the CNN those 4 and 2 more
THREE = "Three people.jpg"  # HOG finds 3 faces, the CNN none
WORLD: dict[str, Any] = {
    "items": {"Q76": {"labels": {"en": "Barack Obama"}, "P31": ["Q5"]}},
    "categories": {"Obama": {"files": ["Obama 1.jpg", GROUP, THREE], "subcats": []}},
    "files": {
        "Obama 1.jpg": {"path": str(FACES / OBAMA)},
        GROUP: {"path": str(FACES / "multi/07.jpg")},
        THREE: {"path": str(FACES / "multi/02.jpg")},
    },
}


@pytest.fixture
def project(make_fake_commons, db) -> Any:
    make_fake_commons(WORLD)
    project = ProjectFactory(qid="Q76", category="Obama", crawl_depth=0)
    with client() as api:
        crawl.project_crawl(project=project, client=api, queue=False)
    return project


@pytest.fixture(scope="module")
def cnn_service() -> Iterator[ModelServer]:
    with ModelServer(detector="cnn") as server:
        yield server


@pytest.fixture
def ranked(settings) -> Any:
    def configure(*names: str, url: str = "") -> None:
        settings.WIKIVISAGE_DETECTORS = list(names)
        settings.WIKIVISAGE_DETECTOR_URL = url
        settings.WIKIVISAGE_DETECTOR_RETRIES = 0

    return configure


def detect_all() -> None:
    with client() as api:
        for image in Image.objects.order_by("pk"):
            detect.image_detect(image_id=image.pk, client=api)


def faces_of(title: str) -> list[Face]:
    return list(Face.objects.filter(image__title=f"File:{title}").order_by("index"))


# ---- choosing the detectors --------------------------------------------------------------------


def test_the_detectors_are_given_in_rank_order_and_the_first_encodes(ranked) -> None:
    ranked("http", "dlib", url="http://127.0.0.1:8600")
    assert [type(p) for p in detectors()] == [HttpProvider, DlibProvider]
    assert isinstance(detector(), HttpProvider)


def test_one_detector_setting_is_still_a_list_of_one(settings) -> None:
    settings.WIKIVISAGE_DETECTORS = []
    settings.WIKIVISAGE_DETECTOR = "dlib"
    assert [type(p) for p in detectors()] == [DlibProvider]


@pytest.mark.parametrize("names", [["dlib", "dlib"], ["dlib", "gpu"], ["dlib", "http"]])
def test_a_repeated_or_unknown_detector_or_a_service_without_address_is_refused(
    ranked, names
) -> None:
    ranked(*names)
    with pytest.raises(ImproperlyConfigured, match="WIKIVISAGE_DETECTOR"):
        detectors()


@pytest.mark.parametrize(
    "env, message",
    [
        ({"WIKIVISAGE_DETECTORS": "dlib,gpu"}, "WIKIVISAGE_DETECTORS lists dlib and http"),
        ({"WIKIVISAGE_DETECTORS": "dlib,dlib"}, "each once"),
        ({"WIKIVISAGE_DETECTORS": "dlib,http"}, "http needs WIKIVISAGE_DETECTOR_URL"),
        ({"WIKIVISAGE_DETECTORS": "dlib", "WIKIVISAGE_DETECTOR": "http"}, "not both"),
    ],
)
def test_a_wrong_list_of_detectors_stops_the_start_with_a_clear_message(env, message) -> None:
    env = {"WIKIVISAGE_DETECTOR_URL": "", **env}
    result = manage("check", DJANGO_DEBUG="true", **env)
    assert result.returncode != 0
    assert message in result.stderr


def test_a_valid_list_of_detectors_starts() -> None:
    result = manage(
        "check",
        DJANGO_DEBUG="true",
        WIKIVISAGE_DETECTORS="http,dlib",
        WIKIVISAGE_DETECTOR_URL="http://127.0.0.1:8600",
    )
    assert result.returncode == 0, result.stderr


def test_the_reference_service_runs_hog_or_cnn_only() -> None:
    with pytest.raises(ValueError, match="hog"):
        ModelServer(detector="gpu")


# ---- merged faces, one encoder ------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.django_db
def test_dlib_and_the_model_service_merged_keep_dlibs_boxes_and_add_the_services_faces(
    project, ranked, cnn_service
) -> None:
    ranked("dlib", "http", url=cnn_service.url)
    detect_all()

    group = faces_of(GROUP)
    thumb = thumbnail_of(Image.objects.get(title=f"File:{GROUP}"))
    dlib = DlibProvider().analyse(thumb, config=DETECTION)
    assert [f.found_by for f in group] == ["dlib,http"] * 4 + ["http"] * 2
    # The faces dlib found keep dlib's boxes and encodings, exactly.
    for stored, found in zip(group, dlib.faces, strict=False):
        assert FaceBox(stored.left, stored.top, stored.width, stored.height) == found.box
        np.testing.assert_array_equal(stored.vector, found.encoding)
    # The faces only the service found are encoded by dlib, the first detector.
    extra_boxes = [FaceBox(f.left, f.top, f.width, f.height) for f in group[4:]]
    extra_vectors = DlibProvider().encode(thumb, extra_boxes).vectors
    for stored, vector in zip(group[4:], extra_vectors, strict=True):
        np.testing.assert_allclose(stored.vector, vector, atol=1e-6)
    three = DlibProvider().analyse(
        thumbnail_of(Image.objects.get(title=f"File:{THREE}")), config=DETECTION
    )
    assert [f.found_by for f in faces_of(THREE)] == ["dlib"] * len(three.faces)
    assert [f.found_by for f in faces_of("Obama 1.jpg")] == ["dlib,http"]
    assert set(Face.objects.values_list("encoder", flat=True)) == {ENCODER}
    assert set(Image.objects.values_list("state", flat=True)) == {Image.State.DONE}


@pytest.mark.slow
@pytest.mark.django_db
def test_every_face_is_encoded_by_the_first_detectors_model_only(
    project, ranked, cnn_service
) -> None:
    cnn_service.model_version = OTHER_MODEL
    try:
        ranked("dlib", "http", url=cnn_service.url)
        detect_all()
        assert set(Face.objects.values_list("encoder", flat=True)) == {ENCODER}
        assert Face.objects.filter(found_by="http").count() == 2  # found by it, not its model

        Face.objects.all().delete()
        Image.objects.update(state=Image.State.PENDING, processed_at=None)
        ranked("http", "dlib", url=cnn_service.url)
        detect_all()
    finally:
        cnn_service.model_version = ENCODER
    # The service ranked first: its boxes and its model, also for the faces dlib alone found.
    assert set(Face.objects.values_list("encoder", flat=True)) == {OTHER_MODEL}
    assert {f.found_by for f in faces_of(THREE)} == {"dlib"}
    assert all(f.vector is not None for f in faces_of(THREE))
    assert sorted(f.found_by for f in faces_of(GROUP)) == ["http"] * 2 + ["http,dlib"] * 4


@pytest.mark.slow
@pytest.mark.django_db
def test_two_detectors_finding_the_same_faces_store_each_face_once(project, ranked) -> None:
    with ModelServer() as hog_service:  # the same HOG as dlib in process
        ranked("dlib", "http", url=hog_service.url)
        detect_all()
    alone = [DlibProvider().analyse(thumbnail_of(i), config=DETECTION) for i in Image.objects.all()]
    assert Face.objects.count() == sum(len(found.faces) for found in alone)
    assert set(Face.objects.values_list("found_by", flat=True)) == {"dlib,http"}


# ---- a detector failing on a photo ------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "answer, reason",
    [
        REFUSED["NaN"],
        REFUSED["a box past the right edge"],
        REFUSED["more faces than any picture holds"],
    ],
    ids=["NaN", "box outside", "too many faces"],
)
def test_the_door_checks_the_second_detectors_answer_too(
    project, ranked, service, answer, reason
) -> None:
    url, seen = service(answering(answer))
    ranked("dlib", "http", url=url)
    image = Image.objects.get(title="File:Obama 1.jpg")

    with client() as api:
        outcome = detect.image_detect(image_id=image.pk, client=api)

    assert seen  # the service was asked
    image.refresh_from_db()
    # Nothing of the refused answer is stored; dlib's face is, found by dlib alone.
    assert (outcome.state, image.state, image.error) == (Image.State.DONE, Image.State.DONE, "")
    assert [(f.found_by, f.encoder) for f in faces_of("Obama 1.jpg")] == [("dlib", ENCODER)]


@pytest.mark.django_db
def test_the_first_detectors_refused_answer_is_the_photos_error(project, ranked, service) -> None:
    url, _ = service(answering(REFUSED["NaN"][0]))
    ranked("http", "dlib", url=url)
    image = Image.objects.get(title="File:Obama 1.jpg")

    with client() as api:
        detect.image_detect(image_id=image.pk, client=api)

    image.refresh_from_db()
    assert image.state == Image.State.ERROR and "not finite" in image.error
    assert not image.faces.exists()


@pytest.mark.django_db
def test_a_second_detector_down_holds_the_photo_back_a_few_times_then_not(project, ranked) -> None:
    ranked("dlib", "http", url=f"http://127.0.0.1:{free_port()}")
    image = Image.objects.get(title="File:Obama 1.jpg")

    for _ in range(detect.WAIT_FOR_ALL_DETECTORS_ATTEMPTS - 1):
        with client() as api, pytest.raises(ModelServiceUnavailable):
            detect.image_detect(image_id=image.pk, client=api)
        image.refresh_from_db()
        assert (image.state, image.error) == (Image.State.PENDING, "")
        assert not image.faces.exists()

    with client() as api:
        detect.image_detect(image_id=image.pk, client=api)

    image.refresh_from_db()
    assert image.state == Image.State.DONE
    assert image.attempts == detect.WAIT_FOR_ALL_DETECTORS_ATTEMPTS
    assert [f.found_by for f in faces_of("Obama 1.jpg")] == ["dlib"]


@pytest.mark.django_db
def test_the_first_detector_down_always_holds_the_photo_back(project, ranked) -> None:
    ranked("http", "dlib", url=f"http://127.0.0.1:{free_port()}")
    image = Image.objects.get(title="File:Obama 1.jpg")
    Image.objects.filter(pk=image.pk).update(attempts=50)

    with client() as api, pytest.raises(ModelServiceUnavailable):
        detect.image_detect(image_id=image.pk, client=api)

    image.refresh_from_db()
    assert (image.state, image.error) == (Image.State.PENDING, "")
    assert not image.faces.exists()


# ---- shown to moderators ---------------------------------------------------------------------


@pytest.mark.django_db
def test_the_admin_shows_which_detectors_found_a_face(client_of, moderator) -> None:
    face = FaceFactory(found_by="dlib,http")
    browser = client_of(moderator)

    listing = browser.get(reverse("admin:faces_face_changelist")).content.decode()
    page = browser.get(reverse("admin:faces_face_change", args=[face.pk])).content.decode()

    assert "dlib,http" in listing
    assert "Found by" in page and "dlib,http" in page


@pytest.mark.django_db
def test_an_identical_file_takes_the_faces_with_who_found_them(project) -> None:
    done = ImageFactory(sha1="5" * 40, state=Image.State.DONE)
    FaceFactory(image=done, index=0, found_by="dlib,http")
    copy = ImageFactory(sha1="5" * 40)
    ProjectImageFactory(project=project, image=copy)

    with client() as api:
        assert detect.image_detect(image_id=copy.pk, client=api).reused

    assert list(copy.faces.values_list("found_by", flat=True)) == ["dlib,http"]


# ---- the benchmark ---------------------------------------------------------------------------


@pytest.mark.slow
def test_the_benchmark_reports_each_detector_and_both_merged(benchmark_folder) -> None:
    out = io.StringIO()
    call_command(
        benchmark_detection.Command(),
        images=str(benchmark_folder),
        detectors=True,
        json=True,
        stdout=out,
    )

    lines = out.getvalue().strip().splitlines()
    summary = json.loads(lines[-1])
    assert (summary["photos"], summary["expected"]) == (2, 4)  # the broken file is no photo
    assert lines[0].startswith("photos 2 (bad 1)")
    modes = [summary[mode] for mode in ("dlib alone", "model service alone", "both merged")]
    dlib, service, both = modes
    assert dlib["faces"] == 3 and dlib["recall"] == 0.75
    assert both["faces"] >= max(dlib["faces"], service["faces"])
    assert both["cpu_ms"] >= max(dlib["cpu_ms"], service["cpu_ms"]) > 0
