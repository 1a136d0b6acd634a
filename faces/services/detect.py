"""Detection: one image claimed at a time, faces found and encoded, identical files sharing
them; claims of dead workers taken back.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, OuterRef, QuerySet
from django.utils import timezone

from commons.client import ApiClient
from core.errors import PermanentError, TransientError
from faceengine.detection import DETECTION, DetectionConfig
from faceengine.imaging import BadImageError
from faceengine.merging import MergedFace
from faces import providers
from faces.models import (
    DetectTurn,
    Face,
    Image,
    ProjectImage,
    new_upload_wait,
    old_enough_q,
)
from faces.services.bootstrap import bootstrap_yes
from faces.services.processing import (
    NOT_CLAIMED,
    DetectOutcome,
    claim_held,
    claim_timeout,
    fail,
    hand_back,
    old_enough,
    rescore,
    tell_if_processed,
    thumbnail,
    turns_for,
)
from faces.services.reencode import detected_before, reencode_claimed
from faces.services.twins import twin_answers_share


def image_claim(*, image_id: int) -> Image | None:
    """Take the image for this worker with one conditional UPDATE, or None if someone has it.

    A claim older than the timeout belongs to a worker that died: it may be taken again.
    """
    now = timezone.now()
    taken = (
        Image.objects.filter(pk=image_id)
        .claimable(stale_after=claim_timeout())
        .update(state=Image.State.PROCESSING, claimed_at=now, attempts=F("attempts") + 1)
    )
    if not taken:
        return None
    return Image.objects.get(pk=image_id)


# With several detectors, one ranked after the first that keeps failing transiently (down, too
# slow) hands the photo back until its claim of this number; from then on the photo is
# detected without it. The queue's backoff (core.retry.TASK_RETRY: 30 s, 60 s, 2 min, 4 min)
# gives it about 7 minutes to come back; a service down for longer does not hold up the
# other detectors' faces.
WAIT_FOR_ALL_DETECTORS_ATTEMPTS = 5
# A worker that loses a race for an image tries the next of so many candidates.
CLAIM_CANDIDATES = 5


def image_claim_next() -> Image | None:
    """Claim the next image to detect, taking projects in turn; None when nothing is pending.

    1. Go through the turns, the project served longest ago first (a new one before all).
       A turn whose project has nothing pending is closed.
    2. Take the first turn with pending images and mark it served now, with a conditional
       UPDATE: two workers at once take two turns (the loser goes on to the next).
    3. Claim that project's first pending image; an image shared by two projects is claimed,
       and detected, once.
    4. With no turn holding pending images, any pending image of a project: a turn lost to
       a race (the sweep opens it again) never leaves an image without a worker.
    New uploads still waiting (:func:`old_enough`) are not pending here: a message that
    finds only those ends, and the sweep queues them when their time comes.
    """
    turns = DetectTurn.objects.order_by(F("served_at").asc(nulls_first=True), "project_id")
    for turn in turns:
        candidates = _pending_first(Image.objects.filter(project_links__project=turn.project_id))
        served = DetectTurn.objects.filter(pk=turn.pk, served_at=turn.served_at)
        if not candidates:
            served.delete()
        elif served.update(served_at=timezone.now()):
            image = _claim_any(candidates)
            if image is not None:
                return image
    linked = ProjectImage.objects.filter(image=OuterRef("pk"))
    return _claim_any(_pending_first(Image.objects.filter(Exists(linked))))


def _pending_first(images: QuerySet[Image]) -> list[int]:
    """The first pending images (by id); those handed back after a failure for now wait
    behind the untried ones, so one file that keeps failing does not take every turn."""
    ready = old_enough(images.filter(state=Image.State.PENDING))
    pending = ready.order_by("pk").values_list("pk", flat=True)
    # Two plain queries, not one ordered by attempts: MariaDB would sort the whole backlog.
    return list(pending.filter(attempts=0)[:CLAIM_CANDIDATES]) or list(pending[:CLAIM_CANDIDATES])


def _claim_any(image_ids: Sequence[int]) -> Image | None:
    for image_id in image_ids:
        image = image_claim(image_id=image_id)
        if image is not None:
            return image
    return None


def image_detect_next(*, client: ApiClient, config: DetectionConfig | None = None) -> DetectOutcome:
    """Detect the next image of the project whose turn it is (:func:`image_claim_next`)."""
    image = image_claim_next()
    if image is None:
        return NOT_CLAIMED
    return _detect_claimed(image, client, config or DETECTION)


def image_detect(
    *, image_id: int, client: ApiClient, config: DetectionConfig | None = None
) -> DetectOutcome:
    """Find and encode the faces of one image, exactly once.

    1. Claim the image (pending, or processing with a stale claim); otherwise do nothing.
    2. If a processed image has the same bytes (SHA1), reuse its faces.
    3. Otherwise download the thumbnail, decode it safely, detect and encode the faces.
    4. Store faces and the done state together, only while the claim is still ours.
    A bad file or a permanent Commons error is recorded on the image; a transient error
    hands the image back (pending) and propagates, so the task retries it later.
    """
    image = image_claim(image_id=image_id)
    if image is None:
        return NOT_CLAIMED
    return _detect_claimed(image, client, config or DETECTION)


def _detect_claimed(image: Image, client: ApiClient, config: DetectionConfig) -> DetectOutcome:
    if detected_before(image):
        return reencode_claimed(image, client)
    twin = _processed_twin(image)
    if twin is not None:
        return _finish(image, _copies(twin), reused=True)
    try:
        detected = _detect(image, client, config)
    except (BadImageError, PermanentError) as error:
        return fail(image, error)
    except TransientError:
        hand_back(image)
        raise
    encoder = detected.model_version
    faces = [
        _face_from(i, face, encoding, encoder)
        for i, (face, encoding) in enumerate(zip(detected.faces, detected.encodings, strict=True))
    ]
    return _finish(image, faces)


def _processed_twin(image: Image) -> Image | None:
    if not image.sha1:
        return None
    return (
        Image.objects.filter(sha1=image.sha1, state=Image.State.DONE).exclude(pk=image.pk).first()
    )


def _copies(twin: Image) -> list[Face]:
    return [
        Face(
            left=f.left,
            top=f.top,
            width=f.width,
            height=f.height,
            encoding=f.encoding,
            index=f.index,
            small=f.small,
            origin=Face.Origin.DETECTOR,
            encoder=f.encoder,
            found_by=f.found_by,
        )
        for f in twin.faces.current().filter(origin=Face.Origin.DETECTOR)
    ]


def _detect(image: Image, client: ApiClient, config: DetectionConfig) -> providers.Found:
    # image.attempts counts this claim already.
    wait = image.attempts < WAIT_FOR_ALL_DETECTORS_ATTEMPTS
    return providers.analysed(thumbnail(image, client), config=config, wait_for_all=wait)


def _face_from(index: int, merged: MergedFace, encoding: np.ndarray | None, encoder: str) -> Face:
    face = merged.face
    return Face(
        index=index,
        left=face.box.left,
        top=face.box.top,
        width=max(face.box.width, 1e-6),
        height=max(face.box.height, 1e-6),
        encoding=None if encoding is None else Face.pack(encoding),
        encoder=encoder,
        small=face.small,
        origin=Face.Origin.DETECTOR,
        found_by=",".join(merged.found_by),
    )


def _finish(image: Image, faces: list[Face], *, reused: bool = False) -> DetectOutcome:
    with transaction.atomic():
        if not claim_held(image, undetected=True):
            return NOT_CLAIMED
        for face in faces:
            face.image = image
        Face.objects.bulk_create(faces)
        Image.objects.filter(pk=image.pk).update(
            state=Image.State.DONE, error="", processed_at=timezone.now()
        )
    # The image's projects, read once: (project, whether Commons says it depicts its person).
    links = list(image.project_links.values_list("project_id", "depicts_person", "depicts_region"))
    project_ids = [project_id for project_id, _, _ in links]
    bootstrap_yes(image, [(project_id, region) for project_id, depicts, region in links if depicts])
    if reused:
        twin_answers_share(image=image)
    # A project whose last photo this was has its learner queued at once, and no delayed
    # run besides: that run may have started already, and one more would keep the project
    # waiting for a run that finds nothing new.
    finished = tell_if_processed(project_ids)
    if faces:
        rescore([project_id for project_id in project_ids if project_id not in finished])
    return DetectOutcome(state=Image.State.DONE, faces=len(faces), reused=reused)


def images_reclaim(*, limit: int = 1000) -> list[int]:
    """Images whose detect message was lost: the periodic sweep queues them again.

    1. An image held by a worker that died (claim older than the claim timeout) is handed
       back: pending, unclaimed.
    2. A pending image untouched for ``WIKIVISAGE_REQUEUE_PENDING_AFTER`` seconds lost its
       message (a broker restart, a killed worker's prefetched tasks). That wait is long,
       so a large backlog still waiting its turn in the queue is not queued twice.
    3. A new upload that was still waiting when it was last queued (:func:`old_enough`) and
       is old enough now: it had no message, so it gets one (and is then marked queued).
    Each image returned is marked as just queued, so the next sweep leaves it alone; the
    caller queues them with :func:`queue_detection`, which gives their projects a turn.
    """
    now = timezone.now()
    dead = Image.objects.filter(state=Image.State.PROCESSING, claimed_at__lt=now - claim_timeout())
    lost = Image.objects.filter(
        state=Image.State.PENDING,
        updated_at__lt=now - timedelta(seconds=settings.WIKIVISAGE_REQUEUE_PENDING_AFTER),
    )
    ids = list(
        (dead | old_enough(lost | _ripe())).order_by("pk").values_list("pk", flat=True)[:limit]
    )
    Image.objects.filter(
        pk__in=ids, state__in=[Image.State.PENDING, Image.State.PROCESSING]
    ).update(state=Image.State.PENDING, claimed_at=None, updated_at=now)
    return ids


def _ripe() -> QuerySet[Image]:
    """Pending images last touched while they were new uploads still waiting."""
    if not new_upload_wait():
        return Image.objects.none()
    return Image.objects.filter(
        state=Image.State.PENDING, updated_at__lt=F("uploaded_at") + new_upload_wait()
    )


def detect_turns_refresh() -> None:
    """The periodic sweep's view of the turns: a turn for each project with pending images.

    A turn is closed once its project has nothing pending (here, or by a worker that finds
    nothing). A crawl that queues images right then may lose its turn to that race: its
    images are still detected (last step of :func:`image_claim_next`), and this sweep gives
    the turn back.
    """
    pending_of_turn = Image.objects.filter(
        old_enough_q(), state=Image.State.PENDING, project_links__project=OuterRef("project")
    )
    DetectTurn.objects.exclude(Exists(pending_of_turn)).delete()
    waiting = ProjectImage.objects.filter(old_enough_q("image__"), image__state=Image.State.PENDING)
    turns_for(waiting.values_list("project_id", flat=True).distinct())
