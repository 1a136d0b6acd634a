"""Reverts learnt: a periodic check learns from statements that someone else removed on
Commons (:func:`sent_edits_check`).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from commons.client import ApiClient
from depicts.models import DepictsEdit
from depicts.services.common import ADD, State, find_statement, statements_by_page
from faces.models import Label, ProjectImage
from faces.services.rescoring import request_rescore


@dataclass(frozen=True)
class CheckSummary:
    checked: int
    removed: int


def sent_edits_check(*, client: ApiClient, limit: int = 500) -> CheckSummary:
    """Re-read statements WikiVisage wrote; one removed (or changed to another item) on
    Commons by someone else is recorded and becomes a "no" for the project.

    The least recently checked edits go first, so every run makes progress on a large set.
    A file deleted on Commons says nothing about the face and is skipped.
    """
    edits = list(
        DepictsEdit.objects.filter(action=ADD, state=State.SENT)
        .select_related("image")
        .order_by(F("checked_at").asc(nulls_first=True), "pk")[:limit]
    )
    pages = statements_by_page(client, sorted({edit.image.pageid for edit in edits}))
    removed, seen = 0, []
    for edit in edits:
        statements = pages.get(edit.image.pageid)
        if statements is None:
            seen.append(edit.pk)  # checked, and to the back of the line with the others
            continue
        ours = find_statement(statements, edit.statement_id)
        if ours is not None and ours.qid in (edit.written_qid, edit.qid):
            seen.append(edit.pk)
        elif edit_removed_on_commons(edit=edit):
            removed += 1
    DepictsEdit.objects.filter(pk__in=seen).update(checked_at=timezone.now())
    return CheckSummary(checked=len(edits), removed=removed)


@transaction.atomic
def edit_removed_on_commons(*, edit: DepictsEdit) -> bool:
    """Record that someone removed our statement, and learn "no" from it.

    The "no" is a ``bootstrap`` label (what Commons says about the face), not a ``human``
    one: the reviewer's own answer and its history stay as they gave them, and the learner
    sees the community's later verdict next to it.
    """
    moved = DepictsEdit.objects.filter(pk=edit.pk, state=State.SENT).update(
        state=State.REMOVED,
        error="removed or changed on Commons by someone else",
        updated_at=timezone.now(),
    )
    if not moved:
        return False
    ProjectImage.objects.filter(project_id=edit.project_id, image_id=edit.image_id).update(
        depicts_person=False
    )
    if edit.face_id is not None:
        Label.objects.update_or_create(
            project_id=edit.project_id,
            face_id=edit.face_id,
            source=Label.Source.BOOTSTRAP,
            defaults={"verdict": Label.Verdict.NO, "score": None, "priority": None, "user": None},
        )
        request_rescore(project_id=edit.project_id)
    return True
