"""The learner on small synthetic encodings whose distances are chosen by hand.

A face is placed with ``at(x, y)``: its encoding is (x, y, 0, …, 0), so the distance between
two faces is the plain distance between their points. dlib's threshold is 0.6.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from django.conf import settings

from faceengine.learner.distances import covering_subset, nearest_distance
from faceengine.learner.evidence import (
    Evidence,
    Verdict,
    evidence_count,
    implied_no,
    open_faces,
    standing_portrait,
    yes_faces,
)
from faceengine.learner.questions import (
    TURN_SLACK,
    group_turn,
    in_doubt,
    next_question,
    review_priority,
)
from faceengine.learner.scores import (
    MIN_SLOPE,
    SCORE_LIMIT,
    SHARPNESS,
    Strategy,
    margin_scores,
    score_faces,
)
from faceengine.learner.suggestions import suggest

YES, NO, NONE = Verdict.YES, Verdict.NO, Verdict.NONE
FACES_DIR = Path(settings.FACES_DATA_DIR)


def at(x: float, y: float = 0.0) -> np.ndarray:
    point = np.zeros(128, dtype=np.float32)
    point[:2] = (x, y)
    return point


def project(
    points: list[np.ndarray],
    verdicts: list[int] | None = None,
    *,
    images: list[int] | None = None,
    **extra,
) -> Evidence:
    """One image per face unless ``images`` says otherwise."""
    return Evidence(
        encodings=np.stack(points),
        image_index=np.array(images if images is not None else range(len(points))),
        verdicts=np.array(verdicts if verdicts is not None else [NONE] * len(points)),
        **extra,
    )


def suggested(evidence: Evidence, strategy: Strategy = Strategy.DEFAULT) -> set[int]:
    scores = score_faces(evidence, strategy=strategy)
    return {int(face) for face in suggest(evidence, scores).faces}


# Scoring --------------------------------------------------------------------------------


def test_a_face_near_a_yes_is_suggested_and_a_far_one_is_not():
    evidence = project([at(0), at(0.3), at(0.45), at(1.0)], [YES, NONE, NONE, NONE])
    assert suggested(evidence) == {1, 2}


def test_a_no_answer_moves_the_boundary():
    # Face 1 is 0.45 from the yes; face 2 is 0.2 from face 1 and 0.63 from the yes.
    points = [at(0), at(0.45), at(0.62, 0.1), at(-0.3)]
    before = project(points, [YES, NONE, NONE, NONE])
    after = project(points, [YES, NONE, NO, NONE])
    assert 1 in suggested(before)
    assert 1 not in suggested(after)
    assert 3 in suggested(after)  # a face on the yes side keeps its place
    score_before = score_faces(before).score[1]
    score_after = score_faces(after).score[1]
    assert score_after < score_before - 5


def test_the_centroid_strategy_ignores_no_answers():
    points = [at(0), at(0.1), at(0.45), at(0.62, 0.1)]
    without = project(points, [YES, YES, NONE, NONE])
    with_no = project(points, [YES, YES, NONE, NO])
    centroid = Strategy.CENTROID
    assert np.array_equal(
        score_faces(without, strategy=centroid).score,
        score_faces(with_no, strategy=centroid).score,
    )
    assert 2 in suggested(with_no, centroid)
    assert 2 not in suggested(with_no)  # the default strategy listens to the no


def test_the_centroid_strategy_matches_within_the_threshold_of_the_mean_yes():
    evidence = project([at(-0.2), at(0.2), at(0.55), at(0.65)], [YES, YES, NONE, NONE])
    assert suggested(evidence, Strategy.CENTROID) == {2}


def test_only_one_face_of_an_image_is_suggested():
    # Faces 1, 2 and 3 are on the same image; 2 and 3 are far from the yes.
    points = [at(0), at(0.2), at(0, 0.8), at(-0.5, 0.7)]
    evidence = project(points, [YES, NONE, NONE, NONE], images=[0, 1, 1, 1])
    scores = score_faces(evidence)
    assert suggested(evidence) == {1}
    assert scores.probability[1:].sum() <= 1.0 + 1e-6


def test_two_plausible_faces_of_one_photo_are_asked_about_not_suggested():
    # Faces 1 and 2 share a photo and both look like the yes: a lookalike beside the person.
    points = [at(0), at(0.2), at(0, 0.3), at(0.25, 0.25), at(2.0)]
    evidence = project(points, [YES, NONE, NONE, NONE, NONE], images=[0, 1, 1, 2, 3])
    scores = score_faces(evidence)
    assert scores.contested[1] and scores.contested[2] and not scores.contested[3]
    assert suggested(evidence) == {3}
    assert next_question(evidence, scores) == 1  # the likelier of the two first


def test_a_yes_makes_the_other_faces_of_its_image_no():
    points = [at(0), at(0.2), at(0, 0.3), at(0.25, 0.1)]
    evidence = project(points, [YES, NONE, YES, NONE], images=[0, 1, 1, 2])
    scores = score_faces(evidence)
    assert not scores.open[1]
    assert implied_no(evidence)[1]
    assert 1 not in suggested(evidence)
    # ... and that implied no is evidence against the faces that look like it.
    alone = project(points, [YES, NONE, NONE, NONE], images=[0, 1, 5, 2])
    assert scores.score[3] < score_faces(alone).score[3]


def test_being_confirmed_as_someone_else_elsewhere_lowers_a_score():
    points = [at(0), at(0.3), at(0.35, 0.05), at(-0.45)]
    clean = score_faces(project(points, [YES, NONE, NONE, NONE])).score
    weights = np.array([0, 1.0, 0, 0], dtype=np.float32)
    evidence = project(points, [YES, NONE, NONE, NONE], against=weights)
    against = score_faces(evidence).score
    assert against[1] < clean[1] - 5  # the face itself
    assert against[2] < clean[2] - 3  # and the face that looks just like it
    assert against[3] == pytest.approx(clean[3], abs=0.05)  # 0.75 away: barely touched
    assert suggested(evidence) == {3}


def test_weaker_evidence_against_lowers_a_score_less():
    points = [at(0), at(0.3)]
    scores = [
        score_faces(
            project(points, [YES, NONE], against=np.array([0, weight], dtype=np.float32))
        ).score[1]
        for weight in (0.0, 0.3, 1.0)
    ]
    assert scores[0] > scores[1] > scores[2]


def test_an_existing_depicts_statement_counts_as_a_yes_until_a_human_says_no():
    points = [at(0), at(0.3)]
    bootstrap = np.array([True, False])
    assert 1 in suggested(project(points, bootstrap=bootstrap))
    assert suggested(project(points, [NO, NONE], bootstrap=bootstrap)) == set()


def test_answered_faces_are_scored_without_their_own_answer():
    evidence = project([at(0), at(0.3), at(1.5)], [YES, YES, NO])
    scores = score_faces(evidence)
    assert scores.score[0] == pytest.approx(SHARPNESS * (0.6 - 0.3), abs=1e-3)
    assert scores.score[2] == -SCORE_LIMIT


def known_set(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """150 photos of the person around the origin, 600 of 150 others 0.45-1.0 away."""
    rng = np.random.default_rng(seed)
    spread = 0.42 / np.sqrt(2 * 128)
    directions = rng.normal(size=(150, 128))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    centres = directions * rng.uniform(0.45, 1.0, (150, 1))
    others = np.repeat(centres, 4, axis=0)
    encodings = np.concatenate([np.zeros((150, 128)), others])
    encodings += rng.normal(0.0, spread, encodings.shape)
    return encodings.astype(np.float32), np.arange(encodings.shape[0]) < 150


def calibration_error(probability: np.ndarray, truth: np.ndarray) -> float:
    """Mean gap between predicted probability and observed frequency, over 5 bins."""
    bins = np.minimum((probability * 5).astype(int), 4)
    gaps = [
        (bins == b).sum() * abs(probability[bins == b].mean() - truth[bins == b].mean())
        for b in range(5)
        if (bins == b).any()
    ]
    return float(sum(gaps) / probability.size)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_probabilities_match_frequencies_on_a_known_set(seed):
    encodings, truth = known_set(seed)
    rng = np.random.default_rng(seed + 10)
    answered = rng.random(truth.size) < 0.3
    verdicts = np.where(answered, np.where(truth, YES, NO), NONE)
    evidence = Evidence(encodings, np.arange(truth.size), verdicts)
    scores = score_faces(evidence)
    unseen = scores.open
    assert calibration_error(scores.probability[unseen], truth[unseen]) < 0.06
    expected = scores.probability[unseen].sum()
    assert expected == pytest.approx(truth[unseen].sum(), rel=0.12)


def test_a_project_threshold_caps_suggestions_without_changing_probabilities():
    # Before, a wide threshold (0.75) shifted every score up and the estimate with it.
    evidence = project([at(0), at(0.3), at(0.5), at(0.7)], [YES, NONE, NONE, NONE])
    wide = score_faces(evidence, threshold=0.75)
    assert np.array_equal(wide.probability, score_faces(evidence).probability)
    assert wide.probability[3] < 0.5  # 0.7 away is not the person on dlib's scale
    capped = suggest(evidence, wide, max_distance=0.4)
    assert {int(face) for face in capped.faces} == {1}
    assert {int(face) for face in suggest(evidence, wide).faces} == {1, 2}


def test_the_first_answers_cannot_turn_the_score_around():
    # One yes whose only support is itself scores -10 left out; it must not flip the slope.
    evidence = project([at(0), at(0.3), at(1.5)], [YES, NONE, NO])
    calibration = score_faces(evidence).calibration
    assert calibration.slope >= MIN_SLOPE
    assert suggested(evidence) == {1}


# Review order ---------------------------------------------------------------------------


def test_the_next_question_is_the_most_uncertain_face():
    evidence = project([at(0), at(0.2), at(0.6), at(1.2)], [YES, NONE, NONE, NONE])
    assert next_question(evidence, score_faces(evidence)) == 2


def test_a_doubted_suggestion_is_asked_before_a_face_the_threshold_keeps_out():
    # Face 1 (0.55 from the yes) is suggested at about 78 %; face 2 (0.605) sits nearer 50 %
    # but beyond the project's threshold of 0.6, so no answer about it changes the grid.
    evidence = project([at(0), at(0.55), at(0, 0.605), at(-1.5)], [YES, NONE, NONE, NO])
    scores = score_faces(evidence)
    assert 0.6 < scores.probability[1] < 0.9 and 0.4 < scores.probability[2] < 0.5
    assert next_question(evidence, scores, max_distance=0.6) == 1
    priority = review_priority(evidence, scores, max_distance=0.6)
    assert priority[1] > priority[2]


def test_a_likely_missed_face_is_asked_before_a_fairly_sure_suggestion():
    # Face 1 is suggested at about 92 %; face 2, within a threshold of 0.65, is just below
    # 50 %: the likelier mistake of the grid (a face of the person it would leave out).
    evidence = project([at(0), at(0.5), at(0, 0.61), at(-1.5)], [YES, NONE, NONE, NO])
    scores = score_faces(evidence)
    assert 0.9 < scores.probability[1] < 0.95 and 0.4 < scores.probability[2] < 0.5
    assert list(in_doubt(evidence, scores, max_distance=0.65)) == [2, 1]
    assert next_question(evidence, scores, max_distance=0.65) == 2
    # Beyond a threshold of 0.6 face 2 could not be sent: the suggestion is asked first.
    assert next_question(evidence, scores, max_distance=0.6) == 1


def test_an_existing_statement_is_a_yes_without_asking():
    points = [at(1.0), at(1.05), at(1.1), at(0), at(-1.0), at(-1.1)]
    bootstrap = np.array([False, False, False, False, True, False])
    evidence = project(points, bootstrap=bootstrap, hint=3)
    scores = score_faces(evidence)
    assert next_question(evidence, scores) != 4
    assert np.isnan(review_priority(evidence, scores)[4])
    # A yes already: it counts (and the portrait, the only face of its photo, counts
    # too), and its look-alike is suggested with no answer given.
    assert evidence_count(evidence) == 2
    assert 5 in suggested(evidence)


def test_the_only_face_of_the_wikidata_image_is_a_yes_the_grid_proposes():
    points = [at(0), at(0.05), at(0.1), at(1.5), at(0, 0.02)]
    evidence = project(points, hint=0)
    scores = score_faces(evidence)
    # Never asked, counted as an answer, and a yes the other faces are scored against.
    assert list(standing_portrait(evidence)) == [True, False, False, False, False]
    assert np.isnan(review_priority(evidence, scores)[0]) and not scores.open[0]
    assert evidence_count(evidence) == 1 and yes_faces(evidence)[0]
    proposed = suggest(evidence, scores)
    # Proposed first at 1 (sent only once approved), not a guess the estimates weigh.
    assert proposed.faces[0] == 0 and proposed.probability[0] == 1.0
    assert {1, 2} <= set(proposed.faces.tolist()) and 3 not in proposed.faces
    # The grid's precision counts it as a suggestion right for certain, the rest as guessed.
    guessed = scores.probability[proposed.faces[1:]]
    expected = (float(guessed.sum()) + 1.0) / (guessed.size + 1)
    assert proposed.estimate.precision == pytest.approx(expected)
    assert proposed.estimate.suggested == proposed.faces.size
    # With nothing else suggested, precision is the portrait's: 100 %, its interval too.
    alone = project([at(0), at(1.5), at(1.6)], [NONE, NO, NONE], hint=0)
    only = suggest(alone, score_faces(alone))
    assert list(only.faces) == [0]
    assert only.estimate.precision == 1.0 and only.estimate.precision_interval == (1.0, 1.0)
    # Answered (here "no"), it is an ordinary answer; on a photo of two faces, a question.
    answered = project(points, [NO, NONE, NONE, NONE, NONE], hint=0)
    assert (
        not standing_portrait(answered).any()
        and 0 not in suggest(answered, score_faces(answered)).faces
    )
    crowded = project(points, images=[0, 1, 2, 3, 0], hint=0)
    assert not standing_portrait(crowded).any()
    assert next_question(crowded, score_faces(crowded)) == 0


def test_an_existing_statement_is_no_for_the_other_faces_of_its_photo():
    evidence = project([at(0), at(0.1)], images=[0, 0], bootstrap=np.array([True, False]))
    assert list(open_faces(evidence)) == [False, False]


def test_a_statement_a_human_said_no_to_leaves_the_hint_first():
    points = [at(1.0), at(1.05), at(1.1), at(0), at(-1.0)]
    bootstrap = np.array([False, False, False, False, True])
    # The Wikidata image holds two faces (3 and a stranger's), so its largest is a question.
    points, bootstrap = [*points, at(-2.0)], np.append(bootstrap, False)
    verdicts = [NONE, NONE, NONE, NONE, NO, NONE]
    confirmed_no = project(points, verdicts, images=[0, 1, 2, 3, 4, 3], bootstrap=bootstrap, hint=3)
    assert next_question(confirmed_no, score_faces(confirmed_no)) == 3


def test_without_a_hint_the_densest_cluster_is_asked_first():
    points = [at(0), at(1.0), at(1.05), at(1.1, 0.05), at(-1.0), at(2.0)]
    evidence = project(points)
    assert next_question(evidence, score_faces(evidence)) in {1, 2, 3}
    # After a no on that cluster the next question goes elsewhere.
    told = project(points, [NONE, NONE, NO, NONE, NONE, NONE])
    assert next_question(told, score_faces(told)) not in {1, 2, 3}


def test_the_centroid_strategy_asks_at_random_among_open_faces():
    evidence = project([at(0), at(0.2), at(0.6), at(1.2)], [YES, NONE, NONE, NONE])
    scores = score_faces(evidence, strategy=Strategy.CENTROID)
    asked = {next_question(evidence, scores, rng=np.random.default_rng(seed)) for seed in range(20)}
    assert asked == {1, 2, 3}


def test_no_question_is_left_when_every_face_is_answered():
    evidence = project([at(0), at(1.0)], [YES, NO])
    assert next_question(evidence, score_faces(evidence)) is None


# Estimates and distances ----------------------------------------------------------------


def test_estimates_come_from_the_answers():
    # Two yes close together, two no far away: each answer is predicted by the others.
    evidence = project([at(0), at(0.2), at(1.2), at(1.3), at(0.1, 0.1)], [YES, YES, NO, NO, NONE])
    estimate = suggest(evidence, score_faces(evidence)).estimate
    assert estimate.held_out_precision == 1.0
    assert estimate.held_out_recall == 1.0
    assert estimate.answers == 4
    assert estimate.precision is not None and estimate.precision > 0.95


def test_a_lone_yes_gives_a_pessimistic_held_out_recall():
    evidence = project([at(0), at(2.0, 1.0), at(0.2)], [YES, YES, NONE])
    estimate = suggest(evidence, score_faces(evidence)).estimate
    assert estimate.held_out_recall == 0.0  # neither yes predicts the other


def test_nearest_distance_in_blocks_matches_the_direct_computation():
    rng = np.random.default_rng(3)
    queries = rng.normal(0, 0.1, (1000, 128)).astype(np.float32)
    references = rng.normal(0, 0.1, (37, 128)).astype(np.float32)
    direct = np.sqrt(
        ((queries[:, None, :].astype(np.float64) - references[None]) ** 2).sum(-1)
    ).min(axis=1)
    blocks = nearest_distance(queries, references, chunk_rows=128)
    np.testing.assert_allclose(blocks, direct, atol=1e-4)
    assert np.isinf(nearest_distance(queries, references[:0])).all()


def test_many_yes_faces_are_covered_by_representatives_that_only_lower_scores():
    rng = np.random.default_rng(5)
    yes_points = rng.normal(0, 0.03, (40, 128)).astype(np.float32)
    crowd = rng.normal(0, 0.05, (60, 128)).astype(np.float32)
    encodings = np.concatenate([yes_points, crowd])
    verdicts = np.array([YES] * 40 + [NONE] * 60)
    evidence = Evidence(encodings, np.arange(100), verdicts)
    chosen = covering_subset(encodings, np.arange(40), limit=8)
    assert chosen.size == 8 and set(chosen) <= set(range(40))
    exact = margin_scores(evidence)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("faceengine.learner.scores.MAX_YES_REFERENCES", 8)
        covered = margin_scores(evidence)
    assert (covered <= exact + 1e-4).all()
    assert (covered < exact - 1e-3).any()


def test_a_group_asks_the_likeliest_mistake_first_within_the_slack():
    # People 0-2 need a question (EXPLORING or more), person 3 does not.
    best = np.array([5.2, 5.9, 1.5, 0.4])
    assert group_turn(best, np.array([0, 0, 0, 0])) == 1
    # Person 1 served TURN_SLACK more than the least served needing person: still first;
    # one more, and the next likeliest mistake among the others comes first.
    assert group_turn(best, np.array([0, TURN_SLACK, 0, 0])) == 1
    assert group_turn(best, np.array([0, TURN_SLACK + 1, 0, 0])) == 0
    # Equal as stored (to 0.01): the least served, then the first.
    assert group_turn(np.array([5.504, 5.5, 5.5]), np.array([2, 1, 1])) == 1
    # Nobody needs one: the highest priority, whoever was served.
    assert group_turn(np.array([0.2, -1.0, 0.4]), np.array([0, 0, 5])) == 2
