"""Workflows that change projects and their people."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Sequence

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from commons.client import ApiClient
from commons.identifiers import normalise_category, normalise_qid
from commons.models import DepictsEdit
from commons.types import Person
from commons.wikidata import get_person

from .models import Heartbeat, Membership, Project


@transaction.atomic
def project_create(
    *,
    owner: User,
    qid: str,
    category: str,
    crawl_depth: int = 2,
    distance_threshold: float = 0.6,
    min_confirmed: int = 5,
    person_labels: dict[str, str] | None = None,
    person_image: str = "",
) -> Project:
    project = Project(
        owner=owner,
        qid=normalise_qid(qid),
        category=normalise_category(category),
        crawl_depth=crawl_depth,
        distance_threshold=distance_threshold,
        min_confirmed=min_confirmed,
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


def project_start(
    *,
    owner: User,
    person: Person,
    category: str,
    crawl_depth: int = 2,
    distance_threshold: float = 0.6,
    min_confirmed: int = 5,
) -> Project:
    """Create the project for a checked person and queue its crawl once committed."""
    from faces.tasks import crawl_project

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
            min_confirmed=min_confirmed,
            person_labels=labels,
            person_image=person.image or "",
        )
        transaction.on_commit(lambda: crawl_project.delay(project.pk))
    return project


def projects_pause(*, projects) -> int:
    return projects.exclude(state=Project.State.ARCHIVED).update(state=Project.State.PAUSED)


def projects_archive(*, projects) -> int:
    return projects.update(state=Project.State.ARCHIVED)


@transaction.atomic
def users_deactivate(*, users) -> int:
    """Deactivate accounts and cancel every edit of theirs that has not been sent yet."""
    from commons.services import edits_cancel

    count = users.update(is_active=False)
    edits_cancel(edits=DepictsEdit.objects.filter(Q(approved_by__in=users) | Q(sent_by__in=users)))
    return count


def heartbeat_send() -> Heartbeat:
    """Record a ping and hand it to a worker once the row is committed."""
    from .tasks import heartbeat

    with transaction.atomic():
        beat = Heartbeat.objects.create(token=uuid.uuid4())
        transaction.on_commit(lambda: heartbeat.delay(str(beat.token)))
    return beat


def heartbeat_answer(*, token: str) -> None:
    worker = f"{socket.gethostname()}:{os.getpid()}"
    Heartbeat.objects.filter(token=token, answered_at__isnull=True).update(
        answered_at=timezone.now(), worker=worker
    )
