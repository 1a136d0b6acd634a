"""Several people at once: the answers a group of people needs against its single projects.

    .venv/bin/python benchmarks/people.py [--people 6] [--groups 5] [--seeds 3]
        [--threshold 0.6] [--answers 120] [--start portrait|nothing] [--at-least 0]

On the shared photos (their reference encodings, nothing detected), each group is ``--people``
identities drawn from those with 4 or more photos (a fixed draw per group number), their
photos mixed with the manifest's unnamed ones (strangers, group photos, photos without a
face). A truthful reviewer answers "who is this?" (``benchmarks.evaluation.people``): the
answers until every person of the group is at 95 % recall and 99 % precision, beside the sum
of the answers each person alone needs on the same photos, from their portrait (P18) both.
Prints one line per group and seed, then the medians and the worst ratio. Then the group's
overall estimates (every person's pooled, as the group page shows them) against the truth of
all the people's grids together, at every answer from the first card on (the first answer
after which some grid sends a suggestion; ``--at-least`` answers go on past the target):
the mean and worst gap of each, the share within 0.05 and the share of the truths inside
the pooled 90 % interval.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

if TYPE_CHECKING:
    from benchmarks.evaluation.people import PooledMoment

FACES = Path(os.environ.get("FACES_DATA_DIR", "/work/shared/data/faces"))


def main() -> None:
    from benchmarks.evaluation import dataset, people, reviewer

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=6)
    parser.add_argument("--groups", type=int, default=5)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--threshold", type=float, default=0.6)
    parser.add_argument("--answers", type=int, default=120, help="most answers per run")
    parser.add_argument("--start", default="portrait", choices=("portrait", "nothing"))
    parser.add_argument("--at-least", type=int, default=0, help="answers past the target")
    options = parser.parse_args()
    rows = dataset.read_manifest(FACES / "manifest.csv")
    table = dataset.load_precomputed(FACES / "reference_encodings.npz", rows)
    identities = dataset.targets(rows, "all", 4)
    settings = reviewer.ProjectSettings(distance_threshold=options.threshold, min_answers=3)
    runs: list[people.GroupRun] = []
    moments: list[tuple[str, PooledMoment]] = []
    for group in range(options.groups):
        chosen = people.group_draw(identities, options.people, group)
        category = people.group_category(rows, table, chosen)
        # From nothing there is no portrait to start from: every seed would run the same.
        for seed in range(options.seeds if options.start == "portrait" else 1):
            run = people.simulate_group(
                rows,
                category,
                chosen,
                seed=seed,
                project=settings,
                at_most=options.answers,
                start=reviewer.Start(options.start),
                at_least=options.at_least,
            )
            first = next(
                (i for i, m in enumerate(run.moments) if m.estimated.precision is not None), None
            )
            found = run.moments[first:] if first is not None else []
            moments += [(f"group {group} seed {seed} after {m.answers}", m) for m in found]
            total, ratio = run.alone_total, run.ratio
            print(
                f"group {group} seed {seed}: {', '.join(chosen)} ({category.files.size} faces): "
                f"together {run.answers_to_target} answers ({run.questions} questions), "
                f"alone {total} ({', '.join(str(v) for v in run.alone.values())})"
                + (f", ratio {ratio:.2f}" if ratio is not None else ""),
                flush=True,
            )
            runs.append(run)
    summary = people.group_summary(runs)
    if summary["reached"]:
        print(
            f"median together {summary['together']}, alone {summary['alone']}; "
            f"ratio median {summary['ratio']:.2f}, worst {summary['worst']:.2f} "
            f"({summary['reached']} runs reached the target together and alone)"
        )
    overall_report(moments)


def overall_report(moments: Sequence[tuple[str, PooledMoment]]) -> None:
    """The overall estimates against the overall truth: gaps, and the truth in the interval."""
    for name in ("precision", "recall"):
        gaps, inside = [], []
        for where, moment in moments:
            estimate = getattr(moment.estimated, name)
            truth = getattr(moment, f"true_{name}")
            if estimate is None or truth is None:
                continue
            gaps.append((abs(estimate - truth), where))
            interval = getattr(moment.estimated, f"{name}_interval")
            if interval is not None:
                inside.append(interval[0] - 1e-9 <= truth <= interval[1] + 1e-9)
        if not gaps:
            print(f"overall {name}: no moment")
            continue
        worst, at = max(gaps)
        print(
            f"overall {name}: {len(gaps)} moments, mean gap "
            f"{sum(g for g, _ in gaps) / len(gaps):.3f}, worst {worst:.3f} ({at}), "
            f"within 0.05 {sum(g <= 0.05 for g, _ in gaps) / len(gaps):.2f}, "
            f"in the interval {sum(inside) / len(inside) if inside else float('nan'):.2f}"
        )


if __name__ == "__main__":
    main()
