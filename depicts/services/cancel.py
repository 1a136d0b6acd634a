"""Edits that will not leave: cancelled by moderation (:func:`edits_cancel`,
:func:`users_deactivate`), or because their face was retired or their file left the project.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from depicts.models import DepictsEdit
from depicts.policy import FACE_RETIRED
from depicts.services.common import ADD, State
from faces.models import Face, ProjectImage

REVERT_CANCELLED = "undo cancelled before it was sent; the statement stays on Commons"

UNSENT = (State.PROPOSED, State.APPROVED, State.QUEUED)


def edits_of_retired_cancel(*, edits: QuerySet[DepictsEdit] | None = None) -> int:
    """Cancel the unsent edits whose face was retired (its file re-uploaded, ``Face.retire``).

    Called by the periodic ``depicts.write.resume``, for the edits nobody approves, queues or sends
    meanwhile (those steps ask the write policy, ``depicts.policy``). An edit already sent
    stays as it is on Commons.
    """
    edits = edits if edits is not None else DepictsEdit.objects.all()
    retired = Face.objects.retired().values("pk")
    return edits.filter(state__in=UNSENT, face__in=retired).update(
        state=State.CANCELLED, error=FACE_RETIRED, claimed_at=None, updated_at=timezone.now()
    )


FILE_LEFT_PROJECT = (
    "the file left the project before this edit was sent (withheld, or no longer in the "
    "project's category tree or list)"
)


def edits_of_unlinked_cancel(*, project_id: int | None = None) -> int:
    """Cancel the unsent additions about files that left their project (a crawl no longer
    reached them: ``faces.services.crawl._links_sweep``); undos still go. An edit
    already sent stays as it is on Commons."""
    edits = DepictsEdit.objects.filter(action=ADD, state__in=UNSENT)
    if project_id is not None:
        edits = edits.filter(project_id=project_id)
    linked = ProjectImage.objects.filter(project=OuterRef("project"), image=OuterRef("image"))
    return edits.exclude(Exists(linked)).update(
        state=State.CANCELLED, error=FILE_LEFT_PROJECT, claimed_at=None, updated_at=timezone.now()
    )


@transaction.atomic
def edits_cancel(*, edits: QuerySet[DepictsEdit]) -> int:
    """Moderation: cancel every selected edit that has not left yet.

    An undo not sent yet leaves its statement on Commons, so its edit goes back to ``sent``
    (a later undo can still take it), not ``cancelled``.
    """
    now = timezone.now()
    cancelled = edits.filter(state__in=[State.PROPOSED, State.APPROVED, State.QUEUED]).update(
        state=State.CANCELLED, claimed_at=None, updated_at=now
    )
    kept = edits.filter(state=State.REVERT_QUEUED).update(
        state=State.SENT, reverted_by=None, error=REVERT_CANCELLED, claimed_at=None, updated_at=now
    )
    return cancelled + kept


@transaction.atomic
def users_deactivate(*, users: QuerySet[User]) -> int:
    """Moderation: deactivate accounts and cancel every edit of theirs not sent yet: what
    they approved or sent, and the undos they asked for (an undo of their edits that someone
    else asked for still goes)."""
    ids = list(users.values_list("pk", flat=True))
    count = User.objects.filter(pk__in=ids).update(is_active=False)
    theirs = Q(approved_by__in=ids) | Q(sent_by__in=ids)
    undos = Q(reverted_by__in=ids, state=State.REVERT_QUEUED)
    edits_cancel(edits=DepictsEdit.objects.filter((theirs & ~Q(state=State.REVERT_QUEUED)) | undos))
    return count
