"""The learner's figures as the pages show them: its summary, the precision and recall texts
and the score chart drawn from its histogram."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from faces.learning_summary import LearnerSummary, ScoreHistogram
from projects.figures import percent, percent_between
from projects.models import Project


def learner_summary(project: Project) -> LearnerSummary | None:
    """What the learner last wrote about the project; None before its first run."""
    return LearnerSummary.from_json(project.learning)


@dataclass(frozen=True)
class Point:
    x: float
    y: float


@dataclass(frozen=True)
class Line:
    x1: float
    y1: float
    x2: float
    y2: float


@dataclass(frozen=True)
class Tick:
    x: float
    y: float
    text: str


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    kind: str  # css class: yes, no, open
    count: int


@dataclass(frozen=True)
class ThresholdMark:
    value: float
    line: Line
    label: Point


@dataclass(frozen=True)
class ScoreChart:
    """The learner's score histogram as SVG shapes: the template draws them, and only them."""

    width: int
    height: int
    open_label: Point  # "not answered", over the upper band
    answer_label: Point  # "answered", in the lower band
    bars: list[Bar]
    axis: Line
    ticks: list[Tick]
    threshold: ThresholdMark | None
    summary: LearnerSummary  # the figures printed under the chart


@dataclass(frozen=True)
class Band:
    top: int
    height: int

    @property
    def bottom(self) -> int:
        return self.top + self.height


# SVG units, y downwards. The upper band shows the faces nobody answered, the lower one the
# answers (yes stacked on no); the score axis runs under both, its labels below it. As wide
# as a phone's card (390 px screen), so its 12 px text stays 12 px there; ten bars, each
# about 30 px wide on that phone (the learner's 20 bins, two by two).
CHART_WIDTH, CHART_HEIGHT, CHART_PAD = 360, 220, 24
CHART_BARS = 10
OPEN_BAND = Band(top=CHART_PAD, height=100)
ANSWER_BAND = Band(top=OPEN_BAND.bottom + 4, height=76)
AXIS_Y = ANSWER_BAND.bottom
TICK_Y = AXIS_Y + 14
TICK_SCORES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
LABEL_X = 4
OPEN_LABEL_Y = OPEN_BAND.top - 10
ANSWER_LABEL_Y = ANSWER_BAND.top + 14
THRESHOLD_TOP, THRESHOLD_BOTTOM = OPEN_BAND.top - 8, AXIS_Y + 2
THRESHOLD_LABEL_Y = THRESHOLD_TOP - 4
THRESHOLD_LABEL_HALF = 48


def score_chart(summary: LearnerSummary | None) -> ScoreChart | None:
    """The chart of the learner's summary, or None until it has scored some faces."""
    if summary is None or summary.histogram is None:
        return None
    histogram = _coarse(summary.histogram, CHART_BARS)
    return ScoreChart(
        width=CHART_WIDTH,
        height=CHART_HEIGHT,
        open_label=Point(x=LABEL_X, y=OPEN_LABEL_Y),
        answer_label=Point(x=LABEL_X, y=ANSWER_LABEL_Y),
        bars=_bars(histogram.bins, histogram.unanswered, "open", OPEN_BAND)
        + _answer_bars(histogram.bins, histogram.answered_yes, histogram.answered_no),
        axis=Line(x1=CHART_PAD, y1=AXIS_Y, x2=CHART_WIDTH - CHART_PAD, y2=AXIS_Y),
        ticks=[Tick(x=_x(score), y=TICK_Y, text=percent(score)) for score in TICK_SCORES],
        threshold=_threshold_mark(summary.threshold),
        summary=summary,
    )


def learner_panel_context(project: Project, *, compact: bool = False) -> dict[str, Any]:
    """What ``faces/_learner_figures.html`` draws: the estimates, the chart, and the
    summary's time (the version a live page compares to know whether to draw again).
    ``compact``: the chart folded away, for pages where answering comes first."""
    summary = learner_summary(project)
    return {
        "project": project,
        "summary": summary,
        "chart": score_chart(summary),
        "compact": compact,
        "version": learner_version(summary),
        **estimate_texts(summary),
    }


def learner_version(summary: LearnerSummary | None) -> str:
    return summary.updated_at.isoformat() if summary and summary.updated_at else ""


def estimate_texts(summary: LearnerSummary | None) -> dict[str, str]:
    """Precision and recall as every page prints them (projects.figures), each with its
    interval when the learner gives one."""
    if summary is None:
        return {"precision_text": percent(None), "recall_text": percent(None)}
    return {
        # Summaries written before the learner gave intervals show the figure alone.
        "precision_text": percent_between(summary.precision, summary.precision_interval),
        "recall_text": percent_between(summary.recall, summary.recall_interval),
    }


def _coarse(histogram: ScoreHistogram, bars: int) -> ScoreHistogram:
    """The histogram in at most ``bars`` bins, neighbours summed: wide enough to read."""
    n = len(histogram.unanswered)
    step = -(-n // bars)
    if step <= 1:
        return histogram

    def summed(counts: Sequence[int]) -> tuple[int, ...]:
        return tuple(sum(counts[i : i + step]) for i in range(0, n, step))

    return ScoreHistogram(
        bins=(*histogram.bins[:-1:step], histogram.bins[-1]),
        answered_yes=summed(histogram.answered_yes),
        answered_no=summed(histogram.answered_no),
        unanswered=summed(histogram.unanswered),
    )


def _x(score: float) -> float:
    return round(CHART_PAD + min(max(score, 0.0), 1.0) * (CHART_WIDTH - 2 * CHART_PAD), 2)


def _threshold_mark(threshold: float | None) -> ThresholdMark | None:
    if threshold is None:
        return None
    x = _x(threshold)
    return ThresholdMark(
        value=threshold,
        line=Line(x1=x, y1=THRESHOLD_TOP, x2=x, y2=THRESHOLD_BOTTOM),
        # Kept inside the chart: "threshold 95 %" centred on the line would be cut off.
        label=Point(
            x=min(max(x, THRESHOLD_LABEL_HALF), CHART_WIDTH - THRESHOLD_LABEL_HALF),
            y=THRESHOLD_LABEL_Y,
        ),
    )


def _bars(
    edges: Sequence[float],
    counts: Sequence[int],
    kind: str,
    band: Band,
    *,
    scale: int | None = None,
    base: Sequence[int] | None = None,
) -> list[Bar]:
    """One bar per non-empty bin, as tall as its count against ``scale`` (the band's peak
    unless given), standing on ``base`` (the counts drawn below it in the same bin)."""
    peak = scale or max(counts, default=0) or 1
    bars = []
    for i, count in enumerate(counts):
        if not count:
            continue
        below = base[i] if base else 0
        h, under = band.height * count / peak, band.height * below / peak
        left, right = _x(edges[i]), _x(edges[i + 1])
        bars.append(
            Bar(
                x=left,
                y=round(band.bottom - under - h, 2),
                width=max(right - left - 1, 1),
                height=round(h, 2),
                kind=kind,
                count=count,
            )
        )
    return bars


def _answer_bars(edges: Sequence[float], yes: Sequence[int], no: Sequence[int]) -> list[Bar]:
    peak = max((a + b for a, b in zip(yes, no, strict=True)), default=0) or 1
    return _bars(edges, no, "no", ANSWER_BAND, scale=peak) + _bars(
        edges, yes, "yes", ANSWER_BAND, scale=peak, base=no
    )
