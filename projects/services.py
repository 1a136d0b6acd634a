"""Workflows that change projects and their people."""

from __future__ import annotations

import os
import socket
import uuid

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from commons.identifiers import normalise_category, normalise_qid
from commons.models import DepictsEdit

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


def projects_pause(*, projects) -> int:
    return projects.exclude(state=Project.State.ARCHIVED).update(state=Project.State.PAUSED)


def projects_archive(*, projects) -> int:
    return projects.update(state=Project.State.ARCHIVED)


@transaction.atomic
def users_deactivate(*, users) -> int:
    """Deactivate accounts and cancel every edit of theirs that has not been sent yet."""
    count = users.update(is_active=False)
    DepictsEdit.objects.filter(
        approved_by__in=users,
        state__in=[DepictsEdit.State.APPROVED, DepictsEdit.State.QUEUED],
    ).update(state=DepictsEdit.State.CANCELLED)
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
