"""A small world of real photos and broken files, served by the offline stand-in."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from PIL import Image as PILImage

from tests.factories import ProjectFactory, UserFactory

FACES = Path(settings.FACES_DATA_DIR)


def manifest() -> dict[str, dict[str, str]]:
    with (FACES / "manifest.csv").open(newline="") as handle:
        return {row["file"]: row for row in csv.DictReader(handle)}


PHOTOS = {
    "Obama 1.jpg": "barack_obama/01.jpg",
    "Obama 2.jpg": "barack_obama/02.jpg",
    "Obama 3.jpg": "barack_obama/03.jpg",
    "Obama 4.jpg": "barack_obama/04.jpg",
    "Obama with a friend.jpg": "multi/01.jpg",
    "Three people.jpg": "multi/02.jpg",
    "A dog.jpg": "none/01.jpg",
}


def write_bad_files(folder: Path) -> dict[str, Path]:
    """Every kind of broken download a Commons thumbnail URL can hand a worker."""
    good = (FACES / "barack_obama/01.jpg").read_bytes()
    files = {
        "Empty.jpg": b"",
        "Error page.jpg": b"<!DOCTYPE html><html><body><h1>503 Unavailable</h1></body></html>",
        "Truncated.jpg": good[: len(good) // 3],
        "Garbage.jpg": b"\xff\xd8\xff\xe0" + bytes(range(256)) * 40,
        "Bomb.png": _png_header(60000, 60000),
        "Animated.gif": _animated_gif(),
        "Pages.tiff": _multipage_tiff(),
    }
    paths = {}
    for name, data in files.items():
        path = folder / name
        path.write_bytes(data)
        paths[name] = path
    return paths


def _png_header(width: int, height: int) -> bytes:
    """A PNG that declares a huge canvas: a decompression bomb for a naive decoder."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    body = zlib.compress(b"\x00" * 1024)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")
    )


def _animated_gif() -> bytes:
    face = PILImage.open(FACES / "barack_obama/02.jpg").convert("RGB")
    frames = [face, PILImage.new("RGB", face.size, (0, 0, 0))]
    out = io.BytesIO()
    frames[0].save(out, format="GIF", save_all=True, append_images=frames[1:], duration=200)
    return out.getvalue()


def _multipage_tiff() -> bytes:
    face = PILImage.open(FACES / "barack_obama/03.jpg").convert("RGB")
    out = io.BytesIO()
    face.save(out, format="TIFF", save_all=True, append_images=[PILImage.new("RGB", (64, 64))])
    return out.getvalue()


@pytest.fixture
def pipeline_world(tmp_path: Path) -> dict[str, Any]:
    bad = write_bad_files(tmp_path)
    files: dict[str, Any] = {name: {"path": str(FACES / path)} for name, path in PHOTOS.items()}
    files["Obama 1.jpg"]["depicts"] = ["Q76"]
    files["Three people.jpg"]["depicts"] = ["Q207"]
    files.update({name: {"path": str(path)} for name, path in bad.items()})
    files["Diagram.svg"] = {"generate": {"format": "SVG", "width": 100, "height": 100}}
    return {
        "items": {
            "Q76": {
                "labels": {"en": "Barack Obama", "fr": "Barack Obama"},
                "P31": ["Q5"],
                "P18": "Obama 1.jpg",
            },
            "Q207": {"labels": {"en": "George W. Bush"}, "P31": ["Q5"]},
        },
        "categories": {
            "Barack Obama": {
                "files": ["Obama 1.jpg", "Obama 2.jpg", "Diagram.svg"],
                "subcats": ["Barack Obama in 2009"],
            },
            "Barack Obama in 2009": {
                "files": ["Obama 3.jpg", "Obama with a friend.jpg", "Three people.jpg"],
                "subcats": ["Barack Obama", "Barack Obama at events"],
            },
            "Barack Obama at events": {"files": ["Obama 4.jpg"], "subcats": []},
            "Broken files": {"files": ["A dog.jpg", *bad], "subcats": []},
        },
        "files": files,
    }


@pytest.fixture
def stand_in(make_fake_commons, pipeline_world):
    return make_fake_commons(pipeline_world)


@pytest.fixture
def obama_project(db):
    return ProjectFactory(owner=UserFactory(), qid="Q76", category="Barack Obama", crawl_depth=2)
