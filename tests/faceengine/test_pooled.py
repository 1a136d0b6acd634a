"""Several people's estimates pooled: sums over the people, against hand-computed sums."""

from __future__ import annotations

import pytest

from faceengine.learner.pooled import PersonCounts, pooled

# A: 2 suggestions, 1 expected right; 10 confirmed, 20 faces expected in all.
FEW = PersonCounts(
    suggested=2,
    expected_right=1.0,
    expected_found=11.0,
    expected_positives=20.0,
    precision_interval=(0.2, 0.8),
    recall_interval=(0.45, 0.65),
)
# B: 200 suggestions, 190 expected right; 10 confirmed, 210 faces expected in all.
MANY = PersonCounts(
    suggested=200,
    expected_right=190.0,
    expected_found=200.0,
    expected_positives=210.0,
    precision_interval=(0.92, 0.97),
    recall_interval=(0.93, 0.97),
)


def test_the_figures_are_ratios_of_the_sums_not_means_of_the_ratios():
    together = pooled([FEW, MANY])
    assert together.precision == pytest.approx(191 / 202)  # a mean of ratios: 0.725
    assert together.recall == pytest.approx(211 / 230)  # a mean of ratios: 0.751
    alone = pooled([FEW])
    assert (alone.precision, alone.recall) == pytest.approx((0.5, 11 / 20))


def test_the_intervals_take_every_person_at_their_bound_at_once():
    together = pooled([FEW, MANY])
    # Precision: A's range is 2 * 0.3 = 0.6 faces each side; B's 200 * 0.03 = 6 below and
    # 200 * 0.02 = 4 above.
    low = 191 / 202 - (0.6 + 6) / 202
    high = 191 / 202 + (0.6 + 4) / 202
    assert together.precision_interval == pytest.approx((low, high))
    # Recall: A's 20 * (0.55 - 0.45) = 2 below, 20 * 0.1 = 2 above; B's point 200 / 210.
    b = 200 / 210
    low = 211 / 230 - (2 + 210 * (b - 0.93)) / 230
    high = 211 / 230 + (2 + 210 * (0.97 - b)) / 230
    assert together.recall_interval == pytest.approx((low, high))


def test_a_person_without_suggestions_counts_for_recall_only():
    waiting = PersonCounts(
        suggested=0,
        expected_right=0.0,
        expected_found=3.0,
        expected_positives=30.0,
        recall_interval=(0.05, 0.2),
    )
    together = pooled([FEW, waiting])
    assert together.precision == pytest.approx(0.5)
    assert together.precision_interval == pytest.approx((0.2, 0.8))
    assert together.recall == pytest.approx(14 / 50)


def test_nobody_with_suggestions_has_no_precision_and_nobody_at_all_no_figure():
    waiting = PersonCounts(
        suggested=0, expected_right=0.0, expected_found=3.0, expected_positives=30.0
    )
    together = pooled([waiting, waiting])
    assert (together.precision, together.precision_interval) == (None, None)
    assert together.recall == pytest.approx(0.1)
    assert pooled([]) == pooled([PersonCounts(0, 0.0, 0.0, 0.0)])
    assert pooled([]).precision is None and pooled([]).recall is None


def test_the_recall_waits_until_every_person_has_a_face_found():
    # A person with no face found yet: their learner counts next to none of their faces,
    # which is no evidence that there are none.
    for uncounted in (PersonCounts(0, 0.0, 0.0, 0.0), PersonCounts(0, 0.0, 0.0, 1e-6)):
        together = pooled([FEW, MANY, uncounted])
        assert together.precision == pytest.approx(191 / 202)
        assert (together.recall, together.recall_interval) == (None, None)


def test_a_person_without_an_interval_leaves_the_pooled_figure_without_one():
    older = PersonCounts(
        suggested=10, expected_right=9.0, expected_found=19.0, expected_positives=25.0
    )
    together = pooled([MANY, older])
    assert together.precision == pytest.approx(199 / 210)
    assert together.precision_interval is None and together.recall_interval is None
