"""How honest the learner's estimates are: estimated against true precision and recall.

    .venv/bin/python benchmarks/estimates.py [--seeds 3] [--threshold 0.4,0.5,0.6,0.7,0.8]
        [--start portrait] [--every] [--from-answer K]

On the shared photos (their reference encodings, so nothing is detected), every identity
with 4 or more photos is the person in turn; a truthful reviewer answers what the learner
asks (``benchmarks.evaluation.reviewer.simulate``, which a test pins to the app's own path).
After every answer from the first card on, the learner's estimated precision of its suggestions and
estimated recall of "confirmed + suggested" are set against the truth. The truth is known for
the faces the manifest names, not for those of its group photos; there the estimates are the
learner's over the named faces only (``Snapshot.judged``: the same model and calibration, its
sums taken over those faces), so that both sides count the same faces. Prints, per
distance threshold, the mean and worst gap of each and where the worst one was; with
``--every``, one line per answer.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

FACES = Path(os.environ.get("FACES_DATA_DIR", "/work/shared/data/faces"))


@dataclass(frozen=True)
class Moment:
    identity: str
    seed: int
    answers: int
    estimated_precision: float | None
    true_precision: float | None
    estimated_recall: float | None
    true_recall: float
    precision_interval: tuple[float, float] | None = None
    recall_interval: tuple[float, float] | None = None

    def covered(self, name: str) -> bool | None:
        """Whether the truth lies within the estimate's interval (None: no interval)."""
        interval = getattr(self, f"{name}_interval")
        truth = getattr(self, f"true_{name}")
        if interval is None or truth is None:
            return None
        return interval[0] - 1e-9 <= truth <= interval[1] + 1e-9

    @property
    def precision_gap(self) -> float | None:
        if self.estimated_precision is None or self.true_precision is None:
            return None
        return abs(self.estimated_precision - self.true_precision)

    @property
    def recall_gap(self) -> float | None:
        if self.estimated_recall is None:
            return None
        return abs(self.estimated_recall - self.true_recall)


def moments(
    *, threshold: float, seeds: int, start: str, at_most: int, target: str, min_images: int
) -> Iterator[Moment]:
    """Every moment from the first card on, of every identity and seed at one threshold."""
    from benchmarks.evaluation import dataset, reviewer

    rows = dataset.read_manifest(FACES / "manifest.csv")
    table = dataset.load_precomputed(FACES / "reference_encodings.npz", rows)
    project = reviewer.ProjectSettings(distance_threshold=threshold, min_answers=3)
    for identity in dataset.targets(rows, target, min_images):
        scenario = reviewer.build_scenario(rows, table, identity, group_photos="unknown")
        for seed in range(seeds):
            run = reviewer.simulate(
                scenario,
                start=reviewer.Start(start),
                seed=seed,
                project=project,
                at_least=at_most,
                at_most=at_most,
            )
            first = next((i for i, s in enumerate(run.snapshots) if s.suggested), None)
            for snapshot in run.snapshots[first:] if first is not None else ():
                # Set against the truth over the faces it is known for: see Snapshot.judged.
                estimate = snapshot.judged
                yield Moment(
                    identity=identity,
                    seed=seed,
                    answers=snapshot.answers,
                    estimated_precision=(
                        snapshot.estimated_precision if estimate is None else estimate.precision
                    ),
                    true_precision=snapshot.suggestion_precision,
                    estimated_recall=(
                        snapshot.estimated_recall if estimate is None else estimate.recall
                    ),
                    true_recall=snapshot.recall,
                    precision_interval=(
                        snapshot.precision_interval
                        if estimate is None
                        else estimate.precision_interval
                    ),
                    recall_interval=(
                        snapshot.recall_interval if estimate is None else estimate.recall_interval
                    ),
                )


def _figure(value: float | None) -> str:
    return "  -  " if value is None else f"{value:.3f}"


def _pair(interval: tuple[float, float] | None) -> str:
    return "-" if interval is None else f"{interval[0]:.3f}-{interval[1]:.3f}"


def report(threshold: float, found: list[Moment]) -> dict[str, object]:
    """The mean and worst gap of each estimate, and where the worst one was."""
    result: dict[str, object] = {"threshold": threshold, "moments": len(found)}
    for name in ("precision", "recall"):
        gaps = [(getattr(m, f"{name}_gap"), m) for m in found]
        gaps = [(gap, m) for gap, m in gaps if gap is not None]
        if not gaps:
            continue
        worst, where = max(gaps, key=lambda item: item[0])
        covered = [m.covered(name) for m in found]
        known = [c for c in covered if c is not None]
        result[name] = {
            "mean_gap": round(sum(gap for gap, _ in gaps) / len(gaps), 4),
            "worst_gap": round(worst, 4),
            "within_0.05": round(sum(gap <= 0.05 for gap, _ in gaps) / len(gaps), 4),
            "worst_at": f"{where.identity} seed {where.seed} after {where.answers} answers",
            "in_interval": round(sum(known) / len(known), 4) if known else None,
        }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--threshold", default="0.4,0.5,0.6,0.7,0.8")
    parser.add_argument("--start", default="portrait", choices=("portrait", "statement"))
    parser.add_argument("--answers", type=int, default=20, help="answers per run")
    parser.add_argument("--target", default="all", help="identities, comma-separated, or all")
    parser.add_argument("--min-images", type=int, default=4, help="for --target all")
    parser.add_argument("--every", action="store_true", help="one line per answer")
    parser.add_argument(
        "--from-answer", type=int, default=0, help="only the moments after this many answers"
    )
    options = parser.parse_args()
    worst = {"precision": 0.0, "recall": 0.0}
    for threshold in (float(value) for value in options.threshold.split(",")):
        found = [
            moment
            for moment in moments(
                threshold=threshold,
                seeds=options.seeds,
                start=options.start,
                at_most=options.answers,
                target=options.target,
                min_images=options.min_images,
            )
            if moment.answers >= options.from_answer
        ]
        for m in found if options.every else ():
            print(
                f"{threshold:.1f} {m.identity:<24} seed {m.seed} answers {m.answers:>3}  "
                f"precision est {_figure(m.estimated_precision)} true "
                f"{_figure(m.true_precision)}  recall est {_figure(m.estimated_recall)} "
                f"true {_figure(m.true_recall)}  intervals {_pair(m.precision_interval)} "
                f"{_pair(m.recall_interval)}"
            )
        figures = report(threshold, found)
        print(figures)
        for name in worst:
            entry = figures.get(name)
            if isinstance(entry, dict):
                worst[name] = max(worst[name], float(entry["worst_gap"]))
    print(f"worst gap: precision {worst['precision']:.3f}, recall {worst['recall']:.3f}")


if __name__ == "__main__":
    main()
