"""The several-people benchmark's machinery on one group, so that it cannot rot; and the
group's answer: a yes for the person named, a no for every other person."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
from django.conf import settings

from benchmarks.evaluation import dataset, people, reviewer
from faceengine.learner.evidence import Verdict

ROOT = Path(__file__).resolve().parents[2]


def test_the_people_benchmark_sets_a_group_beside_its_single_projects() -> None:
    result = subprocess.run(
        [
            sys.executable, "benchmarks/people.py", "--people", "3", "--groups", "1",
            "--seeds", "1", "--answers", "40",
        ],
        cwd=ROOT,
        env={"FACES_DATA_DIR": str(settings.FACES_DATA_DIR), "PATH": ""},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )  # fmt: skip
    lines = result.stdout.splitlines()
    assert lines[0].startswith("group 0 seed 0: ") and "together " in lines[0]
    assert lines[-3].startswith("median together ")
    # The group's overall estimates against the overall truth, from the first card on.
    assert lines[-2].startswith("overall precision: ") and "within 0.05 " in lines[-2]
    assert lines[-1].startswith("overall recall: ") and "in the interval " in lines[-1]


def test_one_answer_names_the_face_for_every_person_of_the_group() -> None:
    faces = Path(settings.FACES_DATA_DIR)
    rows = dataset.read_manifest(faces / "manifest.csv")
    table = dataset.load_precomputed(faces / "reference_encodings.npz", rows)
    chosen = dataset.targets(rows, "all", 4)[:3]
    category = people.group_category(rows, table, chosen)
    scenarios = {
        person: reviewer.build_scenario(rows, category, person, group_photos="unknown")
        for person in chosen
    }
    group = people._Group(scenarios, seed=0, portraits=True)
    face = int(np.flatnonzero(scenarios[chosen[1]].truth == reviewer.PERSON)[0])
    assert group.answer(face) == 1
    assert [int(group.verdicts[p][face]) for p in chosen] == [Verdict.NO, Verdict.YES, Verdict.NO]
    # The other people's learners count that face against their person.
    assert group.evidence(chosen[0]).against[face] == 1.0
    assert group.evidence(chosen[1]).against[face] == 0.0
