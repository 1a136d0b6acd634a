"""The numpy face network (faceengine.resnet) against dlib's, on chips and photos it never saw."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from django.conf import settings

from faceengine import resnet
from faceengine.detection import FaceBox, encode_box, load_image

FACES: Path = settings.FACES_DATA_DIR
# float32 sums in another order: measured differences are about 3e-7 on descriptors whose
# values reach 0.3; same-person distances are about 0.4 and the usual cut-off 0.6.
TOLERANCE = 1e-5


@pytest.fixture(scope="module")
def dlib_network():
    import dlib
    import face_recognition_models

    return dlib.face_recognition_model_v1(face_recognition_models.face_recognition_model_location())


def _dlib_descriptor(network, chip: np.ndarray) -> np.ndarray:
    # dlib's overload for a chip that is already aligned and 150x150: the network alone.
    return np.asarray(network.compute_face_descriptor(chip), dtype=np.float32)


@pytest.mark.slow
def test_random_and_extreme_chips_get_dlibs_descriptors(dlib_network) -> None:
    rng = np.random.default_rng(7)
    chips = [rng.integers(0, 256, (150, 150, 3), dtype=np.uint8) for _ in range(6)]
    chips += [np.zeros((150, 150, 3), np.uint8), np.full((150, 150, 3), 255, np.uint8)]
    smooth = np.linspace(0, 255, 150, dtype=np.float32)
    chips.append(np.stack([np.add.outer(smooth, smooth) / 2] * 3, axis=-1).astype(np.uint8))
    network = resnet.load()

    for chip in chips:
        mine = network.describe(chip[None])[0]
        assert mine.dtype == np.float32 and mine.shape == (128,)
        np.testing.assert_allclose(mine, _dlib_descriptor(dlib_network, chip), atol=TOLERANCE)


@pytest.mark.slow
def test_a_batch_gives_each_chip_its_own_descriptor(dlib_network) -> None:
    rng = np.random.default_rng(11)
    chips = rng.integers(0, 256, (3, 150, 150, 3), dtype=np.uint8)

    batch = resnet.load().describe(chips)

    assert batch.shape == (3, 128)
    for chip, mine in zip(chips, batch, strict=True):
        np.testing.assert_allclose(mine, _dlib_descriptor(dlib_network, chip), atol=TOLERANCE)


@pytest.mark.slow
def test_every_reference_face_of_the_shared_photos_is_reproduced() -> None:
    """face_recognition's encodings of every face in the shared photos (its own boxes)."""
    archive = np.load(FACES / "reference_encodings.npz")
    images: dict[str, np.ndarray] = {}
    worst = 0.0
    for name, (top, right, bottom, left), reference in zip(
        archive["image_file"], archive["box_trbl"], archive["encoding"], strict=True
    ):
        rgb = images.get(str(name))
        if rgb is None:
            rgb = images[str(name)] = load_image(FACES / str(name))
        height, width = rgb.shape[:2]
        box = FaceBox.from_pixels(
            left=int(left),
            top=int(top),
            right=int(right),
            bottom=int(bottom),
            image_width=width,
            image_height=height,
        )
        worst = max(worst, float(np.abs(encode_box(rgb, box) - reference).max()))

    assert len(archive["encoding"]) > 400
    assert worst < TOLERANCE


def test_the_model_file_is_read_layer_by_layer() -> None:
    network = resnet.load()

    assert network.stem.matrix.shape == (7 * 7 * 3, 32)
    assert (network.stem.stride, network.stem.padding) == (2, 0)
    assert (network.stem_pool.size, network.stem_pool.stride) == (3, 2)
    assert [block.conv2.matrix.shape[1] for block in network.blocks] == (
        [32] * 3 + [64] * 4 + [128] * 3 + [256] * 3 + [256]
    )
    downs = [block.shortcut is not None for block in network.blocks]
    assert [i for i, down in enumerate(downs) if down] == [3, 7, 10, 13]
    assert network.projection.shape == (256, 128)


def test_another_model_file_is_refused() -> None:
    import face_recognition_models

    landmarks = Path(face_recognition_models.pose_predictor_five_point_model_location())
    with pytest.raises(resnet.ModelFileError, match="not those of"):
        resnet.parse(landmarks.read_bytes())
    with pytest.raises(resnet.ModelFileError, match="not those of"):
        resnet.parse(b"")


def test_a_truncated_model_file_is_refused() -> None:
    import face_recognition_models

    data = Path(face_recognition_models.face_recognition_model_location()).read_bytes()
    with pytest.raises(resnet.ModelFileError):
        resnet.parse(data[: len(data) // 2])


@pytest.mark.parametrize(
    "chips",
    [
        np.zeros((1, 150, 150, 3), np.float32),
        np.zeros((1, 149, 150, 3), np.uint8),
        np.zeros((150, 150, 3), np.uint8),
        np.zeros((1, 150, 150, 4), np.uint8),
    ],
    ids=["float", "149 rows", "no batch axis", "four channels"],
)
def test_chips_of_another_shape_or_type_are_refused(chips: np.ndarray) -> None:
    with pytest.raises(ValueError, match="150, 150, 3"):
        resnet.load().describe(chips)
