"""Measure detection + encoding throughput, memory and recall on a folder of images."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from benchmarks.detection import (
    BenchmarkReport,
    FolderRecall,
    find_images,
    read_expected_faces,
    recall_by_folder,
    run_benchmark,
)
from benchmarks.merged import compare_detectors
from benchmarks.modelserver import DETECTORS


class Command(BaseCommand):
    help = (
        "Run face detection and encoding over every image under a folder, as a detect worker "
        "would (thumbnail at the config's width), and print throughput and peak memory."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--images", required=True, type=Path, help="folder of images, searched recursively"
        )
        parser.add_argument(
            "--manifest",
            type=Path,
            help="CSV with file and expected_faces columns (default: DIR/manifest.csv if present)",
        )
        parser.add_argument(
            "--json", action="store_true", help="end with one JSON line of the summary"
        )
        parser.add_argument(
            "--detectors",
            action="store_true",
            help="faces found and CPU per photo by dlib alone, the reference model service "
            "alone and both merged (WIKIVISAGE_DETECTORS=dlib,http), instead",
        )
        parser.add_argument(
            "--service-detector",
            choices=DETECTORS,
            default="cnn",
            help="the detector of the model service with --detectors (default: cnn)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        # call_command(images=...) passes strings through without argparse's type=Path.
        root = Path(options["images"])
        paths = find_images(root) if root.is_dir() else []
        if not paths:
            raise CommandError(f"no images under {root}")
        manifest = _manifest(root, options["manifest"] and Path(options["manifest"]))
        if options["detectors"]:
            expected = read_expected_faces(manifest) if manifest is not None else {}
            self._compare(paths, expected, options["service_detector"], as_json=options["json"])
            return
        report = run_benchmark(paths)
        self._print_report(report)
        if manifest is not None:
            expected = read_expected_faces(manifest)
            self._print_recall(recall_by_folder(report.outcomes, expected=expected, root=root))
        if options["json"]:
            self.stdout.write(json.dumps(report.summary()))

    def _compare(
        self, paths: list[Path], expected: dict[Path, int | None], detector: str, *, as_json: bool
    ) -> None:
        comparison = compare_detectors(paths, expected=expected, service_detector=detector)
        self.stdout.write(
            f"photos {comparison.photos} (bad {comparison.bad_images}), 500 px thumbnails; "
            f"faces expected {comparison.expected}; model service: dlib {detector}"
        )
        self.stdout.write("mode  faces  matched  extra  recall  cpu ms/photo")
        summary: dict[str, Any] = {"photos": comparison.photos, "expected": comparison.expected}
        for mode, totals in comparison.modes.items():
            recall = totals.matched / max(comparison.expected, 1)
            cpu = comparison.cpu_ms_per_photo(mode)
            self.stdout.write(
                f"{mode}  {totals.faces}  {totals.matched}  {totals.extra}  {recall:.3f}  {cpu:.0f}"
            )
            summary[mode] = {
                "faces": totals.faces,
                "recall": round(recall, 3),
                "cpu_ms": round(cpu),
            }
        merged_ious, near = sorted(comparison.merged_ious), sorted(comparison.near_ious)
        self.stdout.write(
            f"dlib boxes merged with the service's: {len(merged_ious)}, IoU min "
            f"{min(merged_ious, default=0):.2f} median {_median(merged_ious):.2f}; "
            f"left apart with an IoU of 0.1 to the cut: {len(near)} {[round(v, 2) for v in near]}"
        )
        if as_json:
            self.stdout.write(json.dumps(summary))

    def _print_report(self, report: BenchmarkReport) -> None:
        config = report.config
        summary = report.summary()
        small = sum(outcome.small_faces for outcome in report.outcomes)
        self.stdout.write(
            f"detection: thumbnail {config.thumb_width} px, {config.upsample} upsample"
        )
        self.stdout.write(
            f"images {report.images}  faces {report.faces} ({small} small)  "
            f"bad images {report.errors}"
        )
        self.stdout.write(
            f"seconds {report.seconds:.2f} (cpu {report.cpu_seconds:.2f})  "
            f"images/s {summary['images_per_second']:.2f}  "
            f"faces/s {summary['faces_per_second']:.2f}  peak RSS {report.peak_rss_mb:.0f} MB"
        )
        for outcome in report.outcomes:
            if outcome.error:
                self.stdout.write(f"  bad image {outcome.path}: {outcome.error}")

    def _print_recall(self, folders: list[FolderRecall]) -> None:
        self.stdout.write("folder  images  expected  found  matched  extra  recall")
        total = FolderRecall(
            folder="total",
            images=sum(row.images for row in folders),
            expected=sum(row.expected for row in folders),
            found=sum(row.found for row in folders),
            matched=sum(row.matched for row in folders),
            extra=sum(row.extra for row in folders),
            uncounted_images=sum(row.uncounted_images for row in folders),
        )
        for row in [*folders, total]:
            self.stdout.write(_recall_line(row))


def _median(values: list[float]) -> float:
    return values[len(values) // 2] if values else 0.0


def _recall_line(row: FolderRecall) -> str:
    note = f"  ({row.uncounted_images} without a count)" if row.uncounted_images else ""
    return (
        f"{row.folder}  {row.images}  {row.expected}  {row.found}  {row.matched}  "
        f"{row.extra}  {row.recall:.3f}{note}"
    )


def _manifest(root: Path, given: Path | None) -> Path | None:
    if given is not None:
        if not given.is_file():
            raise CommandError(f"no manifest at {given}")
        return given
    candidate = root / "manifest.csv"
    return candidate if candidate.is_file() else None
