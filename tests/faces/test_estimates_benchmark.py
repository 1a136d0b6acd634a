"""The estimates benchmark's machinery on one identity, so that it cannot rot."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]


def test_the_estimates_benchmark_sets_each_answer_s_estimates_against_the_truth() -> None:
    result = subprocess.run(
        [
            sys.executable, "benchmarks/estimates.py", "--seeds", "1", "--threshold", "0.6",
            "--target", "colin_powell", "--answers", "6", "--every",
        ],
        cwd=ROOT,
        env={"FACES_DATA_DIR": str(settings.FACES_DATA_DIR), "PATH": ""},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )  # fmt: skip
    lines = result.stdout.splitlines()
    moments = [line for line in lines if "recall est" in line]
    assert moments and all("true" in line for line in moments)
    assert "'worst_gap'" in lines[-2]
    assert lines[-1].startswith("worst gap: precision ")
