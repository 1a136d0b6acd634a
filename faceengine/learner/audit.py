"""Questioning the statements already there: does each existing P180 face look like the faces
humans confirmed?

An existing statement of the person is a bootstrap yes: the learner takes its face as the
person without asking. A wrong one would then teach the learner to believe itself, so each
statement is scored as the learner scores an answered face, leave-one-out: its own photo is
never evidence (``held_out_distance``), so its own bootstrap yes cannot vouch for it; what
vouches for it is the faces humans confirmed and the *other* statements. A statement whose
face matches none of them well is doubted: it waits for a person in the "check existing
statements" queue, and until a person settles it, its bootstrap yes is no evidence
(:func:`audited_scores`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from faceengine.learner.evidence import Evidence, standing_statements
from faceengine.learner.scores import Scores, score_faces, sigmoid

DOUBT_BELOW = 0.5
"""A statement is doubted when the learner, scoring its face leave-one-out, thinks it less
likely the person than not: the same line as a suggestion (DEFAULT_MIN_PROBABILITY), seen
from the other side."""


@dataclass(frozen=True)
class StatementAudit:
    """One value per face of the evidence.

    ``probability``: the probability that a statement's face is the person on dlib's
    scale (the score's sigmoid), scored without its own statement (NaN for faces that are
    no statement, or not checked);
    ``checked``: statements with a yes on another photo to measure them by; ``doubted``: checked
    statements no human answered yet, below DOUBT_BELOW."""

    probability: np.ndarray
    checked: np.ndarray
    doubted: np.ndarray


def audit_statements(evidence: Evidence, scores: Scores) -> StatementAudit:
    """Score every statement's face against the others' evidence.

    1. ``scores`` are the learner's: an answered or stated face is scored leave-one-out (no
       face of its own photo is evidence about it), so a statement is measured against the
       human yes answers and the other statements, never against itself, and against the
       faces known to be somebody else (human no answers, a yes photo's other faces).
    2. A statement is checked when there is a yes on another photo to measure it by: a
       face a person confirmed, or another statement. A lone statement in a project nobody
       answered yet is not checked. Before any answer the statements check each other (the
       majority's look is the person's); each yes a person gives joins them.
    3. Its probability reads the score on dlib's own scale (the calibration's prior, slope
       1 and intercept 0: below one half when the nearest yes lies beyond dlib's
       same-person distance, or a known other is as near), not on the calibration fitted to
       the answers: the statements never enter that fit, and in a young project a few "no"
       answers near the boundary tilt it until every statement falls below one half (seen in
       ``python -m benchmarks audit_statements``: all four right statements of a person
       doubted after five answers). A standing statement (no human answered its face) below
       DOUBT_BELOW is doubted.
    """
    checked = evidence.bootstrap_mask() & np.isfinite(scores.distance)
    probability = np.full(evidence.size, np.nan, dtype=np.float32)
    probability[checked] = sigmoid(scores.score[checked])
    doubted = checked & standing_statements(evidence) & (probability < DOUBT_BELOW)
    return StatementAudit(probability=probability, checked=checked, doubted=doubted)


@dataclass(frozen=True)
class Audited:
    """The learner's scores once doubted statements stopped counting, the evidence they were
    computed from, and the audit that decided it."""

    evidence: Evidence
    scores: Scores
    audit: StatementAudit


def audited_scores(evidence: Evidence) -> Audited:
    """Score the faces with the statements the audit does not doubt.

    1. Score with every statement (the audit needs them all: the other statements vouch for
       each one), and audit them (:func:`audit_statements`).
    2. If some are doubted, score again without their bootstrap yes: a doubted statement is
       no evidence until a person settles it (a yes keeps it; a no proposes its removal), so
       a wrong statement cannot pull the learner towards its face. Its face is then open,
       like any unanswered face.
    """
    scores = score_faces(evidence)
    audit = audit_statements(evidence, scores)
    if not audit.doubted.any():
        return Audited(evidence, scores, audit)
    trusted = replace(evidence, bootstrap=evidence.bootstrap_mask() & ~audit.doubted)
    return Audited(trusted, score_faces(trusted), audit)
