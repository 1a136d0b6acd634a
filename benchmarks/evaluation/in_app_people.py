"""Several people through the app: a group of people answered "who is this?" by the truthful
reviewer, beside each of its people alone (``in_app.run_in_app``) on the same photos.

The group is what ``projects.group_services.group_open`` makes, built here without Commons:
one ordinary project per person over every image of the world (``in_app.project_create``,
each from the person's portrait or from nothing, each with its own Q-id), tied together by a
``ProjectGroup``. The reviewer then does what the "who is this?" page does:
``group_face_serve`` serves the face the group most needs (``group_next_face``: the people
take turns) and ``group_answer`` stores the answer, a yes in the true person's project and a
no in every other ("someone else" when the face is none of them), or ``group_skip`` when
the manifest does not name the face (a face of a group photo). Every project's learner runs
when the answer commits, as the ``faces.learn.project`` task each answer queues. A person is
on target once their own grid (``in_app.grid_snapshot``: human yes, suggestions, standing
statements) is at 95 % recall and 99 % precision; the group is done when all of them were.

Everything a run makes is deleted at the end, also when it fails.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from django.contrib.auth.models import User

from benchmarks.evaluation import in_app, reviewer
from benchmarks.evaluation.in_app import World
from benchmarks.evaluation.people import GroupRun
from benchmarks.evaluation.reviewer import ProjectSettings, Scenario, Start
from faces.models import Face
from faces.services.group_answers import group_answer, group_face_serve, group_skip
from projects.models import GroupPerson, Project, ProjectGroup

# Q-ids of the group's people: one each (the learner tells projects of one person apart by
# their Q-id), out of the range single-person evaluation projects use.
GROUP_QID_BASE = 991_000_000


@dataclass(frozen=True)
class GroupInApp:
    """A group in the database: its owner (the reviewer), and one project per scenario."""

    group: ProjectGroup
    user: User
    projects: list[Project]
    scenarios: list[Scenario]


@contextmanager
def group_in_database(
    world: World,
    scenarios: Sequence[Scenario],
    *,
    start: Start,
    seed: int,
    project_settings: ProjectSettings,
) -> Iterator[GroupInApp]:
    """The group's projects over every image of the world, deleted afterwards."""
    if start not in (Start.PORTRAIT, Start.NOTHING):
        raise ValueError(f"a group starts from portraits or from nothing, not {start}")
    user = User.objects.create(username=f"evaluation-{uuid.uuid4().hex[:12]}")
    projects = [
        in_app.project_create(
            world,
            scenario,
            start=start,
            seed=seed,
            project_settings=project_settings,
            user=user,
            qid=f"Q{GROUP_QID_BASE + seed * 100 + position}",
        )
        for position, scenario in enumerate(scenarios)
    ]
    group = ProjectGroup.objects.create(owner=user, name=f"Evaluation {user.username}")
    GroupPerson.objects.bulk_create(
        GroupPerson(group=group, project=project, position=position)
        for position, project in enumerate(projects)
    )
    try:
        yield GroupInApp(group, user, projects, list(scenarios))
    finally:
        group.delete()
        for project in projects:
            project.delete()
        user.delete()


@dataclass
class Together:
    """How the group went: answers (skips not counted), questions (skips too), and the
    answers after which each person's grid was first on target (None: not within the run)."""

    answers: int
    questions: int
    reached: dict[str, int | None]

    @property
    def answers_to_target(self) -> int | None:
        values = list(self.reached.values())
        return None if None in values else max(v for v in values if v is not None)


def drive_group(world: World, group: GroupInApp, *, at_most: int, at_least: int = 0) -> Together:
    """Ask the group and answer truthfully until every person is on target and ``at_least``
    answers were given, ``at_most`` answers were given (or three times as many questions),
    or nothing is left to ask."""
    together = Together(0, 0, {scenario.identity: None for scenario in group.scenarios})
    with in_app.learner_runs_on_commit():
        while True:
            _mark_reached(world, group, together)
            if together.answers_to_target is not None and together.answers >= at_least:
                return together
            if together.answers >= at_most:
                return together
            if together.questions >= 3 * at_most:
                return together
            face = group_face_serve(projects=group.projects, user=group.user)
            if face is None:
                return together
            together.answers += _answer(world, group, face)
            together.questions += 1


def _mark_reached(world: World, group: GroupInApp, together: Together) -> None:
    """Each person not yet on target: whether their grid is now (once on target, a person
    counts as reached, as in ``benchmarks.evaluation.people``)."""
    for project, scenario in zip(group.projects, group.scenarios, strict=True):
        if together.reached[scenario.identity] is not None:
            continue
        snapshot = in_app.grid_snapshot(
            world, scenario, project, together.answers, together.questions
        )
        if snapshot.on_target:
            together.reached[scenario.identity] = together.answers


def _answer(world: World, group: GroupInApp, face: Face) -> int:
    """The truthful "who is this?": 1 if answered, 0 if skipped (a face the manifest does
    not name: one of a group photo's)."""
    row = world.row_of[face.pk]
    truths = [int(scenario.truth[row]) for scenario in group.scenarios]
    request_id = uuid.uuid4()
    if reviewer.UNKNOWN in truths:
        group_skip(projects=group.projects, face=face, user=group.user, request_id=request_id)
        return 0
    person = next(
        (p for p, truth in zip(group.projects, truths, strict=True) if truth == reviewer.PERSON),
        None,
    )
    group_answer(
        projects=group.projects, face=face, user=group.user, person=person, request_id=request_id
    )
    return 1


def run_group_in_app(
    world: World,
    scenarios: Sequence[Scenario],
    *,
    start: Start,
    seed: int,
    project_settings: ProjectSettings,
    at_most: int,
) -> GroupRun:
    """The group through the app, then each of its people alone on the same photos."""
    with group_in_database(
        world, scenarios, start=start, seed=seed, project_settings=project_settings
    ) as group:
        together = drive_group(world, group, at_most=at_most)
    alone = {
        scenario.identity: in_app.run_in_app(
            world,
            scenario,
            start=start,
            seed=seed,
            project_settings=project_settings,
            at_least=0,
            at_most=at_most,
        ).answers_to_target
        for scenario in scenarios
    }
    return GroupRun(
        tuple(s.identity for s in scenarios),
        seed,
        together.answers_to_target,
        together.questions,
        together.reached,
        alone,
    )
