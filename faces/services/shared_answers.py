"""A group accepts a person proposed by another project's confirmed faces
(``faces.shared_people``): the person joins the group, and the face is theirs.

Everything is written in the group that asked: the new person's own project, its photos,
the answer. The project whose faces proposed the person is only read, never written.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from commons.client import ApiClient
from faces.models import Face, ProjectImage
from faces.services.answers import AnswerOutcome
from faces.services.group_answers import group_answer
from faces.services.refusals import ReviewError
from faces.shared_people import proposals
from projects.group_services import group_person_add, group_person_check
from projects.models import Project, ProjectGroup


class NotTheOwner(ReviewError):
    code = "not_owner"

    def __init__(self) -> None:
        super().__init__(_("Only the group's owner may add a person to it."))


class NotProposed(ReviewError):
    code = "not_proposed"

    def __init__(self) -> None:
        super().__init__(_("This person is no longer proposed for this face."))


@dataclass(frozen=True)
class SharedOutcome:
    person: Project  # the person's project in this group
    added: bool  # the person joined the group with this answer
    answer: AnswerOutcome


def shared_accept(
    *,
    group: ProjectGroup,
    projects: Sequence[Project],
    face: Face,
    user: AbstractBaseUser,
    qid: str,
    request_id: uuid.UUID,
    wikidata: ApiClient,
    languages: Sequence[str],
) -> SharedOutcome:
    """ "This face is ``qid``", a person proposed by another project's confirmed faces.

    1. Only the group's owner adds a person (NotTheOwner).
    2. A person of the group already (this request again, or added since, even by an
       accept running at the same moment): no look-up, the answer is theirs
       (``group_answer``, which returns a stored request id untouched).
    3. Else the person must be proposed for this face now (NotProposed), and is checked as
       group creation checks one (``group_person_check``: room, human, not withheld).
    4. In one transaction: their project over the group's scope (``group_person_add``),
       the group's photos linked to it (:func:`_photos_link`: no crawl needed to answer),
       and the group's answer, a yes in the new project and a no in every other. A refusal
       of the answer takes the new person back out.
    """
    if user.pk != group.owner_id:
        raise NotTheOwner
    member = _member(projects, qid)
    if member is None:
        if qid not in {proposal.qid for proposal in proposals(projects=projects, face=face)}:
            raise NotProposed
        person = group_person_check(group=group, qid=qid, wikidata=wikidata, languages=languages)
        try:
            with transaction.atomic():
                added = group_person_add(group=group, person=person)
                _photos_link(projects[0], added)
                answer = group_answer(
                    projects=[*projects, added],
                    face=face,
                    user=user,
                    person=added,
                    request_id=request_id,
                )
            return SharedOutcome(person=added, added=True, answer=answer)
        except (IntegrityError, ValidationError):
            # Added at the same moment by another accept (a second tab): theirs stands, and
            # this answer is given to it. Anything else (the owner has a project of this
            # person in this scope outside the group) is refused as it was raised.
            projects = group.member_projects()
            member = _member(projects, person.qid)
            if member is None:
                raise
    answer = group_answer(
        projects=projects, face=face, user=user, person=member, request_id=request_id
    )
    return SharedOutcome(person=member, added=False, answer=answer)


def _member(projects: Sequence[Project], qid: str) -> Project | None:
    return next((project for project in projects if project.qid == qid), None)


def _photos_link(source: Project, target: Project) -> None:
    """Link ``target`` to the photos ``source`` holds from its scope, as its own crawl will
    (the crawl queued at creation still runs: it adds the person's existing statements)."""
    links = ProjectImage.objects.filter(project=source, source=ProjectImage.Source.CATEGORY)
    ProjectImage.objects.bulk_create(
        [
            ProjectImage(project=target, image_id=image_id, source=ProjectImage.Source.CATEGORY)
            for image_id in links.values_list("image_id", flat=True)
        ],
        ignore_conflicts=True,
    )
