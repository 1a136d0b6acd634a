"""The journey's small world: one person's category of single-face photos, half of them theirs.

Built from the shared face manifest; file paths are absolute, so the world file can live in a
temporary folder while the photos stay where they are (``World.load`` joins a path to the
file's folder, and an absolute path wins).
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

PERSON = "tony_blair"
PERSON_QID = "Q9545"
PERSON_LABEL = "Tony Blair"
CATEGORY = "Tony Blair at the WikiVisage journey"
PERSON_PHOTOS = 10
OTHER_PHOTOS = 10
USER = "WikiVisage Tester"
HUMAN = "Q5"


@dataclass(frozen=True)
class JourneyWorld:
    """What the walk needs to know about the world: the person, the category, the truth."""

    path: Path
    qid: str
    label: str
    category: str
    user: str
    identity_of: dict[str, str]  # file name (no "File:") → identity in the manifest

    @property
    def photos(self) -> int:
        return len(self.identity_of)

    def shows_person(self, title: str) -> bool:
        return self.identity_of[title.removeprefix("File:")] == PERSON


def write_journey_world(manifest: Path, folder: Path) -> JourneyWorld:
    """Writes ``folder/world.json`` and describes it."""
    single_faced = _single_face_photos(manifest)
    chosen = _person_and_others(single_faced)
    files = {name: {"path": str(path)} for name, (path, _) in chosen.items()}
    portrait = next(name for name, (_, identity) in chosen.items() if identity == PERSON)
    world = {
        "items": _items(portrait),
        "categories": {CATEGORY: {"files": list(files), "subcats": []}},
        "files": files,
        "users": {USER: {"id": 4242, "groups": ["*", "user", "autoconfirmed"]}},
    }
    path = folder / "world.json"
    path.write_text(json.dumps(world, indent=2), encoding="utf-8")
    identity_of = {name: identity for name, (_, identity) in chosen.items()}
    return JourneyWorld(path, PERSON_QID, PERSON_LABEL, CATEGORY, USER, identity_of)


def _single_face_photos(manifest: Path) -> dict[str, list[Path]]:
    """Identity → its photos that hold exactly one face, by the manifest and by dlib."""
    photos: dict[str, list[Path]] = defaultdict(list)
    with manifest.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["expected_faces"] == row["detected_faces"] == "1":
                photos[row["identity"]].append((manifest.parent / row["file"]).resolve())
    return photos


def _person_and_others(photos: dict[str, list[Path]]) -> dict[str, tuple[Path, str]]:
    """File name → (photo, identity): the person's photos, then one photo each of others."""
    chosen = {
        f"{PERSON_LABEL} {number:02d}.jpg": (path, PERSON)
        for number, path in enumerate(photos[PERSON][:PERSON_PHOTOS], start=1)
    }
    others = sorted(identity for identity in photos if identity != PERSON)
    for number, identity in enumerate(others[:OTHER_PHOTOS], start=1):
        chosen[f"Someone else {number:02d}.jpg"] = (photos[identity][0], identity)
    return chosen


def _items(portrait: str) -> dict[str, dict[str, object]]:
    person = {
        "labels": {"en": PERSON_LABEL, "fr": PERSON_LABEL, "es": PERSON_LABEL, "nb": PERSON_LABEL},
        "descriptions": {"en": "Prime Minister of the United Kingdom from 1997 to 2007"},
        "P31": [HUMAN],
        "P18": portrait,
    }
    human = {"labels": {"en": "human"}, "descriptions": {"en": "any member of Homo sapiens"}}
    return {PERSON_QID: person, HUMAN: human}
