"""Faces drawn by hand: a box a reviewer drew, encoded."""

from __future__ import annotations

import logging

from commons.client import ApiClient
from core.errors import PermanentError
from faceengine.detection import FaceBox
from faceengine.imaging import BadImageError
from faces import providers
from faces.models import (
    Face,
)
from faces.services.processing import thumbnail

logger = logging.getLogger(__name__)


def face_encode(*, face_id: int, client: ApiClient) -> bool:
    """Encode a face whose box a person drew (or corrected): the web process never runs dlib.

    Returns False when there is nothing to do (gone, already encoded) or the box holds no
    usable pixels; the face then stays without an encoding and the learner ignores it.
    """
    face = Face.objects.select_related("image").filter(pk=face_id, encoding__isnull=True).first()
    if face is None:
        return False
    box = FaceBox(face.left, face.top, face.width, face.height)
    try:
        encoded = providers.encoded(thumbnail(face.image, client), [box])
    except (BadImageError, PermanentError) as error:
        logger.info("face %s: cannot encode the drawn box: %s", face_id, error)
        return False
    vector = encoded.vectors[0]
    if vector is None:
        logger.info("face %s: the drawn box holds no pixels of the thumbnail", face_id)
        return False
    return bool(
        Face.objects.filter(pk=face_id, encoding__isnull=True).update(
            encoding=Face.pack(vector), encoder=encoded.model_version
        )
    )
