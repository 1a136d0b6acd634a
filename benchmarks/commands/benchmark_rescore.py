"""``benchmark_rescore --faces 100000``: how long the learner takes on the configured database.

Makes a synthetic project whose encodings are shaped like dlib's (identities are clusters
whose photos lie about 0.4 apart, different identities about 0.85), then times what the
``faces.learn.project`` task runs: the first scoring (every label written), and the scoring after
each of ``--answers`` truthful answers to the question the classify page would ask. Run it
in a fresh process: the first scoring is the one a worker does after a restart. Everything
it made is deleted at the end.

Wall time depends on what else the machine runs, so each re-scoring also reports the
process's CPU time and the load average, and ``--phases`` splits both into the learner
memory's look-ups, reading the database, the arithmetic and writing the labels (each
function counted once, without the phases it calls).
"""

from __future__ import annotations

import os
import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from faces.models import Face, Image, Label, ProjectImage
from faces.services import learner_memory, scoring
from projects.models import Project

BATCH = 5000
DIMENSIONS = 128
CENTRE_SPREAD = 0.85 / np.sqrt(2 * DIMENSIONS)
PHOTO_SPREAD = 0.40 / np.sqrt(2 * DIMENSIONS)
PAGEID_BASE = 8_000_000_000_000


class Command(BaseCommand):
    help = "Time the learner's re-scoring of a large synthetic project on the configured database."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--faces", type=int, default=100_000)
        parser.add_argument("--answers", type=int, default=10, help="answers to time after")
        parser.add_argument("--person-share", type=float, default=0.05)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument(
            "--phases", action="store_true", help="split each re-scoring's time into phases"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["faces"] < 100 or options["answers"] < 1:
            raise CommandError("--faces must be at least 100 and --answers at least 1")
        started = time.perf_counter()
        project, truth = self._project(options)
        self.stdout.write(
            f"{connection.vendor}: {options['faces']:,} faces made in "
            f"{time.perf_counter() - started:.1f} s"
        )
        try:
            first = _timed(project)
            self.stdout.write(f"first scoring (every label written): {first.wall:.2f} s")
            with _phases_timed(enabled=options["phases"]) as phases:
                after = [self._answer_and_time(project, truth) for _ in range(options["answers"])]
            self._report(after, phases)
        finally:
            owner = project.owner
            images = Image.objects.filter(project_links__project=project)
            image_ids = list(images.values_list("pk", flat=True))
            project.delete()
            for start in range(0, len(image_ids), BATCH):
                Image.objects.filter(pk__in=image_ids[start : start + BATCH]).delete()
            owner.delete()

    def _project(self, options: dict[str, Any]) -> tuple[Project, dict[int, bool]]:
        rng = np.random.default_rng(options["seed"])
        count = options["faces"]
        identities = max(count // 20, 2)
        centres = rng.normal(0.0, CENTRE_SPREAD, (identities, DIMENSIONS)).astype(np.float32)
        owner_of = rng.integers(1, identities, count)
        owner_of[rng.random(count) < options["person_share"]] = 0
        tag = uuid.uuid4()
        user = get_user_model().objects.create(username=f"benchmark-{tag.hex[:12]}")
        project = Project.objects.create(owner=user, qid="Q1", category="Benchmark")
        photos = int(count / 1.6)
        base = PAGEID_BASE + tag.int % (1 << 20) * 10_000_000
        images: list[Image] = []
        for start in range(0, photos, BATCH):
            images += Image.objects.bulk_create(
                Image(pageid=base + n, title=f"File:Benchmark {n}.jpg", state=Image.State.DONE)
                for n in range(start, min(start + BATCH, photos))
            )
        for start in range(0, len(images), BATCH):
            ProjectImage.objects.bulk_create(
                ProjectImage(project=project, image=image, source=ProjectImage.Source.CATEGORY)
                for image in images[start : start + BATCH]
            )
        photo_of = np.sort(rng.integers(0, photos, count))
        truth: dict[int, bool] = {}
        index: dict[int, int] = {}
        for start in range(0, count, BATCH):
            stop = min(start + BATCH, count)
            noise = rng.normal(0.0, PHOTO_SPREAD, (stop - start, DIMENSIONS)).astype(np.float32)
            encodings = centres[owner_of[start:stop]] + noise
            rows = []
            for offset, encoding in enumerate(encodings):
                photo = int(photo_of[start + offset])
                index[photo] = index.get(photo, -1) + 1
                rows.append(
                    Face(
                        image=images[photo],
                        index=index[photo],
                        left=0.1,
                        top=0.1,
                        width=0.2,
                        height=0.2,
                        encoding=Face.pack(encoding),
                    )
                )
            made = Face.objects.bulk_create(rows)
            truth.update((face.pk, bool(owner_of[start + i] == 0)) for i, face in enumerate(made))
        return project, truth

    def _report(self, after: list[Timing], phases: Phases) -> None:
        wall, cpu = [t.wall for t in after], [t.cpu for t in after]
        self.stdout.write(
            f"after an answer ({len(after)} answers): median {statistics.median(wall):.3f} s"
            f"  max {max(wall):.3f} s; CPU median {statistics.median(cpu):.3f} s"
            f"  max {max(cpu):.3f} s; load average {after[0].load:.2f} to {after[-1].load:.2f}"
        )
        each = ", ".join(f"{t.wall:.2f}/{t.cpu:.2f}" for t in after)
        self.stdout.write(f"  each answer, wall/CPU s: {each}")
        for name, (wall_spent, cpu_spent) in phases.spent.items():
            self.stdout.write(
                f"  {name}: {1000 * wall_spent / len(after):.0f} ms wall, "
                f"{1000 * cpu_spent / len(after):.0f} ms CPU per answer"
            )

    def _answer_and_time(self, project: Project, truth: dict[int, bool]) -> Timing:
        """The classify page's next question (highest review priority), answered truthfully."""
        label = (
            Label.objects.filter(project=project, source=Label.Source.MODEL, priority__isnull=False)
            .order_by("-priority")
            .first()
        )
        if label is None:
            raise CommandError("the learner left no question to answer")
        Label.objects.create(
            project=project,
            face_id=label.face_id,
            source=Label.Source.HUMAN,
            verdict=Label.Verdict.YES if truth.get(label.face_id) else Label.Verdict.NO,
            user=project.owner,
        )
        return _timed(project)


@dataclass(frozen=True)
class Timing:
    wall: float
    cpu: float
    load: float  # the 1-minute load average when it ended


def _timed(project: Project) -> Timing:
    started, cpu = time.perf_counter(), time.process_time()
    scoring.project_rescore(project_id=project.pk)
    return Timing(time.perf_counter() - started, time.process_time() - cpu, os.getloadavg()[0])


# The functions of each phase, by module and name; a name a version lacks is left out.
PHASES: dict[str, list[tuple[Any, str]]] = {
    "memory look-ups": [
        (learner_memory, "faces_key"),
        (learner_memory, "recall_faces"),
        (learner_memory, "recall_written"),
    ],
    "reading": [(scoring, "project_faces"), (scoring, "_stored_labels")],
    "arithmetic": [
        # faceengine's functions, wrapped where the learner service looks them up.
        (scoring, "score_faces"),
        (scoring, "suggest"),
        (scoring, "suggest_nothing"),
        (scoring, "review_priority"),
        (scoring, "_summary"),
        (scoring, "_label_arrays"),
        (learner_memory.LabelArrays, "changed_since"),
    ],
    "writing": [
        (scoring, "_write_labels"),
        (scoring, "_store_summary"),
        (scoring, "_tell_if_suggesting"),
    ],
}


@dataclass
class Phases:
    """Wall and CPU seconds per phase, each function's own time (nested phases taken out)."""

    spent: dict[str, list[float]] = field(default_factory=dict)
    stack: list[list[float]] = field(default_factory=list)

    def wrap(self, phase: str, function: Callable) -> Callable:
        def timed(*args: Any, **kwargs: Any) -> Any:
            self.stack.append([0.0, 0.0])
            started, cpu = time.perf_counter(), time.process_time()
            try:
                return function(*args, **kwargs)
            finally:
                wall, used = time.perf_counter() - started, time.process_time() - cpu
                nested = self.stack.pop()
                own = self.spent.setdefault(phase, [0.0, 0.0])
                own[0] += wall - nested[0]
                own[1] += used - nested[1]
                if self.stack:
                    self.stack[-1][0] += wall
                    self.stack[-1][1] += used

        return timed


@contextmanager
def _phases_timed(*, enabled: bool) -> Iterator[Phases]:
    phases = Phases()
    wrapped = [
        (owner, name, getattr(owner, name))
        for functions in PHASES.values()
        for owner, name in functions
        if enabled and hasattr(owner, name)
    ]
    names = {(owner, name): phase for phase, fs in PHASES.items() for owner, name in fs}
    for owner, name, function in wrapped:
        setattr(owner, name, phases.wrap(names[owner, name], function))
    try:
        yield phases
    finally:
        for owner, name, function in wrapped:
            setattr(owner, name, function)
