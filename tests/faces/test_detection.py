"""Face detection on the shared real photographs, held against face_recognition's own results."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from dataclasses import FrozenInstanceError
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings
from django.core.management import call_command
from PIL import Image

from benchmarks.commands import benchmark_detection
from benchmarks.detection import (
    find_images,
    read_expected_faces,
    recall_by_folder,
    run_benchmark,
)
from faceengine.detection import (
    DETECTION,
    SMALL_FACE_HEIGHT_PX,
    DetectionConfig,
    FaceBox,
    analyse_image,
    detect_faces,
    encode_box,
    load_image,
)
from faceengine.imaging import decode_image

FACES: Path = settings.FACES_DATA_DIR
OBAMA = "barack_obama/01.jpg"
# face_recognition's own test expects exactly this (top, right, bottom, left) for this file.
OBAMA_UPSTREAM_BOX = (142, 617, 409, 349)
COMMONS_WIDTHS = {250, 330, 500, 960, 1280, 1920}


@pytest.fixture(scope="module")
def manifest() -> dict[str, dict[str, str]]:
    with (FACES / "manifest.csv").open(newline="") as handle:
        return {row["file"]: row for row in csv.DictReader(handle)}


@pytest.fixture(scope="module")
def references() -> dict[str, list[tuple[tuple[int, ...], np.ndarray]]]:
    """The reference (top, right, bottom, left) boxes and encodings, by image file."""
    archive = np.load(FACES / "reference_encodings.npz")
    faces: dict[str, list[tuple[tuple[int, ...], np.ndarray]]] = {}
    for name, box, encoding in zip(
        archive["image_file"], archive["box_trbl"], archive["encoding"], strict=True
    ):
        faces.setdefault(str(name), []).append((tuple(int(v) for v in box), encoding))
    return faces


def expected_box(manifest: dict[str, dict[str, str]], file: str) -> FaceBox:
    row = manifest[file]
    top, right, bottom, left = (int(v) for v in row["largest_face_box"].split(";"))
    return FaceBox(
        left=left / int(row["width"]),
        top=top / int(row["height"]),
        width=(right - left) / int(row["width"]),
        height=(bottom - top) / int(row["height"]),
    )


def assert_boxes_close(found: FaceBox, expected: FaceBox, tolerance: float) -> None:
    found_values = [found.left, found.top, found.width, found.height]
    expected_values = [expected.left, expected.top, expected.width, expected.height]
    assert found_values == pytest.approx(expected_values, abs=tolerance)


# ---- pure arithmetic, no dlib -------------------------------------------------------------


def test_box_partly_outside_the_image_is_clamped_to_it() -> None:
    box = FaceBox.from_pixels(
        left=-20, top=10, right=60, bottom=130, image_width=100, image_height=100
    )
    assert (box.left, box.top, box.width, box.height) == (0.0, 0.1, 0.6, 0.9)


def test_fractions_convert_back_to_the_same_pixels() -> None:
    box = FaceBox.from_pixels(
        left=349, top=142, right=617, bottom=409, image_width=910, image_height=1137
    )
    assert box.to_pixels(image_width=910, image_height=1137) == (349, 142, 617, 409)
    assert box.to_pixels(image_width=455, image_height=568) == (174, 71, 308, 204)


def test_the_detection_setting_uses_a_standard_commons_width() -> None:
    assert DetectionConfig(thumb_width=500, upsample=1) == DETECTION
    assert DETECTION.thumb_width in COMMONS_WIDTHS


def test_detection_refuses_an_array_that_is_not_rgb_uint8() -> None:
    with pytest.raises(ValueError, match="RGB uint8"):
        detect_faces(np.zeros((10, 10), dtype=np.uint8))
    with pytest.raises(ValueError, match="RGB uint8"):
        detect_faces(np.zeros((10, 10, 3), dtype=np.float32))


def test_importing_detection_does_not_load_dlib() -> None:
    # The web process imports faceengine.detection for its types; it must not pay for the models.
    code = "import sys, faceengine.detection; print('dlib' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=settings.BASE_DIR,
    )
    assert result.stdout.strip() == "False"


# ---- real dlib ----------------------------------------------------------------------------


@pytest.mark.slow
def test_models_load_once_and_leave_pillow_strict() -> None:
    code = (
        "import sys; from PIL import ImageFile; from faceengine.detection import load_models; "
        "first = load_models(); "
        "print(first is load_models(), 'face_recognition' in sys.modules, "
        "ImageFile.LOAD_TRUNCATED_IMAGES)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=settings.BASE_DIR,
    )
    assert result.stdout.split() == ["True", "False", "False"]


@pytest.mark.slow
def test_obama_full_size_matches_face_recognition_to_a_millionth(manifest, references) -> None:
    faces = detect_faces(load_image(FACES / OBAMA), upsample=1)

    assert len(faces) == 1
    face = faces[0]
    assert references[OBAMA][0][0] == OBAMA_UPSTREAM_BOX
    assert_boxes_close(face.box, expected_box(manifest, OBAMA), tolerance=1e-9)
    assert (face.width_px, face.height_px, face.small) == (268, 267, False)
    assert face.encoding.dtype == np.float32
    assert face.encoding.shape == (128,)
    assert not face.encoding.flags.writeable
    np.testing.assert_allclose(face.encoding, references[OBAMA][0][1], atol=1e-6)


@pytest.mark.slow
def test_face_cut_by_the_image_edge_is_clamped_as_face_recognition_does(references) -> None:
    # In multi/07.jpg the detector's box for one face starts left of the image.
    file = "multi/07.jpg"
    rgb = load_image(FACES / file)
    height, width = rgb.shape[:2]
    faces = detect_faces(rgb, upsample=1)

    assert [face.box.left for face in faces].count(0.0) == 1
    expected = dict(references[file])
    for face in faces:
        left, top, right, bottom = face.box.to_pixels(image_width=width, image_height=height)
        reference = expected[(top, right, bottom, left)]
        np.testing.assert_allclose(face.encoding, reference, atol=1e-6)


@pytest.mark.slow
def test_thumbnail_gives_the_same_box_fractions_and_a_close_encoding(manifest, references) -> None:
    image = decode_image((FACES / OBAMA).read_bytes())
    faces = analyse_image(image, config=DETECTION)

    assert len(faces) == 1
    # HOG boxes come in steps of scale, so a thumbnail's box is near, not equal.
    assert_boxes_close(faces[0].box, expected_box(manifest, OBAMA), tolerance=0.05)
    distance = np.linalg.norm(faces[0].encoding - references[OBAMA][0][1])
    assert distance < 0.15  # same-person pairs here average 0.40; 0.6 is the usual cut-off


@pytest.mark.slow
def test_encode_box_reproduces_the_detector_encoding_from_stored_fractions(manifest) -> None:
    rgb = load_image(FACES / "multi" / "03.jpg")
    faces = detect_faces(rgb, upsample=1)

    assert len(faces) == int(manifest["multi/03.jpg"]["expected_faces"])
    for face in faces:
        np.testing.assert_array_equal(encode_box(rgb, face.box), face.encoding)


@pytest.mark.slow
def test_encode_box_of_a_reference_box_gives_the_reference_encoding(manifest, references) -> None:
    rgb = load_image(FACES / OBAMA)
    encoding = encode_box(rgb, expected_box(manifest, OBAMA))
    np.testing.assert_allclose(encoding, references[OBAMA][0][1], atol=1e-6)
    with pytest.raises(ValueError, match="empty face box"):
        encode_box(rgb, FaceBox(left=0.5, top=0.5, width=0.0, height=0.1))


@pytest.mark.slow
@pytest.mark.parametrize("file", ["multi/03.jpg", "multi/09.jpg", "multi/13.jpg"])
def test_group_photos_give_every_expected_face(manifest, file: str) -> None:
    image = decode_image((FACES / file).read_bytes())
    faces = analyse_image(image, config=DETECTION)

    assert len(faces) == int(manifest[file]["expected_faces"]) > 1
    boxes = {(face.box.left, face.box.top) for face in faces}
    assert len(boxes) == len(faces)
    for face in faces:
        assert 0 <= face.box.left <= face.box.left + face.box.width <= 1 + 1e-9
        assert 0 <= face.box.top <= face.box.top + face.box.height <= 1 + 1e-9


@pytest.mark.slow
def test_photos_without_people_give_no_faces() -> None:
    files = find_images(FACES / "none")
    assert len(files) >= 10
    for file in files:
        image = decode_image(file.read_bytes())
        assert analyse_image(image, config=DETECTION) == [], file.name


@pytest.mark.slow
def test_small_face_is_kept_and_flagged(references) -> None:
    image = decode_image((FACES / OBAMA).read_bytes())
    tiny = analyse_image(image, config=DetectionConfig(thumb_width=120, upsample=1))

    assert len(tiny) == 1
    assert tiny[0].small
    assert tiny[0].height_px < SMALL_FACE_HEIGHT_PX
    assert np.linalg.norm(tiny[0].encoding - references[OBAMA][0][1]) > 0.15


@pytest.mark.slow
def test_detected_face_is_immutable() -> None:
    face = detect_faces(load_image(FACES / "ariel_sharon" / "01.jpg"))[0]
    with pytest.raises(FrozenInstanceError):
        face.small = True  # type: ignore[misc]
    with pytest.raises(ValueError, match="read-only"):
        face.encoding[0] = 1.0


@pytest.fixture
def benchmark_folder(tmp_path: Path) -> Path:
    """Two real photos (linked, never copied), one broken file, and a manifest for them."""
    for folder, name, source in [
        ("group", "a.jpg", "multi/03.jpg"),
        ("single", "b.jpg", "ariel_sharon/01.jpg"),
    ]:
        (tmp_path / folder).mkdir()
        (tmp_path / folder / name).symlink_to(FACES / source)
    (tmp_path / "single" / "broken.jpg").write_bytes(b"<html>503 Service Unavailable</html>")
    (tmp_path / "manifest.csv").write_text(
        "file,expected_faces\ngroup/a.jpg,3\nsingle/b.jpg,1\nsingle/broken.jpg,\n"
    )
    return tmp_path


@pytest.mark.slow
def test_benchmark_counts_faces_bad_images_and_recall_per_folder(benchmark_folder: Path) -> None:
    report = run_benchmark(find_images(benchmark_folder))

    assert (report.images, report.faces, report.errors) == (3, 3, 1)
    assert {o.path.name: o.error for o in report.outcomes}["broken.jpg"] == "not_an_image"
    expected = read_expected_faces(benchmark_folder / "manifest.csv")
    rows = recall_by_folder(report.outcomes, expected=expected, root=benchmark_folder)
    by_folder = {row.folder: row for row in rows}
    assert (by_folder["group"].expected, by_folder["group"].matched) == (3, 2)
    assert by_folder["group"].recall == pytest.approx(2 / 3)
    assert (by_folder["single"].matched, by_folder["single"].uncounted_images) == (1, 1)


@pytest.mark.slow
def test_benchmark_command_ends_with_one_json_summary(benchmark_folder: Path) -> None:
    out = io.StringIO()
    call_command(
        benchmark_detection.Command(),
        images=str(benchmark_folder),
        json=True,
        stdout=out,
    )

    lines = out.getvalue().strip().splitlines()
    summary = json.loads(lines[-1])
    assert set(summary) == {
        "thumb_width",
        "upsample",
        "images",
        "faces",
        "seconds",
        "images_per_second",
        "faces_per_second",
        "peak_rss_mb",
    }
    assert (summary["thumb_width"], summary["images"], summary["faces"]) == (500, 3, 3)
    assert summary["faces_per_second"] == pytest.approx(3 / summary["seconds"], rel=0.01)
    assert summary["peak_rss_mb"] > 50
    assert any(line.startswith("group  1  3  2  2") for line in lines)


def test_benchmark_command_refuses_a_folder_without_images(tmp_path: Path) -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="no images"):
        call_command(benchmark_detection.Command(), images=str(tmp_path))


def test_decoded_image_of_a_file_and_its_bytes_agree() -> None:
    path = FACES / "ariel_sharon" / "01.jpg"
    np.testing.assert_array_equal(load_image(path), load_image(path.read_bytes()))
    assert load_image(path).shape == (250, 250, 3)
    assert isinstance(Image.fromarray(load_image(path)), Image.Image)
