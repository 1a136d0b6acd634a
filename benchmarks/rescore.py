"""How long one rescoring of a large project takes: score, suggest, pick the next question.

    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/rescore.py [--faces 1000000]

The faces are synthetic but shaped like dlib's: identities are clusters whose members lie
about 0.4 apart while different identities lie about 0.85 apart, so the share of faces near
the person (which decides how much no-evidence work is done) is realistic. Prints one line
per timed step, best of --repeat runs, then a sweep over the number of yes answers and of
known other faces when --sweep is given.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from faceengine.learner.evidence import Evidence, Verdict
from faceengine.learner.questions import review_priority
from faceengine.learner.scores import Strategy, score_faces
from faceengine.learner.suggestions import suggest

DIMENSIONS = 128
# Per-coordinate spreads giving dlib-like distances: sqrt(2*128)*spread = 0.85 between identity
# centres and 0.4 between two photos of one identity.
CENTRE_SPREAD = 0.85 / np.sqrt(2 * DIMENSIONS)
PHOTO_SPREAD = 0.40 / np.sqrt(2 * DIMENSIONS)


@dataclass(frozen=True)
class Project:
    encodings: np.ndarray
    image_index: np.ndarray
    is_person: np.ndarray


def make_project(faces: int, *, person_share: float, seed: int) -> Project:
    """Faces of the person plus a crowd of identities with about 20 photos each."""
    rng = np.random.default_rng(seed)
    identities = max(faces // 20, 2)
    centres = rng.normal(0.0, CENTRE_SPREAD, (identities, DIMENSIONS)).astype(np.float32)
    owner = rng.integers(1, identities, faces)
    owner[rng.random(faces) < person_share] = 0
    encodings = np.empty((faces, DIMENSIONS), dtype=np.float32)
    for start in range(0, faces, 100_000):
        stop = min(start + 100_000, faces)
        noise = rng.normal(0.0, PHOTO_SPREAD, (stop - start, DIMENSIONS)).astype(np.float32)
        encodings[start:stop] = centres[owner[start:stop]] + noise
    # About 1.6 faces per image, as in a category with some group photos.
    image_index = np.sort(rng.integers(0, int(faces / 1.6), faces))
    return Project(encodings, image_index, owner == 0)


def make_evidence(
    project: Project, *, yes: int, no: int, confirmed: int, named_others: int, seed: int
) -> Evidence:
    """Human answers, faces confirmed as others elsewhere (1.0) and P180-named others (0.3)."""
    rng = np.random.default_rng(seed + 1)
    person = np.flatnonzero(project.is_person)
    crowd = np.flatnonzero(~project.is_person)
    verdicts = np.zeros(project.is_person.size, dtype=np.int8)
    verdicts[rng.choice(person, yes, replace=False)] = Verdict.YES
    verdicts[rng.choice(crowd, no, replace=False)] = Verdict.NO
    against = np.zeros(project.is_person.size, dtype=np.float32)
    against[rng.choice(crowd, named_others, replace=False)] = 0.3
    against[rng.choice(crowd, confirmed, replace=False)] = 1.0
    return Evidence(project.encodings, project.image_index, verdicts, against=against)


def best_time(step: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        step()
        times.append(time.perf_counter() - started)
    return min(times)


def time_rescoring(evidence: Evidence, *, strategy: Strategy, repeat: int) -> dict[str, float]:
    """Seconds for what the learn task computes (score_faces, suggest, review_priority: the
    order of every question), and their sum."""
    scores = score_faces(evidence, strategy=strategy)
    timings = {
        "score": best_time(lambda: score_faces(evidence, strategy=strategy), repeat),
        "suggest": best_time(lambda: suggest(evidence, scores), repeat),
        "review order": best_time(lambda: review_priority(evidence, scores), repeat),
    }
    timings["total"] = sum(timings.values())
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--faces", type=int, default=1_000_000)
    parser.add_argument("--person-share", type=float, default=0.1)
    parser.add_argument("--yes", type=int, default=150)
    parser.add_argument("--no", type=int, default=350)
    parser.add_argument("--confirmed", type=int, default=2_000)
    parser.add_argument("--named-others", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sweep", action="store_true")
    args = parser.parse_args()
    threads = os.environ.get("OPENBLAS_NUM_THREADS", "unset")
    print(f"OPENBLAS_NUM_THREADS={threads} (the 1 s target is for one core: set it to 1)")
    project = make_project(args.faces, person_share=args.person_share, seed=args.seed)
    evidence = make_evidence(
        project,
        yes=args.yes,
        no=args.no,
        confirmed=args.confirmed,
        named_others=args.named_others,
        seed=args.seed,
    )
    print(
        f"{args.faces:,} faces, {args.person_share:.0%} of them the person; answers "
        f"{args.yes} yes / {args.no} no; {args.confirmed:,} faces confirmed as others "
        f"elsewhere, {args.named_others:,} on images naming others"
    )
    for strategy in Strategy:
        timings = time_rescoring(evidence, strategy=strategy, repeat=args.repeat)
        steps = "  ".join(f"{name} {seconds:.3f} s" for name, seconds in timings.items())
        print(f"{strategy.value}: {steps}")
    # Linux reports ru_maxrss in KiB; the encodings alone take faces * 512 bytes.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:.0f} MB (encodings {project.encodings.nbytes / 2**20:.0f} MB)")
    if args.sweep:
        sweep(project, args)


def sweep(project: Project, args: argparse.Namespace) -> None:
    """Total default-strategy time (best of --repeat) as answers and known others grow."""
    print("yes  no  confirmed  named-others  total seconds")
    for yes, no, confirmed in [
        (10, 50, 0),
        (50, 350, 500),
        (150, 350, 2_000),
        (300, 1_000, 5_000),
        (600, 2_000, 20_000),
        (5_000, 2_000, 20_000),
    ]:
        evidence = make_evidence(
            project,
            yes=yes,
            no=no,
            confirmed=confirmed,
            named_others=args.named_others,
            seed=args.seed,
        )
        timings = time_rescoring(evidence, strategy=Strategy.DEFAULT, repeat=args.repeat)
        print(f"{yes}  {no}  {confirmed}  {args.named_others}  {timings['total']:.3f}")


if __name__ == "__main__":
    main()
