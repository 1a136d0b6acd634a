"""Several people in one category: "who is this?" against one learner per person.

A group names several people over one category. Each person keeps their own learner (one
single-person project each, as the app runs them); one answer names a face: a yes for the
person chosen and a no for every other person of the group ("someone else": a no for all).
A face confirmed as one person counts against it for the others (``Evidence.against``, as a
face confirmed in another project does in the app). The people take turns: of those whose
learner has a question it needs (its first question, a contested photo, a suggestion in
doubt, a cluster to explore), the one served least so far has its highest question asked;
when nobody needs one, the highest question of all. (Asking the highest question of any
person instead, a group needed as many answers as its people alone, or more: 1.06 and 1.33
times on two groups; taking turns by the count of faces answered, rather than by who was
served least, left one person waiting in some runs: 1.17 times at worst.)

:func:`simulate_group` runs the group with a truthful reviewer and, on the same photos, each
person alone (``reviewer.simulate``), so the answers the group needs can be set beside the
sum of the single projects'. At every answer it also sets the group's overall estimates
(every person's estimate pooled, :mod:`faceengine.learner.pooled`) against the overall truth
(:class:`PooledMoment`).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from benchmarks.evaluation import reviewer
from benchmarks.evaluation.dataset import NOT_A_PERSON, FaceTable
from faceengine.learner.estimates import estimate_quality
from faceengine.learner.evidence import Evidence, Verdict
from faceengine.learner.pooled import PersonCounts, Pooled, person_counts, pooled
from faceengine.learner.questions import group_turn, review_priority
from faceengine.learner.scores import Scores, score_faces


@dataclass(frozen=True)
class PooledMoment:
    """After ``answers`` answers: every person's estimate pooled, beside the truth of all
    their grids together (the suggestions' precision and the recall of yes + suggestions,
    over the faces whose truth is known; the estimates summed over those faces too, as
    ``reviewer.Snapshot.judged`` does). ``true_precision`` is None while nothing is sent."""

    answers: int
    estimated: Pooled
    true_precision: float | None
    true_recall: float


@dataclass(frozen=True)
class GroupRun:
    """One group and seed: the answers until every person was on target (None: not within
    the run), the questions asked (skips too), and each person's own figure when they
    were reached, beside the answers each person alone needed on the same photos."""

    people: tuple[str, ...]
    seed: int
    answers_to_target: int | None
    questions: int
    reached_at: dict[str, int | None]
    alone: dict[str, int | None]
    moments: list[PooledMoment] = field(default_factory=list)

    @property
    def alone_total(self) -> int | None:
        values = list(self.alone.values())
        return None if None in values else sum(v for v in values if v is not None)

    @property
    def ratio(self) -> float | None:
        """The group's answers over the sum of its people's alone (None: either never
        reached the target, or nobody alone needed an answer)."""
        total = self.alone_total
        if self.answers_to_target is None or not total:
            return None
        return self.answers_to_target / total


def group_draw(identities: Sequence[str], people: int, group: int) -> list[str]:
    """The people of group number ``group``: a fixed draw, so that every benchmark of
    groups (in memory and through the app) measures the same groups."""
    chosen = np.random.default_rng(group).choice(list(identities), people, replace=False)
    return sorted(str(name) for name in chosen)


def group_category(
    rows: list[dict[str, str]], table: FaceTable, people: Sequence[str]
) -> FaceTable:
    """The photos of ``people`` mixed with the manifest's unnamed ones (strangers, group
    photos, photos without a face): a category of an event where they all appear."""
    files = {row["file"] for row in rows if row["identity"] in {*people, *NOT_A_PERSON}}
    return table.restricted_to(files)


def simulate_group(
    rows: list[dict[str, str]],
    table: FaceTable,
    people: Sequence[str],
    *,
    seed: int,
    project: reviewer.ProjectSettings,
    at_most: int,
    start: reviewer.Start = reviewer.Start.PORTRAIT,
    at_least: int = 0,
) -> GroupRun:
    """The group, answered truthfully until every person is on target and ``at_least``
    answers are given, or ``at_most`` answers; and each person alone on the same photos,
    from the same ``start``: each person's portrait (P18), or nothing."""
    if start not in (reviewer.Start.PORTRAIT, reviewer.Start.NOTHING):
        raise ValueError(f"a group starts from portraits or from nothing, not {start}")
    scenarios = {
        person: reviewer.build_scenario(rows, table, person, group_photos="unknown")
        for person in people
    }
    alone = {
        person: reviewer.simulate(
            scenario,
            start=start,
            seed=seed,
            project=project,
            at_least=0,
            at_most=at_most,
        ).answers_to_target
        for person, scenario in scenarios.items()
    }
    state = _Group(scenarios, seed=seed, portraits=start == reviewer.Start.PORTRAIT)
    answers = questions = 0
    reached: dict[str, int | None] = dict.fromkeys(people)
    moments = []
    while True:
        priorities, now = [], []
        for person in people:
            evidence = state.evidence(person)
            scores = score_faces(evidence)
            person_now = _person_now(state.scenarios[person], evidence, scores, project)
            if reached[person] is None and person_now.on_target:
                reached[person] = answers
            now.append(person_now)
            priorities.append(
                review_priority(evidence, scores, max_distance=project.distance_threshold)
            )
        moments.append(_pooled_moment(answers, now))
        everyone = all(value is not None for value in reached.values())
        if (everyone and answers >= at_least) or answers >= at_most:
            break
        wanted = np.array(priorities)
        wanted[:, state.asked] = np.nan
        if np.isnan(wanted).all() or questions >= 3 * at_most:
            break
        turn = state.next_turn(wanted)
        face = reviewer.served_first(wanted[turn])
        state.served[turn] += 1
        answers += state.answer(face)
        questions += 1
    done = None if None in reached.values() else max(v for v in reached.values() if v is not None)
    return GroupRun(tuple(people), seed, done, questions, reached, alone, moments)


class _Group:
    """The verdicts of every person's project, and the faces the group has asked."""

    def __init__(
        self, scenarios: dict[str, reviewer.Scenario], *, seed: int, portraits: bool
    ) -> None:
        self.scenarios = scenarios
        first = next(iter(scenarios.values()))
        self.encodings, self.image_index = first.encodings, first.image_index
        size = first.truth.size
        self.verdicts = {person: np.zeros(size, dtype=np.int8) for person in scenarios}
        self.hints = {
            person: s.first_face(seed) if portraits else None for person, s in scenarios.items()
        }
        self.asked = np.zeros(size, dtype=bool)
        self.served = np.zeros(len(scenarios), dtype=np.int64)

    def next_turn(self, wanted: np.ndarray) -> int:
        """Whose question comes next (``group_turn``, as the app's "who is this?" decides)."""
        best = np.nanmax(np.where(np.isnan(wanted), -np.inf, wanted), axis=1)
        return group_turn(best, self.served)

    def evidence(self, person: str) -> Evidence:
        others = np.zeros(self.asked.size, dtype=np.float32)
        for name, verdicts in self.verdicts.items():
            if name != person:
                others[verdicts == Verdict.YES] = 1.0  # confirmed as another person
        return Evidence(
            self.encodings,
            self.image_index,
            self.verdicts[person],
            against=others,
            hint=self.hints[person],
        )

    def answer(self, face: int) -> int:
        """The truthful reviewer's "who is this?" on ``face``: 1 if answered, 0 if skipped
        (a face of a group photo the manifest does not name)."""
        self.asked[face] = True
        truths = {person: s.truth[face] for person, s in self.scenarios.items()}
        if reviewer.UNKNOWN in truths.values():
            return 0
        for person, truth in truths.items():
            self.verdicts[person][face] = Verdict.YES if truth == reviewer.PERSON else Verdict.NO
        return 1


@dataclass(frozen=True)
class _PersonNow:
    """One person's grid now: on target or not, the estimate's sums over the faces whose
    truth is known, and the truth of the same faces."""

    on_target: bool
    counts: PersonCounts
    sent: int  # suggestions whose truth is known
    right: int
    found: int  # the person's faces confirmed or suggested
    faces: int  # the person's faces


def _person_now(
    scenario: reviewer.Scenario,
    evidence: Evidence,
    scores: Scores,
    project: reviewer.ProjectSettings,
) -> _PersonNow:
    claimed, suggestions = reviewer.grid_now(evidence, scores, project)
    snapshot = reviewer.measure(
        scenario, 0, 0, claimed=claimed, suggested=suggestions.faces, estimated_precision=None
    )
    known = scenario.truth != reviewer.UNKNOWN
    estimate = suggestions.estimate
    if not known.all():
        estimate = estimate_quality(
            evidence,
            scores,
            suggestions.faces,
            min_probability=suggestions.min_probability,
            among=known,
        )
    return _PersonNow(
        on_target=snapshot.on_target,
        counts=person_counts(estimate),
        sent=snapshot.suggested,
        right=snapshot.suggested_right,
        found=int((claimed & (scenario.truth == reviewer.PERSON)).sum()),
        faces=scenario.targets,
    )


def _pooled_moment(answers: int, people: Sequence[_PersonNow]) -> PooledMoment:
    sent = sum(p.sent for p in people)
    return PooledMoment(
        answers=answers,
        estimated=pooled([p.counts for p in people]),
        true_precision=sum(p.right for p in people) / sent if sent else None,
        true_recall=sum(p.found for p in people) / sum(p.faces for p in people),
    )


def group_summary(runs: Sequence[GroupRun]) -> dict[str, float | int | None]:
    """Medians of the runs that reached the target both together and alone, and the worst
    ratio of them."""
    reached = [run for run in runs if run.ratio is not None]
    if not reached:
        return {"reached": 0, "together": None, "alone": None, "ratio": None, "worst": None}
    ratios = [run.ratio for run in reached if run.ratio is not None]
    return {
        "reached": len(reached),
        "together": statistics.median(run.answers_to_target or 0 for run in reached),
        "alone": statistics.median(run.alone_total or 0 for run in reached),
        "ratio": round(statistics.median(ratios), 2),
        "worst": round(max(ratios), 2),
    }
