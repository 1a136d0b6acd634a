"""Several people at once: the answers a group of people needs against its single projects.

    .venv/bin/python benchmarks/people.py [--people 6] [--groups 5] [--seeds 3]
        [--threshold 0.6] [--answers 120] [--start portrait|nothing]

On the shared photos (their reference encodings, nothing detected), each group is ``--people``
identities drawn from those with 4 or more photos (a fixed draw per group number), their
photos mixed with the manifest's unnamed ones (strangers, group photos, photos without a
face). A truthful reviewer answers "who is this?" (``benchmarks.evaluation.people``): the
answers until every person of the group is at 95 % recall and 99 % precision, beside the sum
of the answers each person alone needs on the same photos, from their portrait (P18) both.
Prints one line per group and seed, then the medians and the worst ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

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
    options = parser.parse_args()
    rows = dataset.read_manifest(FACES / "manifest.csv")
    table = dataset.load_precomputed(FACES / "reference_encodings.npz", rows)
    identities = dataset.targets(rows, "all", 4)
    settings = reviewer.ProjectSettings(distance_threshold=options.threshold, min_answers=3)
    ratios, together, apart = [], [], []
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
            )
            total, ratio = run.alone_total, run.ratio
            print(
                f"group {group} seed {seed}: {', '.join(chosen)} ({category.files.size} faces): "
                f"together {run.answers_to_target} answers ({run.questions} questions), "
                f"alone {total} ({', '.join(str(v) for v in run.alone.values())})"
                + (f", ratio {ratio:.2f}" if ratio is not None else ""),
                flush=True,
            )
            if ratio is not None:
                ratios.append(ratio)
                together.append(run.answers_to_target)
                apart.append(total)
    if ratios:
        print(
            f"median together {statistics.median(together)}, alone {statistics.median(apart)}; "
            f"ratio median {statistics.median(ratios):.2f}, worst {max(ratios):.2f} "
            f"({len(ratios)} runs reached the target together and alone)"
        )


if __name__ == "__main__":
    main()
