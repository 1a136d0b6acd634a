"""An image's way through detection, shared by detection and re-encoding: queued in the
projects' turns, claimed, handed back or failed, and the project told once every image of it
is processed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from commons.client import ApiClient
from core.enqueue import enqueue
from core.errors import PermanentError
from faces.models import (
    DetectTurn,
    Face,
    Image,
    ProjectImage,
    old_enough_q,
)
from faces.services.rescoring import request_rescore
from projects.models import Notification, Project
from projects.notifications import notify
from projects.selectors import crawling

logger = logging.getLogger(__name__)


# A thumbnail larger than this is not one Commons would serve for a standard width.
MAX_THUMBNAIL_BYTES = 15 * 1024 * 1024


def claim_timeout() -> timedelta:
    return timedelta(seconds=settings.WIKIVISAGE_DETECT_CLAIM_TIMEOUT)


def old_enough(images: QuerySet[Image]) -> QuerySet[Image]:
    """Images past the wait for new uploads (``faces.models.new_upload_wait``)."""
    return images.filter(old_enough_q())


def pending(images: Iterable[Image]) -> list[int]:
    return [image.pk for image in images if image.state == Image.State.PENDING]


def queue_detection(image_ids: Sequence[int]) -> None:
    """Hand images to the detect workers once the surrounding transaction has committed.

    Their projects get a turn (kept if they have one), and the queue one ``faces.detect.next``
    message per image. A message names no image: whoever runs it detects the next image of
    the project whose turn it is (:func:`image_claim_next`), so a small project queued behind
    a large one is served alternately with it instead of after the whole backlog.
    A new upload still waiting (:func:`old_enough`) gets no message: no worker could take
    it yet; the periodic sweep queues it once it is old enough (:func:`images_reclaim`).
    """
    ids = list(
        old_enough(Image.objects.filter(pk__in=list(image_ids))).values_list("pk", flat=True)
    )
    if not ids:
        return
    _open_turns(ids)
    for _image_id in ids:
        enqueue("faces.detect.next")


def _open_turns(image_ids: Sequence[int]) -> None:
    links = ProjectImage.objects.filter(image_id__in=image_ids)
    turns_for(links.values_list("project_id", flat=True))


def turns_for(project_ids: Iterable[int]) -> None:
    """A turn for each of these projects; one that has its turn keeps its place."""
    DetectTurn.objects.bulk_create(
        [DetectTurn(project_id=pk) for pk in set(project_ids)], ignore_conflicts=True
    )


@dataclass(frozen=True)
class DetectOutcome:
    state: str
    faces: int = 0
    reused: bool = False
    error: str = ""


NOT_CLAIMED = DetectOutcome(state="not_claimed")


def hand_back(image: Image) -> None:
    """A transient failure (Commons, or the model service down): the image waits, pending,
    with no error, and the task is retried later."""
    Image.objects.filter(pk=image.pk, claimed_at=image.claimed_at).update(
        state=Image.State.PENDING, claimed_at=None
    )


def thumbnail(image: Image, client: ApiClient) -> bytes:
    if not image.thumb_url:
        raise PermanentError("nothumbnail", f"{image.title} has no thumbnail URL")
    return client.download(image.thumb_url, max_bytes=MAX_THUMBNAIL_BYTES)


def claim_held(image: Image, *, undetected: bool = False) -> bool:
    """Whether this worker still holds the image's claim, locking the row until commit: only
    the holder records a result; a slower twin of this worker (whose claim went stale and was
    retaken) writes nothing. ``undetected``: and no detector faces are stored for the image
    yet (in the same query)."""
    held = Image.objects.select_for_update().filter(
        pk=image.pk, state=Image.State.PROCESSING, claimed_at=image.claimed_at
    )
    if undetected:
        detected = Face.objects.current().filter(image=OuterRef("pk"), origin=Face.Origin.DETECTOR)
        held = held.exclude(Exists(detected))
    return held.exists()


def project_ids(image: Image) -> list[int]:
    return list(image.project_links.values_list("project_id", flat=True))


def rescore(project_ids: Sequence[int], *, now: bool = False) -> None:
    for project_id in project_ids:
        request_rescore(project_id=project_id, now=now)


def fail(image: Image, error: Exception) -> DetectOutcome:
    message = str(error)[:1000]
    Image.objects.filter(pk=image.pk, claimed_at=image.claimed_at).update(
        state=Image.State.ERROR, error=message, processed_at=timezone.now()
    )
    logger.info("image %s (%s): %s", image.pk, image.title, message)
    tell_if_processed(project_ids(image))
    return DetectOutcome(state=Image.State.ERROR, error=message)


def tell_if_processed(project_ids: Sequence[int]) -> set[int]:
    """After a photo: if it was its project's last, the learner runs at once (its members wait
    for the suggestions) rather than a moment later, and the members are told. Returns the
    projects whose last photo it was."""
    finished = set()
    for project_id in project_ids:
        processed = _all_processed(project_id)
        if processed is not None:
            rescore([project_id], now=True)
            _tell_processed(*processed)
            finished.add(project_id)
    return finished


def processing_check(*, project_id: int) -> bool:
    """Tell the members once every photo of a crawled project is processed (detect done or
    failed; new uploads that wait do not count). The event is the number processed: a re-crawl
    that adds nothing tells nobody again; one that adds photos tells once they are done.
    Returns whether they were told now."""
    processed = _all_processed(project_id)
    return processed is not None and _tell_processed(*processed)


def _all_processed(project_id: int) -> tuple[Project, int] | None:
    """The project and how many of its photos are processed, once it has some and none is
    left to detect and its crawl is over; None before."""
    # Busy first: after all but the last photo of a project, one query says "not yet".
    images = Image.objects.filter(project_links__project=project_id)
    busy = Q(state=Image.State.PROCESSING) | Q(old_enough_q(), state=Image.State.PENDING)
    if images.filter(busy).exists():
        return None
    project = Project.objects.filter(pk=project_id).first()
    if project is None or crawling(project):
        return None
    processed = images.filter(state__in=[Image.State.DONE, Image.State.ERROR]).count()
    return (project, processed) if processed else None


def _tell_processed(project: Project, processed: int) -> bool:
    told = notify(
        project=project,
        kind=Notification.Kind.PROCESSING_FINISHED,
        event=f"processed:{processed}",
        count=processed,
    )
    return bool(told)
