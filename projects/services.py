"""Workflows that change projects and their people."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from commons.categories import CategoryInfo, category_info
from commons.client import ApiClient, CommonsError
from commons.identifiers import normalise_category, normalise_qid
from commons.types import Person
from commons.wikidata import PersonNotFound, get_person

from .enqueue import enqueue
from .models import DEFAULT_MIN_ANSWERS, Heartbeat, Membership, Project, Withholding


@transaction.atomic
def project_create(
    *,
    owner: User,
    qid: str,
    category: str,
    crawl_depth: int = 2,
    distance_threshold: float = 0.6,
    min_answers: int = DEFAULT_MIN_ANSWERS,
    person_labels: dict[str, str] | None = None,
    person_image: str = "",
) -> Project:
    project = Project(
        owner=owner,
        qid=normalise_qid(qid),
        category=normalise_category(category),
        crawl_depth=crawl_depth,
        distance_threshold=distance_threshold,
        min_answers=min_answers,
        person_labels=person_labels or {},
        person_image=person_image,
    )
    project.full_clean()
    project.save()
    Membership.objects.create(project=project, user=owner, role=Membership.Role.OWNER)
    return project


class NotAHuman(ValueError):
    """The Wikidata item is not an instance of human (Q5)."""


def person_check(*, client: ApiClient, qid: str, languages: Sequence[str]) -> Person:
    """The Wikidata person behind ``qid`` (redirect followed); refuses a non-human item.

    Raises ``PersonNotFound`` for a missing or deleted item and ``NotAHuman`` otherwise.
    """
    person = get_person(client, qid=qid, languages=languages)
    if not person.is_human:
        raise NotAHuman(
            _("%(qid)s (%(label)s) is not a human on Wikidata.")
            % {"qid": person.qid, "label": person.label or person.qid}
        )
    return person


class CategoryMissing(ValueError):
    """The Commons category does not exist."""


class PersonWithheld(ValidationError):
    """The person is on the withhold list: no project may look for them."""


def person_refuse_withheld(qid: str) -> None:
    """Raise PersonWithheld when ``qid`` is withheld (checked before and after a redirect)."""
    if Withholding.objects.filter(kind=Withholding.Kind.PERSON, value=qid).exists():
        raise PersonWithheld(
            _("%(qid)s is withheld: no project may look for this person.") % {"qid": qid},
            code="withheld",
        )


def projects_withhold(*, withholding: Withholding, by: User) -> int:
    """Archive, as a moderator would, the projects about a withheld person or category."""
    projects = Project.objects.exclude(moderation=Project.Moderation.ARCHIVED)
    if withholding.kind == Withholding.Kind.PERSON:
        projects = projects.filter(qid=withholding.value)
    elif withholding.kind == Withholding.Kind.CATEGORY:
        projects = projects.filter(category=withholding.value)
    else:
        return 0
    return projects.moderate(
        by=by,
        moderation=Project.Moderation.ARCHIVED,
        moderation_reason=withholding.reason,
    )


class WikimediaTrouble(Exception):
    """Wikidata or Commons did not answer as hoped; ``site`` names which."""

    def __init__(self, site: str, error: CommonsError) -> None:
        super().__init__(f"{site}: {error}")
        self.site = site
        self.error = error


@dataclass(frozen=True)
class NewProject:
    project: Project
    person: Person
    category: CategoryInfo


def project_open(
    *,
    owner: User,
    qid: str,
    category: str,
    wikidata: ApiClient,
    commons: ApiClient,
    languages: Sequence[str],
    crawl_depth: int = 2,
    distance_threshold: float = 0.6,
    min_answers: int = DEFAULT_MIN_ANSWERS,
) -> NewProject:
    """A new project, by the same rules from the web page and from ``createproject``.

    1. The person: a human on Wikidata, a redirect followed (PersonNotFound, NotAHuman),
       and not withheld, neither as asked nor as redirected (PersonWithheld).
    2. The category: it exists on Commons, under its canonical title (CategoryMissing).
    3. The project is created and its crawl queued once committed.
    Wikidata or Commons failing to answer raises WikimediaTrouble naming the site.
    """
    person_refuse_withheld(normalise_qid(qid))
    try:
        person = person_check(client=wikidata, qid=qid, languages=languages)
    except PersonNotFound:
        raise
    except CommonsError as error:
        raise WikimediaTrouble("Wikidata", error) from error
    person_refuse_withheld(person.qid)
    try:
        info = category_info(commons, category=category)
    except CommonsError as error:
        raise WikimediaTrouble("Commons", error) from error
    if not info.exists:
        raise CategoryMissing(info.title or category)
    project = project_start(
        owner=owner,
        person=person,
        category=info.title,
        crawl_depth=crawl_depth,
        distance_threshold=distance_threshold,
        min_answers=min_answers,
    )
    return NewProject(project=project, person=person, category=info)


def project_start(
    *,
    owner: User,
    person: Person,
    category: str,
    crawl_depth: int = 2,
    distance_threshold: float = 0.6,
    min_answers: int = DEFAULT_MIN_ANSWERS,
) -> Project:
    """Create the project for a checked person and queue its crawl once committed."""
    labels = dict(person.labels)
    if person.label and person.label_language:
        labels.setdefault(person.label_language, person.label)
    with transaction.atomic():
        project = project_create(
            owner=owner,
            qid=person.qid,
            category=category,
            crawl_depth=crawl_depth,
            distance_threshold=distance_threshold,
            min_answers=min_answers,
            person_labels=labels,
            person_image=person.image or "",
        )
        enqueue("crawl.project", project.pk)
    return project


def heartbeat_send() -> Heartbeat:
    """Record a ping and hand it to a worker once the row is committed."""
    with transaction.atomic():
        beat = Heartbeat.objects.create(token=uuid.uuid4())
        enqueue("default.heartbeat", str(beat.token))
    return beat


def heartbeat_answer(*, token: str) -> None:
    worker = f"{socket.gethostname()}:{os.getpid()}"
    Heartbeat.objects.filter(token=token, answered_at__isnull=True).update(
        answered_at=timezone.now(), worker=worker
    )


# --- the learner's runs -------------------------------------------------------------------

# A burst of answers queues one re-scoring, a moment later.
RESCORE_DELAY_SECONDS = 2


def request_rescore(*, project_id: int) -> bool:
    """Queue one ``learn.project`` task unless one is already waiting for this project.

    If the message is lost (a broker down), the flag stays set: the ``learn.pending`` sweep
    queues the run later.
    """
    queued = Project.objects.filter(pk=project_id, rescore_pending=False).update(
        rescore_pending=True
    )
    if queued:
        enqueue("learn.project", project_id, countdown=RESCORE_DELAY_SECONDS)
    return bool(queued)
