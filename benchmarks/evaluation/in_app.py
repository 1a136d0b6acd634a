"""The truthful reviewer of ``benchmarks.evaluation.reviewer``, driven through the app itself.

Each run makes a real project in the configured database, with the new-project form's
default settings, on the manifest's photos (stored once per evaluation as images and faces,
as the detect workers store them). The reviewer then does what the classify page does:
``face_serve`` serves the next face, ``question_for`` says whether it is a "which
face?" question, and ``answer_record`` / ``answer_pick`` store the answer. The learner runs
as the ``faces.learn.project`` task the answer queues (the task's own function, called when the
answer commits: a worker that is always free). What counts is what the suggestion grid
shows (``depicts.selectors.suggestions``), the reviewers' yes answers and the statements
already on Commons; the estimate is the one the grid prints.

Everything an evaluation makes is deleted at the end, also when it fails.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.contrib.auth.models import User

from benchmarks.evaluation import dataset, reviewer
from benchmarks.evaluation.reviewer import Action, ProjectSettings, Run, Scenario, Start
from core import enqueue
from depicts.selectors import SuggestionFilter, suggestions
from faceengine.learner.evidence import Verdict
from faces.learner_figures import learner_summary
from faces.models import Face, Image, Label, ProjectImage
from faces.selectors import question_for
from faces.services.answers import answer_pick, answer_record
from faces.services.leases import face_serve
from faces.tasks import learn_project
from projects.models import Project

# Page ids far above Commons' (about 180 million today), so evaluation rows never meet real ones.
PAGEID_BASE = 9_000_000_000_000
EVALUATION_CATEGORY = "WikiVisage evaluation"


@dataclass(frozen=True)
class World:
    """The manifest's photos as rows: ``faces[i]`` is the Face of the table's row ``i``."""

    images: list[Image]
    faces: np.ndarray
    row_of: dict[int, int]


@contextmanager
def world_in_database(table: dataset.FaceTable) -> Iterator[World]:
    """Images and faces for the table, deleted (with every project on them) afterwards.

    Images are made in the order of their file names and faces in the table's order, so the
    learner sees the faces in the same order as the in-memory simulation.
    """
    tag = uuid.uuid4().hex[:8]
    names = sorted(set(table.files.tolist()))
    base = PAGEID_BASE + int(tag, 16) % 1_000_000 * 10_000
    images = Image.objects.bulk_create(
        Image(
            pageid=base + number,
            title=f"File:Evaluation {tag} {name}",
            width=1000,
            height=1000,
            state=Image.State.DONE,
        )
        for number, name in enumerate(names)
    )
    image_of = dict(zip(names, images, strict=True))
    counters: dict[str, int] = {}
    rows = []
    for name, box, encoding in zip(table.files, table.boxes, table.encodings, strict=True):
        index = counters[name] = counters.get(name, -1) + 1
        left, top, width, height = (float(v) for v in box)
        rows.append(
            Face(
                image=image_of[str(name)],
                index=index,
                left=left,
                top=top,
                width=width,
                height=height,
                encoding=Face.pack(encoding),
            )
        )
    faces = Face.objects.bulk_create(rows)
    ids = np.array([face.pk for face in faces], dtype=np.int64)
    try:
        yield World(images, ids, {int(pk): row for row, pk in enumerate(ids.tolist())})
    finally:
        projects = Project.objects.filter(project_images__image__in=images).distinct()
        owners = list(projects.values_list("owner_id", flat=True))
        projects.delete()
        User.objects.filter(pk__in=owners, username__startswith="evaluation-").delete()
        Image.objects.filter(pk__in=[image.pk for image in images]).delete()


@contextmanager
def learner_runs_on_commit() -> Iterator[None]:
    """Background work runs in this process when it is queued: the learner's task at once,
    and nothing else (an evaluation queues no detection, crawl or write)."""
    previous = enqueue.send

    def run_now(task: str, args: tuple[Any, ...], countdown: float | None) -> None:
        if task == "faces.learn.project":
            learn_project(*args)

    enqueue.send = run_now
    try:
        yield
    finally:
        enqueue.send = previous


def run_in_app(
    world: World,
    scenario: Scenario,
    *,
    start: Start,
    seed: int,
    project_settings: ProjectSettings,
    at_least: int,
    at_most: int,
) -> Run:
    """One scenario through the app's services; the project is deleted afterwards."""
    user = User.objects.create(username=f"evaluation-{uuid.uuid4().hex[:12]}")
    project = project_create(
        world, scenario, start=start, seed=seed, project_settings=project_settings, user=user
    )
    run = Run(scenario.identity, start, seed)
    try:
        with learner_runs_on_commit():
            _drive(world, scenario, project, user, run, at_least, at_most)
    finally:
        project.delete()
        user.delete()
    return run


def project_create(
    world: World,
    scenario: Scenario,
    *,
    start: Start,
    seed: int,
    project_settings: ProjectSettings,
    user: User,
    qid: str = "",
) -> Project:
    """The scenario's project over every image of the world, as a new project starts: from
    the person's portrait (P18), an existing statement, or nothing; the learner has run once.
    ``qid`` names the person (projects of one group need one each); by default one per seed."""
    first = scenario.first_face(seed)
    first_face = Face.objects.select_related("image").get(pk=int(world.faces[first]))
    project = Project.objects.create(
        owner=user,
        qid=qid or f"Q{990_000_000 + seed}",
        person_labels={"en": scenario.identity},
        person_image=first_face.image.title if start == Start.PORTRAIT else "",
        category=EVALUATION_CATEGORY,
        distance_threshold=project_settings.distance_threshold,
        min_answers=project_settings.min_answers,
    )
    ProjectImage.objects.bulk_create(
        ProjectImage(
            project=project,
            image=image,
            source=ProjectImage.Source.CATEGORY,
            depicts_person=start == Start.STATEMENT and image.pk == first_face.image_id,
        )
        for image in world.images
    )
    if start == Start.STATEMENT:
        Label.objects.create(
            project=project,
            face=first_face,
            source=Label.Source.BOOTSTRAP,
            verdict=Label.Verdict.YES,
        )
    # As when detection finishes: the learner runs once before the first question.
    project.rescore_pending = True
    project.save(update_fields=["rescore_pending"])
    learn_project(project.pk)
    return project


def _drive(
    world: World,
    scenario: Scenario,
    project: Project,
    user: User,
    run: Run,
    at_least: int,
    at_most: int,
) -> None:
    answers = questions = 0
    while True:
        run.record(grid_snapshot(world, scenario, project, answers, questions))
        if run.done(at_least=at_least, at_most=at_most):
            return
        face = face_serve(project=project, user=user)
        if face is None:
            return
        question = question_for(project=project, face=face)
        row = world.row_of[face.pk]
        action = reviewer.reviewer_action(scenario, row, which=question.which)
        _answer(world, project, user, face, action)
        answers += action.verdict != Verdict.SKIP
        questions += 1


def _answer(world: World, project: Project, user: User, face: Face, action: Action) -> None:
    if action.pick:
        chosen = None
        if action.chosen is not None:
            chosen = Face.objects.get(pk=int(world.faces[action.chosen]))
        answer_pick(
            project=project, image=face.image, user=user, chosen=chosen, request_id=uuid.uuid4()
        )
        return
    verdicts: dict[Verdict | None, str] = {
        Verdict.YES: Label.Verdict.YES,
        Verdict.NO: Label.Verdict.NO,
        Verdict.SKIP: Label.Verdict.SKIP,
    }
    answer_record(
        project=project,
        face=face,
        user=user,
        verdict=verdicts[action.verdict],
        request_id=uuid.uuid4(),
    )


def grid_snapshot(
    world: World, scenario: Scenario, project: Project, answers: int, questions: int
) -> reviewer.Snapshot:
    """What the grid shows now, and what Commons would say once it is all approved."""
    project.refresh_from_db(fields=["learning"])
    rows = _rows(world)
    grid = [
        (label.face_id, getattr(label, "human", None))
        for label in suggestions(project=project, filters=SuggestionFilter())
    ]
    proposed = rows([face_id for face_id, human in grid if human is None])
    human_yes = rows(_labelled(project, Label.Source.HUMAN, Label.Verdict.YES))
    contradicted = set(_labelled(project, Label.Source.HUMAN, Label.Verdict.NO))
    standing = rows(
        [
            face_id
            for face_id in _labelled(project, Label.Source.BOOTSTRAP, Label.Verdict.YES)
            if face_id not in contradicted
        ]
    )
    claimed = np.zeros(scenario.truth.size, dtype=bool)
    claimed[np.concatenate([proposed, human_yes, standing])] = True
    summary = learner_summary(project)
    return reviewer.measure(
        scenario,
        answers,
        questions,
        claimed=claimed,
        suggested=proposed,
        estimated_precision=summary.precision if summary else None,
        estimated_recall=summary.recall if summary else None,
    )


def _rows(world: World) -> Callable[[list[int]], np.ndarray]:
    def rows(face_ids: list[int]) -> np.ndarray:
        return np.array([world.row_of[f] for f in face_ids if f in world.row_of], dtype=np.intp)

    return rows


def _labelled(project: Project, source: str, verdict: str) -> list[int]:
    return list(
        Label.objects.filter(project=project, source=source, verdict=verdict).values_list(
            "face_id", flat=True
        )
    )
