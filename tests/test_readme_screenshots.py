"""The README shows the main pages, from screenshots the browser tests make and commit."""

from __future__ import annotations

import re
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
MAIN_PAGES = {"classify", "suggestions", "send", "project"}
MAX_BYTES = 300_000


def shown_in_readme() -> list[Path]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    return [ROOT / path for path in re.findall(r"\]\((docs/screenshots/[^)]+\.png)\)", readme)]


def test_the_readme_shows_a_screenshot_of_each_main_page():
    assert {path.stem for path in shown_in_readme()} >= MAIN_PAGES


def test_each_screenshot_is_committed_small_and_desktop_sized():
    for path in shown_in_readme():
        assert path.stat().st_size < MAX_BYTES, path
        with Image.open(path) as image:
            assert image.size == (1280, 900), path


def test_the_readme_says_how_to_make_them_again():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "WIKIVISAGE_SCREENSHOTS=docs/screenshots" in readme
