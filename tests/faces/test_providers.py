"""Detectors behind one interface: dlib in process, or the model service over HTTP.

The model service is the reference server (``python -m benchmarks.modelserver``) as a real process
on a free port; Commons is the offline stand-in. The HTTP provider must find what dlib finds
in process, and a service that is down or slow must leave images pending, not in error.
"""

from __future__ import annotations

import csv
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from benchmarks.modelserver import ModelServer
from commons.client import CommonsError
from core.errors import TransientError
from core.retry import RetryPolicy
from faceengine.detection import (
    DETECTION,
    ENCODER,
    SMALL_FACE_HEIGHT_PX,
    DetectionConfig,
    FaceBox,
)
from faceengine.imaging import BadImageError
from faces.modelclient import ModelServiceClient, ModelServiceRejected, ModelServiceUnavailable
from faces.models import Face, Image, Label
from faces.providers import DlibProvider, HttpProvider, detector
from faces.services import crawl, detect, processing, reencode, scoring
from faces.services import drawn as drawn_service
from faces.tasks import detect_image, reclaim_images
from tests.faces.test_modelserver import ServerProcess, start_model_server, stop_model_server
from tests.factories import FaceFactory, ImageFactory, ProjectFactory, ProjectImageFactory
from tests.pipeline.test_pipeline import client

FACES = Path(settings.FACES_DATA_DIR)
OBAMA = "barack_obama/01.jpg"
GROUPS = ["multi/03.jpg", "multi/09.jpg", "multi/13.jpg"]  # as tests/faces/test_detection.py
OTHER_MODEL = "dlib-resnet-v1-retrained"


@pytest.fixture(scope="module")
def model_service() -> Iterator[ServerProcess]:
    server = start_model_server()
    yield server
    stop_model_server(server)


@pytest.fixture
def use_http(settings, model_service) -> str:
    """The pipeline's provider is the model service (no retries: tests do not wait)."""
    settings.WIKIVISAGE_DETECTOR = "http"
    settings.WIKIVISAGE_DETECTOR_URL = model_service.url
    settings.WIKIVISAGE_DETECTOR_RETRIES = 0
    return model_service.url


def http_provider(url: str, *, timeout: float = 60.0, retries: int = 0, sleep=None) -> Any:
    client = ModelServiceClient(
        url=url,
        model_name="faces",
        timeout=timeout,
        retry=RetryPolicy(max_attempts=1 + retries, base_delay=0.5, max_delay=4.0),
        user_agent="WikiVisage tests",
        sleep=sleep or (lambda seconds: None),
    )
    return HttpProvider(client)


@pytest.fixture(params=["dlib", "http"])
def provider(request, model_service) -> Any:
    if request.param == "dlib":
        return DlibProvider()
    return http_provider(model_service.url)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def manifest_faces(file: str) -> int:
    with (FACES / "manifest.csv").open(newline="") as handle:
        rows = {row["file"]: row for row in csv.DictReader(handle)}
    return int(rows[file]["expected_faces"])


# ---- choosing a provider ---------------------------------------------------------------------


def test_dlib_in_process_is_the_default_and_names_the_stored_default_model() -> None:
    assert isinstance(detector(), DlibProvider)
    assert detector().model_version() == ENCODER
    assert Face._meta.get_field("encoder").default == ENCODER


def test_an_unknown_provider_or_a_service_without_address_is_refused(settings) -> None:
    settings.WIKIVISAGE_DETECTOR = "gpu"
    with pytest.raises(ImproperlyConfigured, match="WIKIVISAGE_DETECTOR"):
        detector()
    settings.WIKIVISAGE_DETECTOR, settings.WIKIVISAGE_DETECTOR_URL = "http", ""
    with pytest.raises(ImproperlyConfigured, match="WIKIVISAGE_DETECTOR_URL"):
        detector()


def test_the_http_setting_gives_the_model_service_provider(use_http) -> None:
    provider = detector()
    assert isinstance(provider, HttpProvider)
    assert provider.client.url == use_http
    assert provider.model_version() == ENCODER


# ---- the same detection, either way ----------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("file", [OBAMA, "multi/03.jpg", "multi/07.jpg", "ariel_sharon/01.jpg"])
def test_the_model_service_finds_the_faces_dlib_finds_in_process(model_service, file) -> None:
    data = (FACES / file).read_bytes()
    here = DlibProvider().analyse(data, config=DETECTION)
    there = http_provider(model_service.url).analyse(data, config=DETECTION)

    assert there.model_version == here.model_version == ENCODER
    assert [f.box for f in there.faces] == [f.box for f in here.faces]
    assert [(f.width_px, f.height_px, f.small) for f in there.faces] == [
        (f.width_px, f.height_px, f.small) for f in here.faces
    ]
    for remote, local in zip(there.faces, here.faces, strict=True):
        np.testing.assert_allclose(remote.encoding, local.encoding, atol=1e-4)


@pytest.mark.slow
@pytest.mark.parametrize("file", GROUPS)
def test_group_photos_give_every_expected_face(provider, file) -> None:
    found = provider.analyse((FACES / file).read_bytes(), config=DETECTION).faces
    assert len(found) == manifest_faces(file) > 1


@pytest.mark.slow
def test_photos_without_people_give_no_faces(provider) -> None:
    files = sorted((FACES / "none").glob("*.jpg"))[:10]
    assert len(files) == 10
    for file in files:
        assert provider.analyse(file.read_bytes(), config=DETECTION).faces == [], file.name


@pytest.mark.slow
def test_a_small_face_is_kept_and_flagged(provider) -> None:
    tiny = DetectionConfig(thumb_width=120, upsample=1)
    faces = provider.analyse((FACES / OBAMA).read_bytes(), config=tiny).faces
    assert len(faces) == 1 and faces[0].small and faces[0].height_px < SMALL_FACE_HEIGHT_PX


@pytest.mark.slow
def test_encoding_a_reference_box_gives_the_reference_encoding(provider) -> None:
    archive = np.load(FACES / "reference_encodings.npz")
    row = list(archive["image_file"]).index(OBAMA)
    top, right, bottom, left = (int(v) for v in archive["box_trbl"][row])
    width, height = 910, 1137  # barack_obama/01.jpg
    box = FaceBox(left / width, top / height, (right - left) / width, (bottom - top) / height)
    empty = FaceBox(0.5, 0.5, 1e-6, 0.1)

    encoded = provider.encode((FACES / OBAMA).read_bytes(), [box, empty])

    assert encoded.model_version == ENCODER
    np.testing.assert_allclose(encoded.vectors[0], archive["encoding"][row], atol=1e-4)
    assert encoded.vectors[1] is None


def test_bytes_that_are_no_picture_are_a_bad_image_either_way(provider) -> None:
    with pytest.raises(BadImageError, match="not_an_image"):
        provider.analyse(b"<html>503</html>", config=DETECTION)


# ---- a service down, failing or slow ---------------------------------------------------------


def test_a_service_that_is_down_is_a_clear_transient_error_after_a_few_tries() -> None:
    pauses: list[float] = []
    url = f"http://127.0.0.1:{free_port()}"
    provider = http_provider(url, retries=2, sleep=pauses.append)

    with pytest.raises(ModelServiceUnavailable) as raised:
        provider.analyse((FACES / OBAMA).read_bytes(), config=DETECTION)

    assert isinstance(raised.value, TransientError)
    assert not isinstance(raised.value, CommonsError)  # Wikimedia is not the one down
    assert raised.value.code == "model-service-down"
    assert url in str(raised.value)
    assert len(pauses) == 2 and 0 < pauses[0] <= pauses[1]


class _Answers(BaseHTTPRequestHandler):
    """A service that answers every request with one status (and counts them)."""

    status = 503
    seen: list[str]

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.seen.append(self.path)
        body = b'{"error": "overloaded"}'
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def answering() -> Iterator[Any]:
    servers = []

    def start(status: int) -> tuple[str, list[str]]:
        seen: list[str] = []
        handler = type("Handler", (_Answers,), {"status": status, "seen": seen})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}", seen

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_a_failing_service_is_tried_again_then_transient(answering) -> None:
    url, seen = answering(503)
    with pytest.raises(ModelServiceUnavailable, match="overloaded") as raised:
        http_provider(url, retries=2).analyse((FACES / OBAMA).read_bytes(), config=DETECTION)
    assert raised.value.code == "model-service-http-503"
    assert len(seen) == 3


def test_a_refusal_of_the_input_is_permanent_and_not_tried_again(answering) -> None:
    url, seen = answering(400)
    with pytest.raises(ModelServiceRejected):
        http_provider(url, retries=2).analyse((FACES / OBAMA).read_bytes(), config=DETECTION)
    assert len(seen) == 1


def test_a_slow_service_times_out_as_a_transient_error() -> None:
    # A listening socket that never answers: the connection opens, no answer ever comes.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        provider = http_provider(url, timeout=0.2, retries=2)
        with pytest.raises(ModelServiceUnavailable) as raised:
            provider.analyse((FACES / OBAMA).read_bytes(), config=DETECTION)
    assert raised.value.code == "model-service-timeout"
    assert isinstance(raised.value, TransientError)


# ---- the pipeline through the model service --------------------------------------------------

WORLD: dict[str, Any] = {
    "items": {"Q76": {"labels": {"en": "Barack Obama"}, "P31": ["Q5"]}},
    "categories": {"Obama": {"files": ["Obama 1.jpg", "Three people.jpg"], "subcats": []}},
    "files": {
        "Obama 1.jpg": {"path": str(FACES / OBAMA)},
        "Three people.jpg": {"path": str(FACES / "multi/02.jpg")},
    },
}


@pytest.fixture
def crawled(make_fake_commons, db) -> Any:
    """A project whose two photos are crawled, not detected yet."""
    stand_in = make_fake_commons(WORLD)
    project = ProjectFactory(qid="Q76", category="Obama", crawl_depth=0)
    with client() as api:
        crawl.project_crawl(project=project, client=api, queue=False)
    stand_in.project = project
    return stand_in


def detect_all(project) -> None:
    with client() as api:
        for image in Image.objects.filter(project_links__project=project):
            detect.image_detect(image_id=image.pk, client=api)


def thumbnail_of(image: Image) -> bytes:
    with client() as api:
        return api.download(image.thumb_url, max_bytes=processing.MAX_THUMBNAIL_BYTES)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_detect_task_through_the_model_service_stores_what_dlib_would(crawled, use_http):
    for image in Image.objects.all():
        detect_image.apply(args=[image.pk])

    for image in Image.objects.all():
        image.refresh_from_db()
        assert image.state == Image.State.DONE, image.error
        stored = list(image.faces.order_by("index"))
        expected = DlibProvider().analyse(thumbnail_of(image), config=DETECTION).faces
        assert len(stored) == len(expected) > 0
        for face, want in zip(stored, expected, strict=True):
            assert face.encoder == ENCODER
            assert (face.left, face.top, face.width, face.height) == (
                want.box.left,
                want.box.top,
                want.box.width,
                want.box.height,
            )
            np.testing.assert_allclose(face.vector, want.encoding, atol=1e-4)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_with_the_service_down_the_image_stays_pending_without_error(crawled, settings):
    settings.WIKIVISAGE_DETECTOR = "http"
    settings.WIKIVISAGE_DETECTOR_URL = f"http://127.0.0.1:{free_port()}"
    settings.WIKIVISAGE_DETECTOR_RETRIES = 0
    image = Image.objects.get(title="File:Obama 1.jpg")

    with client() as api, pytest.raises(ModelServiceUnavailable):
        detect.image_detect(image_id=image.pk, client=api)
    image.refresh_from_db()
    assert (image.state, image.error, image.claimed_at) == (Image.State.PENDING, "", None)

    detect_image.apply(args=[image.pk])  # as a worker runs it: retried, then given up
    image.refresh_from_db()
    assert (image.state, image.error) == (Image.State.PENDING, "")
    assert not image.faces.exists()


@pytest.mark.slow
@pytest.mark.django_db
def test_faces_record_the_model_the_service_names(crawled, settings) -> None:
    with ModelServer() as other:
        other.model_version = OTHER_MODEL
        settings.WIKIVISAGE_DETECTOR, settings.WIKIVISAGE_DETECTOR_URL = "http", other.url
        detect_all(crawled.project)
    encoders = set(Face.objects.values_list("encoder", flat=True))
    assert encoders == {OTHER_MODEL}


@pytest.mark.slow
@pytest.mark.django_db
def test_a_drawn_face_is_encoded_by_the_configured_provider(crawled, settings) -> None:
    image = Image.objects.get(title="File:Obama 1.jpg")
    drawn = FaceFactory(
        image=image, index=5, encoding=None, origin=Face.Origin.DRAWN, left=0.38, top=0.12
    )
    with ModelServer() as other:
        other.model_version = OTHER_MODEL
        settings.WIKIVISAGE_DETECTOR, settings.WIKIVISAGE_DETECTOR_URL = "http", other.url
        with client() as api:
            assert drawn_service.face_encode(face_id=drawn.pk, client=api)
    drawn.refresh_from_db()
    assert drawn.encoder == OTHER_MODEL and drawn.vector is not None


# ---- a new model: faces encoded again, answers kept ------------------------------------------


@pytest.mark.slow
@pytest.mark.django_db
def test_a_new_model_encodes_the_faces_again_and_keeps_their_answers(crawled, settings):
    project = crawled.project
    detect_all(project)  # dlib in process
    face = Face.objects.get(image__title="File:Obama 1.jpg")
    Label.objects.create(
        project=project, face=face, verdict=Label.Verdict.YES, source=Label.Source.HUMAN
    )
    before = {f.pk: f.vector for f in Face.objects.all()}
    assert reencode.images_reencode() == []  # nothing of another model yet

    with ModelServer() as other:
        other.model_version = OTHER_MODEL
        settings.WIKIVISAGE_DETECTOR, settings.WIKIVISAGE_DETECTOR_URL = "http", other.url
        again = reencode.images_reencode()
        assert sorted(again) == sorted(Image.objects.values_list("pk", flat=True))
        assert set(Image.objects.values_list("state", flat=True)) == {Image.State.PENDING}
        detect_all(project)
        assert reencode.images_reencode() == []  # done: a second sweep finds nothing

    after = {f.pk: f for f in Face.objects.all()}
    assert set(after) == set(before)  # the same faces, boxes and ids
    assert {f.encoder for f in after.values()} == {OTHER_MODEL}
    for pk, vector in before.items():
        # The same dlib model behind a new name: the same numbers, now of the new model.
        np.testing.assert_allclose(after[pk].vector, vector, atol=1e-4)
    assert Label.objects.get(face=face, source=Label.Source.HUMAN).verdict == Label.Verdict.YES
    assert set(Image.objects.values_list("state", flat=True)) == {Image.State.DONE}


@pytest.mark.django_db
def test_the_sweep_waits_while_the_model_service_is_down(settings, queued) -> None:
    face = FaceFactory(encoder=OTHER_MODEL)
    Image.objects.filter(pk=face.image_id).update(state=Image.State.DONE)
    settings.WIKIVISAGE_DETECTOR = "http"
    settings.WIKIVISAGE_DETECTOR_URL = f"http://127.0.0.1:{free_port()}"
    settings.WIKIVISAGE_DETECTOR_RETRIES = 0

    reclaim_images()

    assert Image.objects.get(pk=face.image_id).state == Image.State.DONE
    assert [q.task for q in queued] == []


@pytest.mark.django_db
def test_the_sweep_hands_back_images_with_faces_of_another_model(
    queued, settings, django_capture_on_commit_callbacks
) -> None:
    settings.WIKIVISAGE_NEW_UPLOAD_WAIT_HOURS = 0
    stale = FaceFactory(encoder=OTHER_MODEL)
    fresh = FaceFactory()
    unencoded = FaceFactory(encoder=OTHER_MODEL, encoding=None, origin=Face.Origin.DRAWN)
    for face in (stale, fresh, unencoded):
        ProjectImageFactory(image=face.image)
    Image.objects.update(state=Image.State.DONE)

    with django_capture_on_commit_callbacks(execute=True):
        reclaim_images()

    states = dict(Image.objects.values_list("pk", "state"))
    assert states == {
        stale.image_id: Image.State.PENDING,
        fresh.image_id: Image.State.DONE,
        unencoded.image_id: Image.State.DONE,
    }
    assert [q.task for q in queued] == ["faces.detect.next"]


# ---- the learner never mixes models ----------------------------------------------------------


def photo(project, *, encoder: str = ENCODER, seed: int) -> Face:
    image = ImageFactory()
    ProjectImageFactory(project=project, image=image)
    vector = np.random.default_rng(seed).normal(size=128).astype(np.float32)
    return FaceFactory(image=image, index=0, encoding=Face.pack(vector), encoder=encoder)


@pytest.mark.django_db
def test_the_learner_leaves_out_faces_of_another_model() -> None:
    project = ProjectFactory()
    ours = [photo(project, seed=i) for i in range(5)]
    theirs = [photo(project, encoder=OTHER_MODEL, seed=10 + i) for i in range(2)]

    read = scoring.project_faces(project)

    assert sorted(read.face_ids.tolist()) == sorted(f.pk for f in ours)
    scoring.project_rescore(project_id=project.pk)
    labelled = set(
        Label.objects.filter(project=project, source=Label.Source.MODEL).values_list(
            "face_id", flat=True
        )
    )
    assert labelled == {f.pk for f in ours}
    assert not labelled & {f.pk for f in theirs}


@pytest.mark.django_db
def test_the_learner_moves_to_the_model_of_most_faces_as_they_are_encoded_again() -> None:
    project = ProjectFactory()
    faces = [photo(project, seed=i) for i in range(5)]
    assert len(scoring.project_faces(project).face_ids) == 5  # remembered now

    # Encoded again in place (same ids): the remembered encodings must not be reused.
    Face.objects.filter(pk__in=[f.pk for f in faces[:2]]).update(encoder=OTHER_MODEL)
    assert sorted(scoring.project_faces(project).face_ids.tolist()) == sorted(
        f.pk for f in faces[2:]
    )
    Face.objects.filter(pk__in=[f.pk for f in faces[:3]]).update(encoder=OTHER_MODEL)
    assert sorted(scoring.project_faces(project).face_ids.tolist()) == sorted(
        f.pk for f in faces[:3]
    )
    Face.objects.update(encoder=OTHER_MODEL)
    assert len(scoring.project_faces(project).face_ids) == 5
    assert len(scoring.project_faces(project).face_ids) == 5  # and remembered again
