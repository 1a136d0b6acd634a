"""Questioning the existing statements (``faceengine.learner.audit``) on synthetic encodings
placed by hand: ``at(x, y)`` is the point (x, y, 0, …, 0), so distances are plain distances.

A statement is a bootstrap yes; the audit must judge it by the faces people confirmed and the
other statements, never by its own label.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from faceengine.learner.audit import audit_statements, audited_scores
from faceengine.learner.evidence import yes_faces
from faceengine.learner.scores import Calibration, score_faces
from tests.faces.test_learning import NO, NONE, YES, at, project


def statements(points, verdicts, stated):
    return project(points, verdicts, bootstrap=np.array(stated, dtype=bool))


# The person near 0, somebody else near 1.5. Faces 0 and 1: the reviewer's yes and no;
# 2-4: statements of the person's photos; 5: a statement on a stranger's photo.
PERSON_AND_STRANGER = (
    [at(0.0), at(1.5), at(0.1), at(0.05, 0.1), at(0.15, -0.05), at(1.45, 0.1)],
    [YES, NO, NONE, NONE, NONE, NONE],
    [False, False, True, True, True, True],
)


def test_a_statement_unlike_the_confirmed_faces_is_doubted_and_the_right_ones_are_not():
    evidence = statements(*PERSON_AND_STRANGER)
    audit = audit_statements(evidence, score_faces(evidence))
    assert audit.checked.tolist() == [False, False, True, True, True, True]
    assert audit.doubted.tolist() == [False, False, False, False, False, True]
    assert audit.probability[5] < 0.05 and (audit.probability[2:5] > 0.9).all()


def test_a_statement_never_vouches_for_itself():
    """A lone statement far from everything has only its own label to go on: doubted. Were
    its own bootstrap yes evidence, it would sit at distance 0 from a yes and pass."""
    evidence = statements([at(0.0), at(0.02), at(1.2)], [YES, NONE, NONE], [False, True, True])
    audit = audit_statements(evidence, score_faces(evidence))
    assert audit.doubted.tolist() == [False, False, True]


def test_two_faces_of_one_photo_do_not_vouch_for_each_other():
    """Leave-one-out is by photo: a stranger's face beside the stated face on the same file
    is no evidence about it either."""
    evidence = project(
        [at(0.0), at(1.2), at(1.21)],
        np.array([YES, NONE, NONE]),
        images=[0, 1, 1],
        bootstrap=np.array([False, True, False]),
    )
    audit = audit_statements(evidence, score_faces(evidence))
    assert audit.doubted.tolist() == [False, True, False]


def test_other_statements_vouch_for_a_statement_far_from_the_reviewers_yes():
    """A look of the person nobody answered yet, stated on three photos: they support each
    other (leave-one-out over the statements) and none is doubted."""
    points = [at(0.0), at(0.9), at(0.92), at(0.9, 0.03)]
    evidence = statements(points, [YES, NONE, NONE, NONE], [False, True, True, True])
    audit = audit_statements(evidence, score_faces(evidence))
    assert audit.checked[1:].all() and not audit.doubted.any()


def test_before_any_answer_the_statements_check_each_other():
    points, _, stated = PERSON_AND_STRANGER
    evidence = statements(points, [NONE] * 6, stated)
    audit = audit_statements(evidence, score_faces(evidence))
    assert audit.doubted.tolist() == [False, False, False, False, False, True]


def test_a_lone_statement_with_nothing_to_measure_it_by_is_not_checked():
    evidence = statements([at(0.0), at(1.5)], [NONE, NO], [True, False])
    audit = audit_statements(evidence, score_faces(evidence))
    assert not audit.checked.any() and not audit.doubted.any()
    assert np.isnan(audit.probability).all()


def test_an_answered_statement_is_settled_not_doubted():
    points, verdicts, stated = PERSON_AND_STRANGER
    evidence = statements(points, [*verdicts[:5], YES], stated)  # a person kept it
    audit = audit_statements(evidence, score_faces(evidence))
    assert audit.checked[5] and not audit.doubted.any()


def test_a_doubted_statement_stops_counting_as_a_yes_until_settled():
    """Its bootstrap yes would otherwise pull the stranger's other photos into the grid."""
    points, verdicts, stated = PERSON_AND_STRANGER
    # Face 6: another photo of the stranger, nobody answered it.
    evidence = statements([*points, at(1.5, 0.1)], [*verdicts, NONE], [*stated, False])
    trusting = score_faces(evidence)
    assert trusting.probability[6] > 0.5  # what the wrong statement would teach
    audited = audited_scores(evidence)
    assert audited.audit.doubted.tolist() == [False] * 5 + [True, False]
    assert not yes_faces(audited.evidence)[5]
    assert audited.scores.probability[6] < 0.1
    assert audited.scores.open[5]  # its face may be asked like any other


def test_a_calibration_tilted_by_a_few_answers_does_not_doubt_every_statement():
    """A young project's fit on a handful of "no" answers near the boundary can read every
    score below one half; the statements never entered that fit, so the audit reads their
    scores on dlib's own scale."""
    evidence = statements(*PERSON_AND_STRANGER)
    tilted = replace(score_faces(evidence), calibration=Calibration(slope=0.25, intercept=-3.0))
    assert tilted.calibration.probability(tilted.score[2:5]).max() < 0.5
    audit = audit_statements(evidence, tilted)
    assert audit.doubted.tolist() == [False, False, False, False, False, True]
