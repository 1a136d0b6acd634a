"""Several people's estimates as one: how good a group's grids are, all people together.

Each person of a group has their own learner and their own estimates
(:class:`faceengine.learner.estimates.Estimate`). All people together, the precision of
what the grids would send is the right suggestions expected over all the suggestions, and
the recall the faces found (confirmed, or suggested and expected right) over all the
people's faces expected: sums over the people, never a mean of their ratios (a person with
2 suggestions would weigh as much as one with 200). A person who sends nothing adds nothing
to the precision; but the recall is over everyone's faces, so it waits until every person has
a face found (confirmed): before, their learner cannot tell how many faces they have (it
counts next to none), and the recall of the others would be claimed for the group.

The interval takes every person at their bound at once: each person's 90 % interval, read
in faces (its reach below and above their figure, times their suggestions or faces), summed
over the people, each side on its own; the pooled bounds are the weighted means of the
people's. Conservative: it holds when the people's errors go together, as they do (one
estimator, one kind of error: on the groups of ``benchmarks/people.py`` the people's
estimates erred the same way, and intervals that took them as independent, their reaches
added in quadrature, held the truth of the precision at 61 % of the moments from the first
card to the target, 19 % when the runs went on to 30 answers; these, at every moment, over
30 runs). When a person with suggestions (or faces) has no interval (a summary written
before the learner gave them), the pooled figure has none either.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from faceengine.learner.estimates import Estimate

Interval = tuple[float, float]


@dataclass(frozen=True)
class PersonCounts:
    """One person's estimate as the sums its figures are ratios of (see ``Estimate``)."""

    suggested: int
    expected_right: float
    expected_found: float
    expected_positives: float
    precision_interval: Interval | None = None
    recall_interval: Interval | None = None


@dataclass(frozen=True)
class Pooled:
    """All people together; None where no person supports a figure."""

    precision: float | None
    recall: float | None
    precision_interval: Interval | None = None
    recall_interval: Interval | None = None


def person_counts(estimate: Estimate) -> PersonCounts:
    return PersonCounts(
        suggested=estimate.suggested,
        expected_right=estimate.expected_right,
        expected_found=estimate.expected_found,
        expected_positives=estimate.expected_positives,
        precision_interval=estimate.precision_interval,
        recall_interval=estimate.recall_interval,
    )


def pooled(people: Sequence[PersonCounts]) -> Pooled:
    """The people's figures pooled: ratios of the sums, with their intervals. ``people``:
    every person of the group (one not scored yet as all zeros)."""
    precision = _pooled(
        [(p.expected_right, float(p.suggested), p.precision_interval) for p in people]
    )
    # Every person's faces counted, or no recall (see the module's docstring).
    counted = people and all(p.expected_found > 0 for p in people)
    recall = _pooled(
        [(p.expected_found, p.expected_positives, p.recall_interval) for p in people]
        if counted
        else []
    )
    return Pooled(
        precision=precision[0],
        recall=recall[0],
        precision_interval=precision[1],
        recall_interval=recall[1],
    )


def _pooled(
    parts: Sequence[tuple[float, float, Interval | None]],
) -> tuple[float | None, Interval | None]:
    """Sum of parts over sum of wholes, and its interval (see the module's docstring)."""
    counted = [(part, whole, interval) for part, whole, interval in parts if whole > 0]
    total = sum(whole for _, whole, _ in counted)
    if not total:
        return None, None
    share = sum(part for part, _, _ in counted) / total
    if any(interval is None for _, _, interval in counted):
        return share, None
    below = above = 0.0
    for part, whole, interval in counted:
        assert interval is not None
        own = part / whole
        below += whole * max(own - interval[0], 0.0)
        above += whole * max(interval[1] - own, 0.0)
    low = max(share - below / total, 0.0)
    high = min(share + above / total, 1.0)
    return share, (low, high)
