"""Identical files: the same face in each copy carries one human answer."""

from __future__ import annotations

from collections.abc import Sequence

from faces.models import Answer, Image, Label
from faces.selectors import twin_groups
from projects.models import Project


def twin_answers_share(*, image: Image) -> int:
    """Faces just copied from an identical file (``detect._copies``) take the answers
    their originals have in each project holding both files. Returns the groups aligned."""
    face_ids = list(image.faces.current().values_list("pk", flat=True))
    project_ids = image.project_links.values_list("project_id", flat=True)
    aligned = 0
    for project in Project.objects.filter(pk__in=list(project_ids)):
        aligned += twins_align(project=project, face_ids=face_ids)
    return aligned


def twins_align(*, project: Project, face_ids: Sequence[int]) -> int:
    """The same face in identical files of one project carries one human answer.

    Identical bytes (one SHA1) are detected once, and every copy gets the same boxes
    (``detect._copies``): a face of one file is that face in each copy. Within each group
    of such faces (``faces.selectors.twin_groups``) the human label of every face follows
    the latest answer still standing on any of them, or there is none. So review does not
    ask about a copy again, and the grid offers each file (each its own edit) with the same
    verdict; a rejection withdraws the copies' edits too
    (``depicts.services.approval.edits_reject``).
    """
    groups = twin_groups(project=project, face_ids=face_ids)
    for group in groups:
        _group_label_set(project, group)
    return len(groups)


def _group_label_set(project: Project, group: Sequence[int]) -> None:
    standing = (
        Answer.objects.filter(project=project, face_id__in=group, undone_at__isnull=True)
        .exclude(verdict=Label.Verdict.SKIP)
        .order_by("-created_at", "-id")
        .first()
    )
    human = Label.objects.filter(project=project, face_id__in=group, source=Label.Source.HUMAN)
    if standing is None:
        human.delete()
        return
    Label.objects.upsert(
        [
            Label(
                project=project,
                face_id=pk,
                source=Label.Source.HUMAN,
                verdict=standing.verdict,
                user_id=standing.user_id,
                created_at=standing.created_at,
            )
            for pk in group
        ]
    )
    # Answered faces leave the review order now (as after an answer, ``faces.services.answers``).
    Label.objects.filter(project=project, face_id__in=group, source=Label.Source.MODEL).update(
        priority=None
    )
