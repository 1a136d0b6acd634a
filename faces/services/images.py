"""The files a crawl or a bootstrap takes: Image rows from Commons' file information (a
re-upload retires its faces), their links to the project, their categories and depicts.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence

from django.db import transaction
from django.db.models import Max

from commons.client import ApiClient
from commons.files import fetch_file_infos
from commons.identifiers import normalise_category
from commons.mediainfo import fetch_depicts
from commons.types import FileInfo
from faceengine.detection import DETECTION
from faces.models import (
    Image,
    ImageCategory,
    ProjectImage,
    ReviewLease,
)
from projects.models import Project, Withholding

logger = logging.getLogger(__name__)


def not_withheld(
    infos: Sequence[FileInfo], categories: Mapping[int, frozenset[str]]
) -> list[FileInfo]:
    """The files of ``infos`` a project may take: neither withheld themselves (by their
    current title) nor directly in a withheld category (``categories``: each file's direct
    categories now, ``file_categories``), as a list of files' lines are checked."""
    files = Withholding.objects.values_of(Withholding.Kind.FILE)
    withheld = Withholding.objects.values_of(Withholding.Kind.CATEGORY)
    return [
        info
        for info in infos
        if info.title not in files and not categories.get(info.pageid, frozenset()) & withheld
    ]


def file_infos(client: ApiClient, pageids: Sequence[int]) -> list[FileInfo]:
    """The bitmap files among ``pageids``, withheld ones left out (by their current title)."""
    if not pageids:
        return []
    width = DETECTION.thumb_width
    withheld = Withholding.objects.values_of(Withholding.Kind.FILE)
    return [
        info
        for info in fetch_file_infos(client, pageids=pageids, width=width).files
        if info.is_bitmap and info.title not in withheld
    ]


def images_upsert(*, infos: Iterable[FileInfo]) -> list[Image]:
    """Image rows for these files, created once (keyed by page id) and kept up to date."""
    by_pageid = {info.pageid: info for info in infos}
    if not by_pageid:
        return []
    Image.objects.bulk_create(
        [_new_image(info) for info in by_pageid.values()], ignore_conflicts=True
    )
    images = list(Image.objects.filter(pageid__in=by_pageid))
    for image in images:
        _refresh_metadata(image, by_pageid[image.pageid])
    return images


def _new_image(info: FileInfo) -> Image:
    return Image(
        pageid=info.pageid,
        title=info.title,
        sha1=info.sha1,
        width=info.width,
        height=info.height,
        mime=info.mime,
        thumb_url=info.thumb_url,
        thumb_width=info.thumb_width,
        uploaded_at=info.timestamp,
        uploader=info.user,
    )


def _refresh_metadata(image: Image, info: FileInfo) -> None:
    """A renamed or re-uploaded file keeps its row; new bytes are detected again.

    New bytes (another SHA1) retire the faces found on the old ones (:func:`_faces_retire`)
    and send the image back to pending, its claim dropped: a worker still detecting the old
    bytes finds its claim gone and stores nothing. The same SHA1 again changes nothing.
    """
    stored = (image.title, image.sha1, image.thumb_url, image.uploaded_at, image.uploader)
    if stored == (info.title, info.sha1, info.thumb_url, info.timestamp, info.user):
        return
    reuploaded = image.sha1 != info.sha1
    image.title, image.sha1, image.mime = info.title, info.sha1, info.mime
    image.width, image.height = info.width, info.height
    image.thumb_url, image.thumb_width = info.thumb_url, info.thumb_width
    image.uploaded_at, image.uploader = info.timestamp, info.user
    fields = ["title", "sha1", "mime", "width", "height", "thumb_url", "thumb_width"]
    fields += ["uploaded_at", "uploader", "updated_at"]
    if reuploaded:
        _faces_retire(image)
        image.state, image.error = Image.State.PENDING, ""
        # Not processed for these bytes: a detect worker detects them (not a re-encoding).
        image.claimed_at, image.attempts, image.processed_at = None, 0, None
        fields += ["state", "error", "claimed_at", "attempts", "processed_at"]
    # Named fields only: a detect worker may hold this row's claim right now.
    image.save(update_fields=fields)


# Retired faces are numbered from here up: no detector finds this many faces in one file.
RETIRED_INDEX_BASE = 10_000


def _faces_retire(image: Image) -> int:
    """Retire the current faces of a re-uploaded file (``Face.retire``): kept with their
    answers as history, never served, scored or suggested again. Their leases end; their
    unsent edits are cancelled by the writer (``depicts.services.edits_of_retired_cancel``)."""
    with transaction.atomic():
        faces = list(image.faces.current().order_by("index").select_for_update())
        if not faces:
            return 0
        top = image.faces.aggregate(top=Max("index"))["top"] or 0
        base = max(RETIRED_INDEX_BASE, top + 1)
        for offset, face in enumerate(faces):
            face.retire(index=base + offset)
        ReviewLease.objects.filter(face__in=faces).delete()
    logger.info("image %s (%s): re-uploaded, %d faces retired", image.pk, image.title, len(faces))
    return len(faces)


def link_images(project: Project, images: Sequence[Image], *, source: str) -> None:
    ProjectImage.objects.bulk_create(
        [ProjectImage(project=project, image=image, source=source) for image in images],
        ignore_conflicts=True,
    )
    if source == ProjectImage.Source.CATEGORY:
        # A file first met through the bootstrap search is in scope once the crawl finds it;
        # every file met is met by this pass.
        ProjectImage.objects.filter(project=project, image__in=images).exclude(
            source=ProjectImage.Source.CATEGORY, crawl_seen=True
        ).update(source=ProjectImage.Source.CATEGORY, crawl_seen=True)


def record_file_categories(
    images: Sequence[Image], categories: Mapping[int, frozenset[str]]
) -> None:
    """Each file's direct categories, when no category listing met it (a list of files, a
    search, a user's uploads, the bootstrap search): the sensitive-content hold reads them as
    it reads a crawl's."""
    ImageCategory.objects.bulk_create(
        [
            ImageCategory(image=image, category=normalise_category(name))
            for image in images
            for name in categories.get(image.pageid, frozenset())
        ],
        ignore_conflicts=True,
    )


def record_categories(images: Sequence[Image], category: str) -> None:
    """The category the crawl listed these files in (for the sensitive-content hold)."""
    name = normalise_category(category)
    ImageCategory.objects.bulk_create(
        [ImageCategory(image=image, category=name) for image in images], ignore_conflicts=True
    )


def record_depicts(project: Project, client: ApiClient, images: Sequence[Image]) -> None:
    """Existing P180 statements: the person's (bootstrap yes) and other people's (evidence)."""
    if not images:
        return
    depicts = fetch_depicts(client, pageids=[image.pageid for image in images])
    for image in images:
        statements = depicts.get(image.pageid, [])
        qids = {s.qid for s in statements if s.qid}
        if not qids:
            continue
        regions = [s.region for s in statements if s.qid == project.qid and s.region]
        ProjectImage.objects.filter(project=project, image=image).update(
            depicts_person=project.qid in qids,
            depicts_others=sorted(qids - {project.qid}),
            depicts_region=regions[0] if len(regions) == 1 else "",
        )
