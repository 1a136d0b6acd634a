"""Reads for the pages of a group of people: the next "who is this?" question, the people
likeliest to be a face, and each person's figures."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import ngettext

from faceengine.learner.pooled import PersonCounts, pooled
from faceengine.learner.questions import group_turn
from faces import shared_people
from faces.learner_figures import estimate_texts, learner_summary
from faces.models import Face, Label, ProjectImage, ReviewLease
from faces.selectors import next_face, question_for, thumb_at
from projects.figures import percent, percent_between
from projects.models import GroupPerson, Project

# How many faces one person's review order may offer that the group answered already (in
# another person's project) before that person is passed over for this question.
PASSES_PER_PERSON = 8
KEYED_PEOPLE = 9  # keys 1-9


@dataclass(frozen=True)
class NextQuestion:
    """The face to ask about, and whose turn it is (None: a face the reviewer held)."""

    face: Face
    turn: Project | None


def group_next_face(
    *, projects: Sequence[Project], user: AbstractBaseUser, exclude: Sequence[int] = ()
) -> NextQuestion | None:
    """The face the group most needs an answer on, not held for anyone else.

    1. A face this reviewer holds in the group (a reload) comes first.
    2. Else each person's own next question (``next_face``: the learner's review order,
       then existing statements, then faces in the order found), passing over faces the
       group answered already (a human label in any of its projects) or that are not a
       current face of every project (a box drawn in one of them only).
    3. The people take turns (``faceengine.learner.questions.group_turn``, which the
       benchmarks run too): of those whose learner needs its question (its first question,
       a contested photo, a suggestion in doubt, a cluster to explore: a review priority of
       EXPLORING or more) and were served (``GroupPerson.served``) at most TURN_SLACK more
       than the least served of them, the highest priority (a grid's likeliest mistake),
       then the least served, then the group's order; when nobody needs one, the highest
       review priority. Asking the highest priority of anyone at every turn, a group needed
       as many answers as its people alone, or more (``benchmarks/people.py``).
    """
    held = _held_in_group(projects, user, exclude)
    if held is not None:
        return NextQuestion(held, None)
    served = dict(
        GroupPerson.objects.filter(project__in=projects).values_list("project_id", "served")
    )
    offers = []
    for position, project in enumerate(projects):
        face = _open_next(projects, project, user, list(exclude))
        if face is not None:
            offers.append((_priority(project, face), served.get(project.pk, 0), position, face))
    if not offers:
        return None
    turn = group_turn(
        np.array([offer[0] for offer in offers]), np.array([offer[1] for offer in offers])
    )
    chosen = offers[turn]
    return NextQuestion(chosen[3], projects[chosen[2]])


def _open_next(
    projects: Sequence[Project], project: Project, user: AbstractBaseUser, hidden: list[int]
) -> Face | None:
    for _pass in range(PASSES_PER_PERSON):
        face = next_face(project=project, user=user, exclude=hidden)
        if face is None or group_open(projects, face):
            return face
        hidden.append(face.pk)
    return None


def group_open(projects: Sequence[Project], face: Face) -> bool:
    """Whether the group still asks about this face: no person answered it in any of its
    projects, and it is a current face of each."""
    if face.superseded_by_id is not None:
        return False
    # A box drawn in one project is that project's until answered there (faces.models.seen_in_q);
    # an answer anywhere in the group ends the question anyway.
    if face.project_id is not None and any(p.pk != face.project_id for p in projects):
        return False
    answered = Label.objects.filter(project__in=projects, face=face, source=Label.Source.HUMAN)
    if answered.exists():
        return False
    linked = ProjectImage.objects.filter(image_id=face.image_id, project__in=projects)
    return linked.values("project_id").distinct().count() == len(projects)


def _held_in_group(
    projects: Sequence[Project], user: AbstractBaseUser, exclude: Sequence[int]
) -> Face | None:
    if not projects:
        return None
    held = (
        ReviewLease.objects.filter(
            project=projects[0], user_id=user.pk, expires_at__gt=timezone.now()
        )
        .exclude(face_id__in=exclude)
        .order_by("expires_at", "id")
        .values_list("face_id", flat=True)
    )
    for face_id in held[: len(exclude) + 4]:
        face = Face.objects.select_related("image").defer("encoding").get(pk=face_id)
        if group_open(projects, face):
            return face
    return None


def _priority(project: Project, face: Face) -> float:
    priority = (
        Label.objects.filter(project=project, face=face, source=Label.Source.MODEL)
        .values_list("priority", flat=True)
        .first()
    )
    return -math.inf if priority is None else float(priority)


@dataclass(frozen=True)
class Candidate:
    key: int | None  # 1-9 for the nine likeliest, None beyond
    project: int
    label: str
    qid: str
    probability: str  # as every page prints it ("87 %"), "—" before the learner ran
    score: float | None  # the same, as a number
    crop: dict[str, Any] | None = None  # the person's face to show (see person_faces)


# A person's face beside their name is a small crop of a photo the browser loads anyway.
PERSON_FACE_WIDTH = 330


def person_faces(projects: Sequence[Project]) -> dict[int, dict[str, Any]]:
    """Each person's face to show beside their name, by project id: the newest face their
    project's reviewers confirmed (a human yes), else the largest face of their Wikidata
    image (P18) when the project holds that file; none for a person with neither. Two
    queries whatever the number of people."""
    newest = (
        Label.objects.filter(
            project__in=projects,
            source=Label.Source.HUMAN,
            verdict=Label.Verdict.YES,
            face__superseded_by__isnull=True,
        )
        .values("project_id")
        .annotate(newest=Max("pk"))
        .values("newest")
    )
    faces = {
        label.project_id: label.face
        for label in Label.objects.filter(pk__in=newest).select_related("face__image")
    }
    titles = {
        "File:" + p.person_image.removeprefix("File:"): p.pk
        for p in projects
        if p.pk not in faces and p.person_image
    }
    portraits = Face.objects.current().filter(image__title__in=titles).select_related("image")
    for face in sorted(portraits, key=lambda f: f.width * f.height):
        faces[titles[face.image.title]] = face  # the largest last, so it stays
    return {project_id: _crop(face) for project_id, face in faces.items()}


def _crop(face: Face) -> dict[str, Any]:
    image = face.image
    return {
        "thumb": thumb_at(image, PERSON_FACE_WIDTH),
        "left": face.left,
        "top": face.top,
        "width": face.width,
        "height": face.height,
        "image_width": image.width,
        "image_height": image.height,
    }


def candidates(*, projects: Sequence[Project], face: Face, language: str) -> list[Candidate]:
    """The group's people, likeliest first for this face: each person's own learner's
    probability that the face is them (people not scored yet last, in the group's order),
    with the face to show beside their name (:func:`person_faces`)."""
    scores = dict(
        Label.objects.filter(project__in=projects, face=face, source=Label.Source.MODEL)
        .exclude(score=None)
        .values_list("project_id", "score")
    )
    ranked = sorted(enumerate(projects), key=lambda item: (-scores.get(item[1].pk, -1.0), item[0]))
    crops = person_faces(projects)
    return [
        Candidate(
            key=rank + 1 if rank < KEYED_PEOPLE else None,
            project=project.pk,
            label=project.label_in(language),
            qid=project.qid,
            probability=percent(scores.get(project.pk)),
            score=scores.get(project.pk),
            crop=crops.get(project.pk),
        )
        for rank, (_position, project) in enumerate(ranked)
    ]


def group_question(
    *, projects: Sequence[Project], face: Face, language: str, shared: bool = False
) -> dict[str, Any]:
    """The face, its photo and the likeliest people, as the "who is this?" page shows them;
    with ``shared`` (the group's owner asks), when none of the people is likely
    (``shared_people.ASK_BELOW``), the people other projects' confirmed faces propose."""
    question = question_for(project=projects[0], face=face).as_dict()
    people = candidates(projects=projects, face=face, language=language)
    question["people"] = [vars(candidate) for candidate in people]
    unmatched = all(c.score is None or c.score < shared_people.ASK_BELOW for c in people)
    found = (
        shared_people.proposals(projects=projects, face=face, language=language)
        if shared and unmatched
        else []
    )
    question["shared"] = [_proposal_dict(rank, proposal) for rank, proposal in enumerate(found)]
    return question


def _proposal_dict(rank: int, proposal: shared_people.Proposal) -> dict[str, Any]:
    text = ngettext(
        "Perhaps: %(person)s (%(qid)s), %(probability)s, from %(count)d confirmed face in a "
        "shared project",
        "Perhaps: %(person)s (%(qid)s), %(probability)s, from %(count)d confirmed faces in a "
        "shared project",
        proposal.confirmed,
    ) % {
        "person": proposal.label,
        "qid": proposal.qid,
        "probability": proposal.probability_text,
        "count": proposal.confirmed,
    }
    return {**vars(proposal), "key": rank + 1, "text": text}


@dataclass(frozen=True)
class PersonRow:
    project: Project
    label: str
    answers: int
    confirmed: int
    suggested: int
    precision_text: str
    recall_text: str


def person_rows(*, projects: Sequence[Project], language: str) -> list[PersonRow]:
    """Each person of the group with their own project's figures (its learner's summary)."""
    rows = []
    for project in projects:
        summary = learner_summary(project)
        texts = estimate_texts(summary)
        rows.append(
            PersonRow(
                project=project,
                label=project.label_in(language),
                answers=summary.answers if summary else 0,
                confirmed=summary.confirmed if summary else 0,
                suggested=summary.suggested if summary else 0,
                precision_text=texts["precision_text"],
                recall_text=texts["recall_text"],
            )
        )
    return rows


@dataclass(frozen=True)
class OverallFigures:
    """All the group's people together (``faceengine.learner.pooled``): the precision of
    the suggestions of every grid and the recall over every person's faces, with their
    intervals, as every page prints them ("—" while no person sends a suggestion, and for
    the recall while some person's learner has not counted their faces yet)."""

    precision_text: str
    recall_text: str


def overall_figures(*, projects: Sequence[Project]) -> OverallFigures:
    """The people's estimates pooled: sums over the people, not a mean of their figures."""
    summaries = [learner_summary(project) for project in projects]
    nothing = PersonCounts(
        suggested=0, expected_right=0.0, expected_found=0.0, expected_positives=0.0
    )
    together = pooled([summary.counts() if summary else nothing for summary in summaries])
    return OverallFigures(
        precision_text=percent_between(together.precision, together.precision_interval),
        recall_text=percent_between(together.recall, together.recall_interval),
    )
