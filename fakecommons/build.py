"""A world built from ../shared/data/faces/manifest.csv, for tests, the demo and benchmarks.

1. Every named identity becomes a person item (P31 = Q5, P18 = its first photo) with a
   category of its photos; identities with four or more photos get a subcategory holding the
   second half. Barack Obama's subcategory has a deeper one that links back to him (a loop),
   and the group-photo category links back to the root (another loop).
2. The first photo of each person already depicts them (P180), so the bootstrap search has
   something to find; Barack Obama's carries a P2677 face box as well.
3. Distractors, group photos and faceless photos get categories of their own; some of them
   have no structured data at all (``"mediainfo": false``).
4. A media-formats category mixes bitmaps in other formats (PNG, WebP, GIF, TIFF converted
   from a face photo), a byte-identical duplicate, a file no decoder can read, and non-bitmaps
   (SVG, PDF, Ogg, WebM, DjVu) that a crawler must skip.
5. Wikidata gets Q5, a non-human item, a redirect to Barack Obama, a deleted item.
6. Optionally, a separate category of N synthetic members (small generated JPEGs) for
   continuation tests; it is not under the root, so crawling the root stays fast.
7. Optionally, more statements (``statements``: the share of each person's photos that
   depict them, the first always), a share of them wrong (``wrong_statements``): such a
   file, a photo of anybody else (another person, a stranger, a group, no face), gets P180
   for the person besides its own. Drawn with ``seed``; ``fixtures["statements"]`` maps
   each person's Q-id to its stated files, ``fixtures["wrong_statements"]`` to the wrong
   ones among them.

``fixtures`` in the result names all of these so tests need not hard-code them:
``root_category``; ``people`` (identity slug → Q-id) and ``person_categories`` (slug →
category); ``depicted`` (file → the Q-id it already depicts); ``loop`` (person, subcategory,
deeper subcategory that links back) and ``root_loop``; ``without_mediainfo`` (files with no
structured data); ``formats_category``, ``bitmap_variants`` (PNG, WebP, GIF, TIFF, copy),
``duplicate_of`` (copy → original), ``broken_file``, ``non_bitmap_files`` (SVG, PDF, Ogg,
WebM, DjVu); ``human``, ``non_human``, ``redirect`` ({from, to}), ``deleted``, ``absent``;
``synthetic_category`` and ``synthetic_members`` when asked for.
"""

from __future__ import annotations

import csv
import math
import os
import random
import zlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT_CATEGORY = "WikiVisage test faces"
GROUP_CATEGORY = "Group photos in the WikiVisage test faces"
DISTRACTOR_CATEGORY = "Unidentified people in the WikiVisage test faces"
NO_FACE_CATEGORY = "Photos without faces in the WikiVisage test faces"
FORMATS_CATEGORY = "WikiVisage test media formats"
SYNTHETIC_CATEGORY = "WikiVisage synthetic members"
HUMAN = "Q5"
NON_HUMAN = "Q144"
REDIRECT_FROM = "Q189999001"
DELETED = "Q189999002"
ABSENT = "Q189999003"
LOOP_PERSON = "barack_obama"
USERS = {
    "WikiVisage Tester": {"id": 4242, "groups": ["*", "user", "autoconfirmed"], "editcount": 5120},
    "WikiVisage Newcomer": {"id": 4243, "groups": ["*", "user"], "editcount": 3},
    "WikiVisage Blocked": {"id": 4244, "groups": ["*", "user"], "blocked": True},
}
# Real Wikidata ids of the people whose ids are well known; the rest get ids far above any
# item Wikidata has (Q190000000+), so they cannot be mistaken for real ones.
KNOWN_QIDS = {
    "barack_obama": "Q76",
    "george_w_bush": "Q207",
    "tony_blair": "Q9545",
    "vladimir_putin": "Q7747",
    "arnold_schwarzenegger": "Q2685",
    "joe_biden": "Q6279",
    "guido_van_rossum": "Q30997",
    "steve_wozniak": "Q483382",
    "serena_williams": "Q11459",
    "jacques_chirac": "Q2105",
    "hugo_chavez": "Q8440",
    "gerhard_schroeder": "Q2530",
}
LABELS = {
    "george_w_bush": "George W. Bush",
    "gerhard_schroeder": "Gerhard Schröder",
    "hugo_chavez": "Hugo Chávez",
    "guido_van_rossum": "Guido van Rossum",
    "gloria_macapagal_arroyo": "Gloria Macapagal Arroyo",
}
OTHER_KINDS = {"unknown": "Unidentified person", "multi": "Group photo", "none": "No face"}


@dataclass(frozen=True)
class Photo:
    path: Path
    identity: str
    number: str  # "01", "007": the file's stem in the manifest
    width: int
    height: int
    face_box: tuple[int, int, int, int] | None  # top, right, bottom, left


def person_qid(identity: str) -> str:
    return KNOWN_QIDS.get(identity) or f"Q{190_000_000 + zlib.crc32(identity.encode()) % 1_000_000}"


def person_label(identity: str) -> str:
    if identity in LABELS:
        return LABELS[identity]
    if identity.startswith("deepface_person_"):
        return f"Test person {identity.rsplit('_', 1)[1]}"
    return " ".join(word.capitalize() for word in identity.split("_"))


def build_world_from_manifest(
    manifest_csv: Path,
    *,
    synthetic_members: int = 0,
    relative_to: Path | None = None,
    max_per_identity: int | None = None,
    max_others: int | None = None,
    statements: float = 0.0,
    wrong_statements: float = 0.0,
    seed: int = 0,
) -> dict[str, Any]:
    """The world dict (see world.py) of the face data set; paths absolute unless
    ``relative_to`` is given (then relative to that directory, for a world file there)."""
    photos = _read_manifest(Path(manifest_csv))
    people, others = _split(photos, max_per_identity, max_others)
    builder = _Builder(relative_to)
    for identity, own in sorted(people.items()):
        builder.add_person(identity, own)
    builder.add_others(others)
    if statements or wrong_statements:
        builder.add_statements(statements, wrong_statements, seed=seed)
    builder.add_formats(people[LOOP_PERSON][0] if LOOP_PERSON in people else photos[0])
    builder.add_wikidata_fixtures()
    if synthetic_members:
        builder.add_synthetic(synthetic_members)
    return builder.world()


def _read_manifest(manifest: Path) -> list[Photo]:
    with manifest.open(encoding="utf-8", newline="") as handle:
        return [_photo(manifest.parent, row) for row in csv.DictReader(handle)]


def _photo(base: Path, row: dict[str, str]) -> Photo:
    box = row.get("largest_face_box") or ""
    parts = [int(p) for p in box.split(";")] if box.count(";") == 3 else None
    return Photo(
        path=(base / row["file"]).resolve(),
        identity=row["identity"],
        number=Path(row["file"]).stem,
        width=int(row.get("width") or 0),
        height=int(row.get("height") or 0),
        face_box=(parts[0], parts[1], parts[2], parts[3]) if parts else None,
    )


def _split(
    photos: Iterable[Photo], max_per_identity: int | None, max_others: int | None
) -> tuple[dict[str, list[Photo]], dict[str, list[Photo]]]:
    people: dict[str, list[Photo]] = defaultdict(list)
    others: dict[str, list[Photo]] = defaultdict(list)
    for photo in photos:
        (others if photo.identity in OTHER_KINDS else people)[photo.identity].append(photo)
    return _capped(people, max_per_identity), _capped(others, max_others)


def _capped(groups: dict[str, list[Photo]], cap: int | None) -> dict[str, list[Photo]]:
    return {key: (rows[:cap] if cap else rows) for key, rows in groups.items()}


class _Builder:
    def __init__(self, relative_to: Path | None) -> None:
        self.relative_to = relative_to.resolve() if relative_to else None
        self.files: dict[str, dict[str, Any]] = {}
        self.categories: dict[str, dict[str, list[str]]] = {
            ROOT_CATEGORY: {"files": [], "subcats": []}
        }
        self.items: dict[str, dict[str, Any]] = {}
        self.files_of_person: dict[str, list[str]] = {}
        self._photo_files: list[str] = []  # the manifest's photos, in the order added
        self.fixtures: dict[str, Any] = {
            "root_category": ROOT_CATEGORY,
            "people": {},
            "person_categories": {},
            "depicted": {},
            "without_mediainfo": [],
        }

    def world(self) -> dict[str, Any]:
        return {
            "items": self.items,
            "categories": self.categories,
            "files": self.files,
            "users": USERS,
            "fixtures": self.fixtures,
        }

    def _path(self, path: Path) -> str:
        return os.path.relpath(path, self.relative_to) if self.relative_to else str(path)

    def _category(self, name: str, *, parent: str | None) -> dict[str, list[str]]:
        category = self.categories.setdefault(name, {"files": [], "subcats": []})
        if parent is not None:
            self.categories[parent]["subcats"].append(name)
        return category

    # --- people ----------------------------------------------------------------------------

    def add_person(self, identity: str, photos: list[Photo]) -> None:
        qid, label = person_qid(identity), person_label(identity)
        names = [f"{label} {photo.number}.jpg" for photo in photos]
        for name, photo in zip(names, photos, strict=True):
            self.files[name] = {"path": self._path(photo.path)}
        self.files_of_person[identity] = names
        self._photo_files.extend(names)
        self.files[names[0]]["depicts"] = [self._depicts(qid, photos[0], identity)]
        self.files[names[0]]["captions"] = {"en": f"{label}, a photo of the WikiVisage test faces"}
        self.fixtures["depicted"][names[0]] = qid
        self.items[qid] = self._person_item(identity, label, names[0])
        self.fixtures["people"][identity] = qid
        self.fixtures["person_categories"][identity] = label
        self._person_categories(identity, label, names)

    def _depicts(self, qid: str, photo: Photo, identity: str) -> str | dict[str, Any]:
        if identity != LOOP_PERSON or photo.face_box is None or not photo.width:
            return qid
        return {"item": qid, "region": _pct_region(photo), "rank": "preferred"}

    def _person_item(self, identity: str, label: str, image: str) -> dict[str, Any]:
        labels = {"en": label}
        if not identity.startswith("deepface_person_"):
            # Unnamed test people have English labels only: other languages fall back.
            labels.update(fr=label, es=label, nb=label)
        description = f"person in the WikiVisage test faces ({identity})"
        return {"labels": labels, "descriptions": {"en": description}, "P31": [HUMAN], "P18": image}

    def _person_categories(self, identity: str, label: str, names: list[str]) -> None:
        category = self._category(label, parent=ROOT_CATEGORY)
        half = math.ceil(len(names) / 2) if len(names) >= 4 else len(names)
        category["files"].extend(names[:half])
        if half == len(names):
            return
        year = 2001 + zlib.crc32(identity.encode()) % 20
        sub = self._category(f"{label} in {year}", parent=label)
        sub["files"].extend(names[half:])
        if identity == LOOP_PERSON:
            self._loop(label, f"{label} in {year}", names[-1])

    def _loop(self, person: str, sub: str, last_file: str) -> None:
        deeper = f"{sub} at public events"
        self._category(deeper, parent=sub)["files"].append(last_file)
        self.categories[deeper]["subcats"].append(person)
        self.fixtures["loop"] = [person, sub, deeper]

    # --- everything else ---------------------------------------------------------------------

    def add_others(self, others: dict[str, list[Photo]]) -> None:
        targets = {
            "unknown": DISTRACTOR_CATEGORY,
            "multi": GROUP_CATEGORY,
            "none": NO_FACE_CATEGORY,
        }
        for kind, category_name in targets.items():
            category = self._category(category_name, parent=ROOT_CATEGORY)
            for position, photo in enumerate(others.get(kind, [])):
                name = f"{OTHER_KINDS[kind]} {photo.number}.jpg"
                self.files[name] = {"path": self._path(photo.path)}
                self._photo_files.append(name)
                if position % 2:
                    self.files[name]["mediainfo"] = False
                    self.fixtures["without_mediainfo"].append(name)
                category["files"].append(name)
        self.categories[GROUP_CATEGORY]["subcats"].append(ROOT_CATEGORY)
        self.fixtures["root_loop"] = [ROOT_CATEGORY, GROUP_CATEGORY]

    def add_statements(self, share: float, wrong: float, *, seed: int) -> None:
        """More P180 statements of each person: ``share`` of their photos (at least the
        first), and wrong ones, ``wrong`` of all statements, on files not of the person."""
        rng = random.Random(seed)
        stated: dict[str, list[str]] = {}
        own_files: dict[str, set[str]] = {}
        for identity, qid in sorted(self.fixtures["people"].items()):
            own = self.files_of_person[identity]
            own_files[qid] = set(own)
            count = max(1, round(share * len(own)))
            stated[qid] = [own[0], *rng.sample(own[1:], count - 1)]
        right = sum(len(files) for files in stated.values())
        owners = [qid for qid, files in stated.items() for _ in files]
        wrong_of: dict[str, list[str]] = {qid: [] for qid in stated}
        for _ in range(round(right * wrong / (1 - wrong)) if wrong < 1 else 0):
            qid = rng.choice(owners)  # a person with more statements gets more wrong ones
            taken = own_files[qid].union(wrong_of[qid])
            name = rng.choice([n for n in self._photo_files if n not in taken])
            wrong_of[qid].append(name)
        for qid, files in stated.items():
            for name in files[1:] + wrong_of[qid]:
                self.files[name].setdefault("depicts", []).append(qid)
        self.fixtures["statements"] = {q: stated[q] + wrong_of[q] for q in stated}
        self.fixtures["wrong_statements"] = wrong_of

    def add_formats(self, source: Photo) -> None:
        category = self._category(FORMATS_CATEGORY, parent=ROOT_CATEGORY)
        label, path = person_label(source.identity), self._path(source.path)
        bitmaps: dict[str, dict[str, Any]] = {
            f"{label} {source.number} (PNG).png": {"generate": {"format": "PNG", "from": path}},
            f"{label} {source.number} (WebP).webp": {"generate": {"format": "WEBP", "from": path}},
            f"{label} {source.number} (GIF).gif": {"generate": {"format": "GIF", "from": path}},
            f"{label} {source.number} (TIFF).tif": {"generate": {"format": "TIFF", "from": path}},
            f"{label} {source.number} (copy).jpg": {"path": path},
            "Broken upload.jpg": {
                "generate": {"format": "BROKEN", "seed": 3},
                "width": 800,
                "height": 600,
            },
        }
        others: dict[str, dict[str, Any]] = {
            "WikiVisage test diagram.svg": {
                "generate": {"format": "SVG", "width": 400, "height": 300}
            },
            "WikiVisage test document.pdf": {
                "generate": {"format": "PDF", "width": 595, "height": 842}
            },
            "WikiVisage test recording.ogg": {"generate": {"format": "OGG", "seed": 1}},
            "WikiVisage test clip.webm": {
                "generate": {"format": "WEBM", "seed": 2},
                "width": 640,
                "height": 360,
            },
            "WikiVisage test scan.djvu": {
                "generate": {"format": "DJVU", "seed": 4},
                "width": 1000,
                "height": 1400,
            },
        }
        self.files.update(bitmaps)
        self.files.update(others)
        category["files"].extend([*bitmaps, *others])
        self.fixtures.update(
            formats_category=FORMATS_CATEGORY,
            bitmap_variants=list(bitmaps)[:5],
            broken_file="Broken upload.jpg",
            duplicate_of={f"{label} {source.number} (copy).jpg": f"{label} {source.number}.jpg"},
            non_bitmap_files=list(others),
        )

    def add_wikidata_fixtures(self) -> None:
        self.items[HUMAN] = {
            "labels": {"en": "human", "fr": "être humain", "es": "ser humano", "nb": "menneske"},
            "descriptions": {"en": "any member of Homo sapiens"},
            "P31": ["Q55983715"],
        }
        self.items[NON_HUMAN] = {
            "labels": {"en": "dog", "fr": "chien", "es": "perro", "nb": "hund"},
            "descriptions": {"en": "domestic animal"},
            "aliases": {"en": ["domestic dog"]},
            "P31": ["Q55983715"],
        }
        self.items["Q55983715"] = {"labels": {"en": "organisms known by a particular common name"}}
        target = self.fixtures["people"].get(
            LOOP_PERSON, next(iter(self.fixtures["people"].values()))
        )
        self.items[REDIRECT_FROM] = {"redirect": target}
        self.items[DELETED] = {"missing": True}
        self.fixtures.update(
            human=HUMAN,
            non_human=NON_HUMAN,
            redirect={"from": REDIRECT_FROM, "to": target},
            deleted=DELETED,
            absent=ABSENT,
        )

    def add_synthetic(self, count: int) -> None:
        category = self._category(SYNTHETIC_CATEGORY, parent=None)
        for number in range(1, count + 1):
            name = f"Synthetic member {number:05d}.jpg"
            self.files[name] = {
                "generate": {"format": "JPEG", "width": 64, "height": 48, "seed": number}
            }
            category["files"].append(name)
        self.fixtures["synthetic_category"] = SYNTHETIC_CATEGORY
        self.fixtures["synthetic_members"] = count


def _pct_region(photo: Photo) -> str:
    """The face box as a IIIF ``pct:x,y,w,h`` region (P2677), in percent of the full image."""
    assert photo.face_box is not None
    top, right, bottom, left = photo.face_box
    x, y = 100 * left / photo.width, 100 * top / photo.height
    w, h = 100 * (right - left) / photo.width, 100 * (bottom - top) / photo.height
    return f"pct:{x:.2f},{y:.2f},{w:.2f},{h:.2f}"
