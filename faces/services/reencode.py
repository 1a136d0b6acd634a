"""Re-encoding: a new model's encodings for faces detected before, their boxes kept."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from commons.client import ApiClient
from core.errors import PermanentError, ServiceError, TransientError
from faceengine.detection import FaceBox
from faceengine.imaging import BadImageError
from faces import providers
from faces.models import (
    Face,
    Image,
)
from faces.services.processing import (
    NOT_CLAIMED,
    DetectOutcome,
    claim_held,
    fail,
    hand_back,
    project_ids,
    rescore,
    thumbnail,
)

logger = logging.getLogger(__name__)


def images_reencode(*, limit: int = 1000) -> list[int]:
    """Images whose faces another model encoded: the periodic sweep sends them back to the
    detect workers, which encode their faces again with the configured model.

    1. Ask the configured provider which model it serves (a model service that is down now
       is asked again at the next sweep).
    2. Take the done images holding a current, encoded face of another model, at most
       ``limit`` (``Face.encoder`` is indexed: with no such face this costs nothing).
    3. Hand them back, pending (only if still done); the caller queues them
       (:func:`queue_detection`). A detect worker then takes the path of
       :func:`reencode_claimed`, not a new detection.
    """
    try:
        model = providers.current_model()
    except ServiceError as error:  # down now, or a version refused at the door
        logger.warning("faces of another model not looked for: %s", error)
        return []
    stale = Face.objects.current().filter(encoding__isnull=False).exclude(encoder=model)
    done = Image.objects.filter(pk__in=stale.values("image_id"), state=Image.State.DONE)
    ids = list(done.order_by("pk").values_list("pk", flat=True)[:limit])
    Image.objects.filter(pk__in=ids, state=Image.State.DONE).update(
        state=Image.State.PENDING, claimed_at=None, updated_at=timezone.now()
    )
    return ids


def detected_before(image: Image) -> bool:
    """Detected already, with faces: an image :func:`images_reencode` handed back."""
    return image.processed_at is not None and image.faces.current().exists()


def reencode_claimed(image: Image, client: ApiClient) -> DetectOutcome:
    """Encode the image's current faces again with the configured model.

    Boxes stay, and with them every answer, label and edit: an answer says who is in a box,
    whichever model encodes it. Only ``encoding`` and ``encoder`` change (a box the new
    model cannot encode loses its encoding; the learner leaves such faces out). Faces a new
    model's detector would find beyond these boxes are not looked for.
    """
    faces = list(image.faces.current().order_by("index"))
    boxes = [FaceBox(face.left, face.top, face.width, face.height) for face in faces]
    try:
        encoded = providers.encoded(thumbnail(image, client), boxes)
    except (BadImageError, PermanentError) as error:
        return fail(image, error)
    except TransientError:
        hand_back(image)
        raise
    with transaction.atomic():
        if not claim_held(image):
            return NOT_CLAIMED
        for face, vector in zip(faces, encoded.vectors, strict=True):
            packed = None if vector is None else Face.pack(vector)
            Face.objects.filter(pk=face.pk).update(encoding=packed, encoder=encoded.model_version)
        Image.objects.filter(pk=image.pk).update(
            state=Image.State.DONE, error="", processed_at=timezone.now()
        )
    rescore(project_ids(image))
    return DetectOutcome(state=Image.State.DONE, faces=len(faces))
