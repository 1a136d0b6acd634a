"""Every user-visible string is translated into nb, es and fr (``make lint`` checks that the
catalogues hold every string of the code)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def entries(language: str, root: Path = ROOT) -> list[dict[str, str | bool]]:
    """The catalogue's entries as {msgid, msgstr…, fuzzy}; multi-line strings joined."""
    text = (root / "locale" / language / "LC_MESSAGES" / "django.po").read_text()
    found: list[dict[str, str | bool]] = []
    for block in text.split("\n\n"):
        entry: dict[str, str | bool] = {"fuzzy": "#, fuzzy" in block}
        key = None
        for line in block.splitlines():
            if line.startswith(("msgid", "msgstr")):
                key, _, rest = line.partition(" ")
                entry[key] = rest.strip()[1:-1]
            elif line.startswith('"') and key:
                entry[key] = str(entry[key]) + line[1:-1]
        if entry.get("msgid"):  # the header has an empty msgid
            found.append(entry)
    return found


@pytest.mark.parametrize("language", ["nb", "es", "fr"])
def test_catalogue_has_no_missing_or_fuzzy_translation(language):
    problems = [
        entry["msgid"]
        for entry in entries(language)
        if entry["fuzzy"] or not all(v for k, v in entry.items() if str(k).startswith("msgstr"))
    ]
    assert problems == []
    assert len(entries(language)) > 300


def test_a_missing_translation_would_be_noticed(tmp_path):
    catalogue = tmp_path / "locale" / "xx" / "LC_MESSAGES" / "django.po"
    catalogue.parent.mkdir(parents=True)
    catalogue.write_text(
        'msgid ""\nmsgstr ""\n\nmsgid "Yes"\nmsgstr ""\n\nmsgid "No"\nmsgstr "Nei"\n'
    )
    assert [e["msgid"] for e in entries("xx", tmp_path) if not e["msgstr"]] == ["Yes"]
