"""Simulate a truthful reviewer on a labelled manifest and count the answers the learner needs.

A scenario takes one identity of the manifest as the project's person and every other image
as the crowd. Faces come from the real detection code (cached beside the CSV), questions and
suggestions from the real learning code; the simulated reviewer answers from the manifest.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from faces import learning
from faces.learning import Evidence, Strategy, Verdict

CHECKPOINTS = (10, 20, 50)
TARGET_PRECISION = 0.99
TARGET_RECALL = 0.95
NOT_A_PERSON = frozenset({"unknown", "multi", "none"})
GROUP_PHOTOS = "multi"
CACHE_VERSION = "1"

PERSON, OTHER, UNKNOWN = 1, 0, -1


@dataclass(frozen=True)
class FaceTable:
    """Every face found in the manifest's images: its file, box size and encoding."""

    files: np.ndarray
    areas: np.ndarray
    encodings: np.ndarray

    def restricted_to(self, files: set[str]) -> FaceTable:
        keep = np.array([str(name) in files for name in self.files], dtype=bool)
        return FaceTable(self.files[keep], self.areas[keep], self.encodings[keep])


@dataclass(frozen=True)
class Scenario:
    """One identity as the person; ``truth`` is PERSON, OTHER or UNKNOWN for each face."""

    identity: str
    encodings: np.ndarray
    image_index: np.ndarray
    truth: np.ndarray

    @property
    def targets(self) -> int:
        return int((self.truth == PERSON).sum())


@dataclass(frozen=True)
class Snapshot:
    """Human yes plus suggestions against the truth, and what the learner estimated."""

    precision: float
    recall: float
    estimate: learning.Estimate

    @property
    def on_target(self) -> bool:
        return self.precision >= TARGET_PRECISION and self.recall >= TARGET_RECALL


@dataclass(frozen=True)
class Run:
    identity: str
    answers_to_target: int
    after: dict[int, Snapshot]


class Command(BaseCommand):
    help = (
        "Simulate a reviewer who answers truthfully on the images of a manifest (CSV with "
        "columns file and identity, paths relative to the CSV) and report how many answers "
        "the learner needs until human yes answers plus suggestions reach 95% recall at "
        "99% precision, and precision/recall after 10, 20 and 50 answers. Each seed picks "
        "which image of the person is the project's Wikidata image (P18), asked first unless "
        "--no-hint. Faces of group photos (identity 'multi') are not named by the manifest: "
        "the reviewer skips them and they are left out of precision and recall, unless "
        "--group-photos no. The centroid strategy (the anchor's rule) asks at random after "
        "the P18 face. Detected faces are cached beside the CSV, or under "
        "WIKIVISAGE_DATA_DIR when that folder is read-only."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--manifest", required=True, type=Path, help="the manifest CSV")
        parser.add_argument(
            "--target",
            required=True,
            help="identity taken as the person; several separated by commas; 'all' for every "
            "identity with at least --min-images images",
        )
        parser.add_argument("--min-images", type=int, default=4, help="for --target all")
        parser.add_argument(
            "--strategy",
            choices=[*Strategy, "both"],
            default=Strategy.DEFAULT.value,
            help="'both' runs default and centroid on the same scenarios and seeds",
        )
        parser.add_argument("--seeds", type=int, default=5, help="runs per identity")
        parser.add_argument(
            "--threshold",
            type=float,
            default=learning.DEFAULT_THRESHOLD,
            help="same-person distance, as a project's distance_threshold",
        )
        parser.add_argument(
            "--no-hint", action="store_true", help="no P18 face: start from the densest cluster"
        )
        parser.add_argument(
            "--group-photos",
            choices=["unknown", "no"],
            default="unknown",
            help="truth for faces of 'multi' images: unknown (skipped) or no",
        )
        parser.add_argument(
            "--encodings",
            type=Path,
            help="precomputed faces (npz with image_file, encoding, box_trbl, as "
            "reference_encodings.npz) instead of running detection",
        )
        parser.add_argument(
            "--json",
            action="store_true",
            help="print one JSON object per strategy, one per line, instead of tables",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        manifest: Path = options["manifest"]
        if not manifest.is_file():
            raise CommandError(f"no manifest at {manifest}")
        rows = read_manifest(manifest)
        identities = _targets(rows, options["target"], options["min_images"])
        table = self._faces(manifest, rows, options["encodings"])
        scenarios = self._scenarios(rows, table, identities, options["group_photos"])
        for strategy in _strategies(options["strategy"]):
            runs = [
                simulate(
                    scenario,
                    strategy=strategy,
                    seed=seed,
                    hint=not options["no_hint"],
                    threshold=options["threshold"],
                )
                for scenario in scenarios
                for seed in range(options["seeds"])
            ]
            summary = summarise(strategy, scenarios, runs, options)
            if options["json"]:
                self.stdout.write(json.dumps(summary))
            else:
                self._print_summary(summary)

    def _scenarios(
        self, rows: list[dict[str, str]], table: FaceTable, identities: list[str], truth: str
    ) -> list[Scenario]:
        scenarios = []
        for identity in identities:
            scenario = build_scenario(rows, table, identity, group_photos=truth)
            if scenario.targets:
                scenarios.append(scenario)
            else:
                self.stderr.write(f"{identity}: no face detected in its images, left out")
        if not scenarios:
            raise CommandError("no identity has a detected face")
        return scenarios

    def _faces(self, manifest: Path, rows: list[dict[str, str]], given: Path | None) -> FaceTable:
        if given is not None:
            return load_precomputed(given).restricted_to({row["file"] for row in rows})
        cache = cache_path(manifest)
        table = read_cache(cache, manifest)
        if table is None:
            self.stderr.write(f"detecting faces in {len(rows)} images (cached in {cache})")
            table = detect_manifest(manifest, rows)
            write_cache(cache, manifest, table)
        return table

    def _print_summary(self, summary: dict[str, Any]) -> None:
        answers = summary["answers_to_target"]
        self.stdout.write(
            f"strategy {summary['strategy']}: {summary['faces']} faces, "
            f"{summary['runs']} runs over {len(summary['per_target'])} identities"
        )
        self.stdout.write("  identity  targets  answers to target (per seed)")
        for identity, detail in summary["per_target"].items():
            self.stdout.write(f"  {identity}  {detail['targets']}  {detail['answers']}")
        self.stdout.write(
            f"  answers to {TARGET_RECALL:.0%} recall at {TARGET_PRECISION:.0%} precision: "
            f"median {answers['median']}  mean {answers['mean']}  max {answers['max']}"
        )
        for count, figures in summary["after"].items():
            self.stdout.write(
                f"  after {count} answers: precision {figures['precision']:.3f}  "
                f"recall {figures['recall']:.3f}  (learner's estimate "
                f"{_show(figures['estimated_precision'])}/{_show(figures['estimated_recall'])}"
                f", leave-one-out {_show(figures['held_out_precision'])}/"
                f"{_show(figures['held_out_recall'])})"
            )


# Manifest and scenarios -----------------------------------------------------------------


def read_manifest(manifest: Path) -> list[dict[str, str]]:
    with manifest.open(newline="", encoding="utf-8") as handle:
        rows = [
            {"file": row["file"], "identity": row["identity"]} for row in csv.DictReader(handle)
        ]
    if not rows:
        raise CommandError(f"{manifest} lists no images")
    return rows


def _targets(rows: list[dict[str, str]], given: str, min_images: int) -> list[str]:
    counts: dict[str, int] = {}
    for row in rows:
        if row["identity"] not in NOT_A_PERSON:
            counts[row["identity"]] = counts.get(row["identity"], 0) + 1
    if given == "all":
        chosen = sorted(name for name, count in counts.items() if count >= min_images)
    else:
        chosen = [name.strip() for name in given.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in counts]
    if unknown or not chosen:
        raise CommandError(f"no images of {', '.join(unknown) or given} in the manifest")
    return chosen


def _strategies(given: str) -> list[Strategy]:
    return list(Strategy) if given == "both" else [Strategy(given)]


def build_scenario(
    rows: list[dict[str, str]], table: FaceTable, identity: str, *, group_photos: str
) -> Scenario:
    """The truth of every face for one identity.

    An image of the person shows one main face: the largest face is the person, any other
    face on it is not. Group photos are not named face by face, so their faces are UNKNOWN
    unless ``group_photos`` is "no".
    """
    identity_of = {row["file"]: row["identity"] for row in rows}
    files = table.files
    _, image_index = np.unique(files, return_inverse=True)
    largest = np.zeros(files.size, dtype=bool)
    largest[learning.best_of_each_image(np.arange(files.size), table.areas, image_index)] = True
    owner = np.array([identity_of.get(str(name), "") for name in files])
    truth = np.where((owner == identity) & largest, PERSON, OTHER)
    if group_photos == "unknown":
        truth[owner == GROUP_PHOTOS] = UNKNOWN
    return Scenario(identity, table.encodings, image_index, truth.astype(np.int8))


# Simulation -----------------------------------------------------------------------------


def simulate(
    scenario: Scenario, *, strategy: Strategy, seed: int, hint: bool, threshold: float
) -> Run:
    """Ask, answer truthfully, rescore, until the target is met and the last checkpoint passed.

    The seed chooses the P18 face among the person's faces and drives the centroid
    strategy's random questions. A run that never meets the target counts every face.
    """
    rng = np.random.default_rng(seed)
    verdicts = np.zeros(scenario.truth.size, dtype=np.int8)
    hint_face = _hint_face(scenario, seed) if hint else None
    after: dict[int, Snapshot] = {}
    reached: int | None = None
    answers = 0
    while True:
        evidence = Evidence(scenario.encodings, scenario.image_index, verdicts, hint=hint_face)
        scores = learning.score_faces(evidence, strategy=strategy, threshold=threshold)
        snapshot = measure(scenario, evidence, scores)
        after[answers] = snapshot
        if reached is None and snapshot.on_target:
            reached = answers
        if reached is not None and answers >= CHECKPOINTS[-1]:
            break
        face = learning.next_question(evidence, scores, rng=rng)
        if face is None:
            break
        verdicts[face] = _truthful(scenario.truth[face])
        answers += 1
    return Run(
        scenario.identity,
        scenario.truth.size if reached is None else reached,
        {count: after[min(count, answers)] for count in CHECKPOINTS},
    )


def _hint_face(scenario: Scenario, seed: int) -> int:
    """Seeds walk through the person's faces in a shuffled order, so each is P18 in turn."""
    faces = np.flatnonzero(scenario.truth == PERSON)
    order = np.random.default_rng(zlib.crc32(scenario.identity.encode())).permutation(faces)
    return int(order[seed % order.size])


def _truthful(truth: int) -> Verdict:
    return {PERSON: Verdict.YES, OTHER: Verdict.NO}.get(truth, Verdict.SKIP)


def measure(scenario: Scenario, evidence: Evidence, scores: learning.Scores) -> Snapshot:
    """Precision and recall of human yes + suggestions over the faces whose truth is known.

    Nothing claimed has precision 1: no wrong statement would be written.
    """
    suggestions = learning.suggest(evidence, scores)
    claimed = evidence.verdicts == Verdict.YES
    claimed[suggestions.faces] = True
    known = scenario.truth != UNKNOWN
    hits = int((claimed & (scenario.truth == PERSON)).sum())
    wrong = int((claimed & known & (scenario.truth == OTHER)).sum())
    return Snapshot(
        precision=hits / (hits + wrong) if hits + wrong else 1.0,
        recall=hits / scenario.targets,
        estimate=suggestions.estimate,
    )


def summarise(
    strategy: Strategy, scenarios: list[Scenario], runs: list[Run], options: dict[str, Any]
) -> dict[str, Any]:
    """The JSON object of the issue, plus the options and a per-identity breakdown."""
    answers = np.array([run.answers_to_target for run in runs], dtype=float)
    return {
        "strategy": strategy.value,
        "target": ",".join(scenario.identity for scenario in scenarios),
        "faces": int(scenarios[0].truth.size),
        "targets": sum(scenario.targets for scenario in scenarios),
        "answers_to_target": {
            "median": float(np.median(answers)),
            "mean": round(float(answers.mean()), 2),
            "max": int(answers.max()),
        },
        "after": {str(count): _mean_snapshot(runs, count) for count in CHECKPOINTS},
        "seeds": options["seeds"],
        "runs": len(runs),
        "hint": not options["no_hint"],
        "group_photos": options["group_photos"],
        "per_target": {
            scenario.identity: {
                "targets": scenario.targets,
                "answers": [r.answers_to_target for r in runs if r.identity == scenario.identity],
            }
            for scenario in scenarios
        },
    }


def _mean_snapshot(runs: Sequence[Run], count: int) -> dict[str, float | None]:
    snapshots = [run.after[count] for run in runs]
    return {
        "precision": round(float(np.mean([s.precision for s in snapshots])), 4),
        "recall": round(float(np.mean([s.recall for s in snapshots])), 4),
        "estimated_precision": _mean_or_none([s.estimate.precision for s in snapshots]),
        "estimated_recall": _mean_or_none([s.estimate.recall for s in snapshots]),
        "held_out_precision": _mean_or_none([s.estimate.held_out_precision for s in snapshots]),
        "held_out_recall": _mean_or_none([s.estimate.held_out_recall for s in snapshots]),
    }


def _mean_or_none(values: list[float | None]) -> float | None:
    present = [value for value in values if value is not None]
    return round(float(np.mean(present)), 4) if present else None


def _show(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


# Faces: detection and its cache -----------------------------------------------------------


def detect_manifest(manifest: Path, rows: list[dict[str, str]]) -> FaceTable:
    """Run the pipeline's detection (thumbnail, HOG, encodings) on every image of the manifest."""
    from faces.detection import DETECTION, analyse_image
    from faces.imaging import BadImageError, decode_image

    base = manifest.resolve().parent
    files: list[str] = []
    areas: list[float] = []
    encodings: list[np.ndarray] = []
    for row in rows:
        try:
            image = decode_image((base / row["file"]).read_bytes())
        except (OSError, BadImageError) as error:
            raise CommandError(f"cannot read {row['file']}: {error}") from error
        for face in analyse_image(image, config=DETECTION):
            files.append(row["file"])
            areas.append(face.box.width * face.box.height)
            encodings.append(face.encoding)
    return FaceTable(
        files=np.array(files, dtype=str),
        areas=np.array(areas, dtype=np.float64),
        encodings=np.array(encodings, dtype=np.float32).reshape(-1, 128),
    )


def load_precomputed(path: Path) -> FaceTable:
    """Faces from an npz laid out as reference_encodings.npz (box_trbl in pixels)."""
    with np.load(path) as data:
        top, right, bottom, left = np.asarray(data["box_trbl"], dtype=np.float64).T
        return FaceTable(
            files=np.asarray(data["image_file"]).astype(str),
            areas=(bottom - top) * (right - left),
            encodings=np.asarray(data["encoding"], dtype=np.float32),
        )


def cache_path(manifest: Path) -> Path:
    """Beside the CSV when its folder is writable, else under WIKIVISAGE_DATA_DIR."""
    folder = manifest.resolve().parent
    if _writable(folder):
        return folder / f"{manifest.stem}.encodings.npz"
    key = hashlib.sha256(str(manifest.resolve()).encode()).hexdigest()[:16]
    return Path(settings.WIKIVISAGE_DATA_DIR) / "evaluate_learning" / f"{key}.encodings.npz"


def _writable(folder: Path) -> bool:
    """Writable, and not marked read-only: root may write anywhere, but a folder whose
    write bits are all off (the shared data) is meant to stay untouched."""
    return os.access(folder, os.W_OK) and bool(folder.stat().st_mode & 0o222)


def _cache_key(manifest: Path) -> str:
    """What the cached faces depend on: the CSV (path and mtime) and the detection setup."""
    from faces.detection import DETECTION

    config = DETECTION
    resolved = manifest.resolve()
    return (
        f"v{CACHE_VERSION}|{resolved}|{resolved.stat().st_mtime_ns}|"
        f"{config.thumb_width}|{config.upsample}"
    )


def read_cache(cache: Path, manifest: Path) -> FaceTable | None:
    if not cache.is_file():
        return None
    with np.load(cache) as data:
        if str(data["key"]) != _cache_key(manifest):
            return None
        return FaceTable(
            files=data["files"].astype(str),
            areas=data["areas"],
            encodings=data["encodings"].astype(np.float32),
        )


def write_cache(cache: Path, manifest: Path, table: FaceTable) -> None:
    cache.parent.mkdir(parents=True, exist_ok=True)
    # Written under a temporary name, then renamed, so a crash never leaves half a cache.
    partial = cache.with_name(cache.name + ".partial.npz")
    np.savez(
        partial,
        key=np.array(_cache_key(manifest)),
        files=table.files,
        areas=table.areas,
        encodings=table.encodings,
    )
    partial.replace(cache)
