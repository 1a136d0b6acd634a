"""The learner's stored summary (``Project.learning``) and the score chart drawn from it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from faces.learner_figures import learner_summary, score_chart
from faces.learning_summary import LearnerSummary, ScoreHistogram
from tests.factories import ProjectFactory

WHEN = datetime(2026, 11, 23, 15, tzinfo=UTC)

SUMMARY = LearnerSummary(
    updated_at=WHEN,
    faces=474,
    answers=12,
    confirmed=9,
    suggested=40,
    threshold=0.5,
    precision=0.91,
    recall=0.62,
    held_out_precision=0.8,
    held_out_recall=None,
    precision_interval=(0.84, 0.96),
    recall_interval=(0.5, 0.71),
    expected_right=36.4,
    expected_found=45.4,
    expected_positives=73.2,
    histogram=ScoreHistogram(
        bins=(0.0, 0.25, 0.5, 0.75, 1.0),
        answered_yes=(0, 1, 3, 5),
        answered_no=(4, 2, 1, 0),
        unanswered=(300, 120, 30, 12),
    ),
)

# A row written before the summary had a type: the learner's run on a project with no face.
OLD_EMPTY_RUN = {
    "precision": None,
    "recall": None,
    "answers": 0,
    "confirmed": 0,
    "suggested": 0,
    "faces": 0,
    "updated_at": "2026-11-23T15:00:00+00:00",
}


# --- stored form ------------------------------------------------------------------------


def test_a_summary_survives_the_round_trip_through_json():
    assert LearnerSummary.from_json(SUMMARY.to_json()) == SUMMARY


def test_a_summary_without_histogram_or_date_survives_the_round_trip():
    bare = LearnerSummary(updated_at=None, answers=3)
    assert LearnerSummary.from_json(bare.to_json()) == bare


def test_a_summary_gives_its_sums_and_an_older_one_derives_them_from_its_ratios():
    counts = SUMMARY.counts()
    assert (counts.suggested, counts.expected_right) == (40, 36.4)
    assert (counts.expected_found, counts.expected_positives) == (45.4, 73.2)
    assert counts.precision_interval == (0.84, 0.96) and counts.recall_interval == (0.5, 0.71)
    older = LearnerSummary.from_json(
        {**SUMMARY.to_json(), "expected_right": None, "expected_found": None}
        | {"expected_positives": "many"}
    )
    assert older is not None
    derived = older.counts()
    assert derived.expected_right == pytest.approx(0.91 * 40)
    assert derived.expected_found == pytest.approx(9 + 0.91 * 40)
    assert derived.expected_positives == pytest.approx((9 + 0.91 * 40) / 0.62)
    nothing = LearnerSummary.from_json(OLD_EMPTY_RUN)
    assert nothing is not None
    assert nothing.counts().expected_positives == 0.0


@pytest.mark.parametrize(
    "interval", [None, "0.5-0.7", [0.5], [0.7, 0.5], [-0.1, 0.5], [0.5, 1.2], [0.5, True]]
)
def test_an_interval_that_is_not_two_shares_low_first_reads_as_none(interval):
    stored = SUMMARY.to_json() | {"precision_interval": interval}
    summary = LearnerSummary.from_json(stored)
    assert summary.precision_interval is None
    assert summary.recall_interval == (0.5, 0.71)


def test_a_row_written_before_intervals_reads_without_them():
    stored = SUMMARY.to_json()
    del stored["precision_interval"], stored["recall_interval"]
    summary = LearnerSummary.from_json(stored)
    assert (summary.precision_interval, summary.recall_interval) == (None, None)


@pytest.mark.parametrize("stored", [None, {}, [], "nonsense"])
def test_a_project_the_learner_never_ran_on_has_no_summary(stored):
    assert LearnerSummary.from_json(stored) is None


def test_an_old_row_without_threshold_or_histogram_reads_with_defaults():
    summary = LearnerSummary.from_json(OLD_EMPTY_RUN)
    assert summary == LearnerSummary(updated_at=WHEN)
    assert summary.threshold is None and summary.histogram is None


def test_missing_and_renamed_keys_give_defaults_not_errors():
    stored = SUMMARY.to_json()
    stored["answer_count"] = stored.pop("answers")
    stored["updated"] = stored.pop("updated_at")
    del stored["precision"], stored["histogram"]["answered_no"]
    summary = LearnerSummary.from_json(stored)
    assert summary is not None
    assert (summary.answers, summary.updated_at, summary.precision) == (0, None, None)
    assert summary.histogram is not None and summary.histogram.answered_no == (0, 0, 0, 0)
    assert summary.recall == 0.62 and summary.suggested == 40


def test_values_of_the_wrong_type_read_as_defaults():
    stored = {
        "answers": "12",
        "suggested": True,
        "precision": "high",
        "threshold": float("nan"),
        "updated_at": "yesterday",
        "histogram": "none",
    }
    assert LearnerSummary.from_json(stored) == LearnerSummary(updated_at=None)


def test_a_histogram_whose_bins_do_not_fit_its_counts_is_dropped():
    stored = SUMMARY.to_json()
    stored["histogram"]["bins"] = [0.0, 0.5, 1.0]
    assert LearnerSummary.from_json(stored).histogram is None
    stored["histogram"]["bins"] = [0.0, "a quarter", 0.5, 0.75, 1.0]
    assert LearnerSummary.from_json(stored).histogram is None


def test_a_histogram_with_left_edges_only_ends_at_one():
    stored = {"bins": [0.0, 0.5], "unanswered": [3, 1], "answered_yes": [2]}
    histogram = ScoreHistogram.from_json(stored)
    assert histogram == ScoreHistogram(
        bins=(0.0, 0.5, 1.0), answered_yes=(2, 0), answered_no=(0, 0), unanswered=(3, 1)
    )


def test_a_histogram_cannot_be_built_with_mismatched_lengths():
    with pytest.raises(ValueError):
        ScoreHistogram(bins=(0.0, 1.0), answered_yes=(1,), answered_no=(), unanswered=(1,))


@pytest.mark.django_db
def test_every_reader_gets_the_summary_from_the_project():
    project = ProjectFactory(learning=SUMMARY.to_json())
    assert learner_summary(project) == SUMMARY
    assert learner_summary(ProjectFactory()) is None


# --- the chart --------------------------------------------------------------------------


def test_the_chart_lays_out_every_shape_of_the_svg():
    chart = score_chart(SUMMARY)
    assert chart is not None and (chart.width, chart.height) == (360, 220)
    assert (chart.open_label.x, chart.open_label.y) == (4, 14)
    assert (chart.answer_label.x, chart.answer_label.y) == (4, 142)
    assert (chart.axis.x1, chart.axis.x2, chart.axis.y1, chart.axis.y2) == (24, 336, 204, 204)
    assert [(t.x, t.y, t.text) for t in chart.ticks][::5] == [
        (24, 218, "0\xa0%"),
        (336, 218, "100\xa0%"),
    ]
    mark = chart.threshold
    assert mark is not None and mark.value == 0.5
    assert (mark.line.x1, mark.line.x2, mark.line.y1, mark.line.y2) == (180, 180, 16, 206)
    assert (mark.label.x, mark.label.y) == (180, 12)
    assert chart.summary is SUMMARY


def test_the_chart_scales_each_band_to_its_peak_and_stacks_yes_on_no():
    bars = score_chart(SUMMARY).bars
    open_bars = [bar for bar in bars if bar.kind == "open"]
    assert [(bar.count, bar.y, bar.height) for bar in open_bars][:2] == [
        (300, 24, 100),  # the tallest fills the upper band
        (120, 84, 40),
    ]
    by_bin = {(bar.kind, bar.x): bar for bar in bars}
    no, yes = by_bin["no", 102.0], by_bin["yes", 102.0]  # the second bin: 2 no, 1 yes
    assert yes.y + yes.height == no.y and no.y + no.height == 204
    assert [bar.kind for bar in bars].count("yes") == 3  # empty bins draw nothing
    assert all(bar.width == 77 for bar in bars)


def test_no_threshold_means_no_threshold_line():
    chart = score_chart(LearnerSummary.from_json({**SUMMARY.to_json(), "threshold": None}))
    assert chart is not None and chart.threshold is None


@pytest.mark.parametrize("summary", [None, LearnerSummary(updated_at=WHEN)])
def test_there_is_no_chart_before_the_learner_scored_a_face(summary):
    assert score_chart(summary) is None
