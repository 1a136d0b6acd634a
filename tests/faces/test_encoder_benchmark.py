"""The encoder benchmark's machinery on a few faces, so that it cannot rot (no timings)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_the_encoder_benchmark_compares_both_networks_on_real_faces() -> None:
    result = subprocess.run(
        [sys.executable, "benchmarks/encoder.py", "--faces", "3", "--json"],
        cwd=ROOT,
        env={"FACES_DATA_DIR": str(settings.FACES_DATA_DIR), "PATH": ""},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    figures = json.loads(result.stdout.splitlines()[-1])
    assert figures["faces"] == 3
    assert figures["dlib_seconds"] > 0 and figures["numpy_seconds"] > 0
    assert figures["largest_difference"] < 1e-5
    assert result.stdout.startswith("3 faces: dlib-bin ")


def test_a_folder_without_faces_is_a_clear_error(tmp_path) -> None:
    result = subprocess.run(
        [sys.executable, "benchmarks/encoder.py", "--images", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert f"no faces found in {tmp_path}" in result.stderr
