"""What the learner last concluded about a project, as stored in ``Project.learning``.

The learner (``faces.services.scoring``) writes a ``LearnerSummary`` with ``to_json()``;
every reader gets one back through ``faces.selectors.learner_summary``, never by key. Stored
rows outlive the code that wrote them, so ``from_json`` accepts old and partial rows: a
missing or unreadable value becomes its default (0, None, no histogram), never an error.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from faceengine.learner.pooled import PersonCounts


@dataclass(frozen=True)
class ScoreHistogram:
    """How many faces fall in each score bin, per kind of face.

    ``bins`` holds the n+1 bin edges (0..1); each count tuple holds n values.
    """

    bins: tuple[float, ...]
    answered_yes: tuple[int, ...]
    answered_no: tuple[int, ...]
    unanswered: tuple[int, ...]

    def __post_init__(self) -> None:
        n = len(self.unanswered)
        sizes = {len(self.answered_yes), len(self.answered_no)}
        if not n or len(self.bins) != n + 1 or sizes != {n}:
            raise ValueError("a histogram needs n counts of each kind and n+1 bin edges")

    def to_json(self) -> dict[str, list[float] | list[int]]:
        return {
            "bins": list(self.bins),
            "answered_yes": list(self.answered_yes),
            "answered_no": list(self.answered_no),
            "unanswered": list(self.unanswered),
        }

    @classmethod
    def from_json(cls, data: Any) -> ScoreHistogram | None:
        """The stored histogram, or None when it is absent or its bins do not fit its counts.

        Old rows may hold the n left edges only (the last bin ends at 1), and answer counts
        shorter than the open ones (padded with zeros).
        """
        if not isinstance(data, Mapping):
            return None
        unanswered = _counts(data.get("unanswered"))
        n = len(unanswered)
        bins = _numbers(data.get("bins"))
        if n and len(bins) == n:
            bins = (*bins, 1.0)
        if not n or len(bins) != n + 1:
            return None
        return cls(
            bins=bins,
            answered_yes=_fit(_counts(data.get("answered_yes")), n),
            answered_no=_fit(_counts(data.get("answered_no")), n),
            unanswered=unanswered,
        )


@dataclass(frozen=True)
class LearnerSummary:
    """The learner's last run: its estimates, its threshold and its score histogram.

    ``precision`` and ``recall`` are those of ``faceengine.learner.estimates.Estimate`` (None
    when nothing supports a figure): ``precision`` is the expected share of the suggestions
    themselves that are right (None while nothing is suggested); ``precision_interval`` and
    ``recall_interval`` (low, high) hold the realised figure with 90 % probability (None: no
    interval, as in rows written before the learner gave one); ``answers`` counts the yes and
    no answers, ``confirmed`` the yes ones; ``suggested`` the faces it proposes; ``faces`` the
    faces it scored. ``threshold`` and ``histogram`` are None when the project had no face to
    score. ``expected_right``, ``expected_found`` and ``expected_positives`` are the sums
    the two estimates are ratios of (``Estimate``); None in rows written before the learner
    stored them (:meth:`counts` derives them from the ratios then).
    """

    updated_at: datetime | None
    faces: int = 0
    answers: int = 0
    confirmed: int = 0
    suggested: int = 0
    threshold: float | None = None
    precision: float | None = None
    recall: float | None = None
    held_out_precision: float | None = None
    held_out_recall: float | None = None
    histogram: ScoreHistogram | None = None
    precision_interval: tuple[float, float] | None = None
    recall_interval: tuple[float, float] | None = None
    expected_right: float | None = None
    expected_found: float | None = None
    expected_positives: float | None = None

    def counts(self) -> PersonCounts:
        """The estimates as sums, for pooling several people's
        (``faceengine.learner.pooled``). Older rows hold the ratios only: the sums are
        derived from them (a recall of 0 tells no count of the person's faces: none then)."""
        right = self.expected_right
        if right is None:
            right = (self.precision or 0.0) * self.suggested
        found = self.expected_found
        if found is None:
            found = self.confirmed + right
        positives = self.expected_positives
        if positives is None:
            positives = found / self.recall if self.recall else 0.0
        return PersonCounts(
            suggested=self.suggested,
            expected_right=right,
            expected_found=found,
            expected_positives=positives,
            precision_interval=self.precision_interval,
            recall_interval=self.recall_interval,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "updated_at": self.updated_at.isoformat() if self.updated_at else None,
            "faces": self.faces,
            "answers": self.answers,
            "confirmed": self.confirmed,
            "suggested": self.suggested,
            "threshold": self.threshold,
            "precision": self.precision,
            "recall": self.recall,
            "held_out_precision": self.held_out_precision,
            "held_out_recall": self.held_out_recall,
            "precision_interval": _pair(self.precision_interval),
            "recall_interval": _pair(self.recall_interval),
            "expected_right": self.expected_right,
            "expected_found": self.expected_found,
            "expected_positives": self.expected_positives,
            "histogram": self.histogram.to_json() if self.histogram else None,
        }

    @classmethod
    def from_json(cls, data: Any) -> LearnerSummary | None:
        """The stored summary; None when the learner never wrote one (``{}`` or None)."""
        if not isinstance(data, Mapping) or not data:
            return None
        return cls(
            updated_at=_moment(data.get("updated_at")),
            faces=_count(data.get("faces")),
            answers=_count(data.get("answers")),
            confirmed=_count(data.get("confirmed")),
            suggested=_count(data.get("suggested")),
            threshold=_ratio(data.get("threshold")),
            precision=_ratio(data.get("precision")),
            recall=_ratio(data.get("recall")),
            held_out_precision=_ratio(data.get("held_out_precision")),
            held_out_recall=_ratio(data.get("held_out_recall")),
            histogram=ScoreHistogram.from_json(data.get("histogram")),
            precision_interval=_interval(data.get("precision_interval")),
            recall_interval=_interval(data.get("recall_interval")),
            expected_right=_amount(data.get("expected_right")),
            expected_found=_amount(data.get("expected_found")),
            expected_positives=_amount(data.get("expected_positives")),
        )


# --- reading stored values: anything unexpected becomes the default ----------------------


def _is_number(value: Any) -> bool:
    # JSON true/false arrive as bool, which Python counts as int.
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _count(value: Any) -> int:
    return int(value) if _is_number(value) else 0


def _ratio(value: Any) -> float | None:
    return float(value) if _is_number(value) else None


def _amount(value: Any) -> float | None:
    """An expected count: a number, not below 0."""
    return float(value) if _is_number(value) and value >= 0 else None


def _pair(interval: tuple[float, float] | None) -> list[float] | None:
    return list(interval) if interval is not None else None


def _interval(value: Any) -> tuple[float, float] | None:
    """Two shares, low first, each within 0..1; anything else is no interval."""
    if not isinstance(value, list) or len(value) != 2 or not all(_is_number(v) for v in value):
        return None
    low, high = float(value[0]), float(value[1])
    return (low, high) if 0.0 <= low <= high <= 1.0 else None


def _counts(value: Any) -> tuple[int, ...]:
    return tuple(_count(v) for v in value) if isinstance(value, list) else ()


def _numbers(value: Any) -> tuple[float, ...]:
    """Every value a number, or nothing: one bad edge would shift every bar after it."""
    if not isinstance(value, list) or not all(_is_number(v) for v in value):
        return ()
    return tuple(float(v) for v in value)


def _fit(counts: Sequence[int], n: int) -> tuple[int, ...]:
    return (*counts[:n], *[0] * (n - len(counts)))


def _moment(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None
