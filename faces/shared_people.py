"""Who is this, when nobody of the group is? People proposed by the faces confirmed in other
projects whose owners opted in to sharing them (``Project.share_confirmed_faces``).

What a sharing project gives away: its person (Q-id and label) and how many faces its
reviewers confirmed. Never its photos, its name, its owner or which project it is: a
proposal carries none of them, and accepting one writes only in the group that asked
(``faces.services.shared_answers``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from django.db.models import Count, F, Q, Window
from django.db.models.functions import RowNumber

from faceengine.learner.distances import nearest_distance, usable_encodings
from faceengine.learner.scores import distance_probability
from faces.models import Face, Label
from projects.figures import percent
from projects.models import Project, Sensitivity, Withholding

MAX_PROPOSALS = 3

FACES_PER_PROJECT = 50
"""The newest confirmed faces read of each sharing project: the cost of a question stays
bounded however many faces a project confirmed (a person's recent look, mostly)."""

MAX_SHARING_PROJECTS = 200
"""The sharing projects read for one question, those with most confirmed faces first: at
most 200 * 50 encodings (5 MB), one distance product."""

MIN_PROBABILITY = 0.5
"""A person is proposed when the face is more likely them than not (``distance_probability``:
nearer than dlib's 0.6 to one of their confirmed faces), and within the sharing project's own
distance threshold."""

ASK_BELOW = 0.25
"""Proposals are shown when none of the group's people reaches this probability."""


@dataclass(frozen=True)
class Proposal:
    qid: str
    label: str
    confirmed: int  # faces confirmed in the sharing project
    probability: float
    probability_text: str  # as every page prints it ("87 %")


def proposals(*, projects: Sequence[Project], face: Face, language: str = "") -> list[Proposal]:
    """Up to MAX_PROPOSALS people for ``face`` from sharing projects outside the group,
    likeliest first. Two queries, whatever the number of sharing projects.

    1. The sharing projects (:func:`sharing_projects`): opted in, active and under no
       moderator's hold, about somebody not withheld, not sensitive and not of the group; at most
       MAX_SHARING_PROJECTS, most confirmed faces first.
    2. Their newest FACES_PER_PROJECT confirmed faces each (a human yes on a current face
       encoded by the same model as ``face``; faces of the same photo but ``face`` itself
       left out: two faces of one photo are two people).
    3. The nearest distance to each project's faces, read as a probability by the learner's
       scale; a project passes at MIN_PROBABILITY and within its own distance threshold.
    4. One proposal per person: of their passing projects, the one with most confirmed faces.
    """
    vector = face.vector
    if vector is None:
        return []
    sharing = {project.pk: project for project in sharing_projects(projects)}
    if not sharing:
        return []
    rows = list(_confirmed_encodings(sharing, face))
    best: dict[str, Proposal] = {}
    for project_id, probability, distance in _nearest(rows, vector):
        project = sharing[project_id]
        if probability < MIN_PROBABILITY or distance > project.distance_threshold:
            continue
        proposal = Proposal(
            qid=project.qid,
            label=project.label_in(language),
            confirmed=int(project.confirmed),  # type: ignore[attr-defined]
            probability=round(float(probability), 3),
            probability_text=percent(float(probability)),
        )
        held = best.get(project.qid)
        if held is None or proposal.confirmed > held.confirmed:
            best[project.qid] = proposal
    ranked = sorted(best.values(), key=lambda p: (-p.probability, -p.confirmed, p.qid))
    return ranked[:MAX_PROPOSALS]


def sharing_projects(projects: Sequence[Project]) -> list[Project]:
    """The projects that may propose a person to this group (step 1 of :func:`proposals`)."""
    withheld = Withholding.objects.filter(kind=Withholding.Kind.PERSON).values("value")
    # A sensitive person (a minor, say) is looked at one face at a time in their own project;
    # they are not offered to other contributors' groups either.
    sensitive = Sensitivity.objects.filter(kind=Sensitivity.Kind.PERSON).values("value")
    confirmed = Count(
        "labels", filter=Q(labels__source=Label.Source.HUMAN, labels__verdict=Label.Verdict.YES)
    )
    return list(
        Project.objects.active()
        .filter(share_confirmed_faces=True, moderator_writes_stopped=False)
        .exclude(pk__in=[project.pk for project in projects])
        .exclude(qid__in=[project.qid for project in projects])
        .exclude(qid__in=withheld)
        .exclude(qid__in=sensitive)
        .only("pk", "qid", "person_labels", "distance_threshold")
        .annotate(confirmed=confirmed)
        .filter(confirmed__gt=0)
        .order_by("-confirmed", "pk")[:MAX_SHARING_PROJECTS]
    )


def _confirmed_encodings(sharing: dict[int, Project], face: Face):
    other_faces_of_photo = Q(face__image_id=face.image_id) & ~Q(face_id=face.pk)
    newest = Window(RowNumber(), partition_by=[F("project_id")], order_by=F("created_at").desc())
    return (
        Label.objects.filter(
            project_id__in=list(sharing),
            source=Label.Source.HUMAN,
            verdict=Label.Verdict.YES,
            face__superseded_by__isnull=True,
            face__encoding__isnull=False,
            face__encoder=face.encoder,
        )
        .exclude(other_faces_of_photo)
        .annotate(newest=newest)
        .filter(newest__lte=FACES_PER_PROJECT)
        .values_list("project_id", "face__encoding")
    )


def _nearest(rows: list[tuple[int, bytes]], vector: np.ndarray):
    """(project id, probability, distance) of each project's face nearest to ``vector``."""
    if not rows:
        return []
    owners = np.array([project_id for project_id, _encoding in rows], dtype=np.int64)
    encodings = np.stack([np.frombuffer(bytes(value), dtype=np.float32) for _p, value in rows])
    usable = usable_encodings(encodings)
    owners, encodings = owners[usable], encodings[usable]
    distance = nearest_distance(encodings, vector.reshape(1, -1))  # each face to the question
    projects = np.unique(owners)
    nearest = np.array([distance[owners == project_id].min() for project_id in projects])
    probability = distance_probability(nearest)
    return [
        (int(project_id), float(p), float(d))
        for project_id, p, d in zip(projects, probability, nearest, strict=True)
    ]
