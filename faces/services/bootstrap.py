"""Bootstrap: the files that already state the person on Commons (a ``haswbstatement``
search) become known positives.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings
from django.db import transaction

from commons.categories import file_categories
from commons.client import ApiClient
from commons.files import resolve_files
from commons.identifiers import FileRef
from commons.mediainfo import Region, region_fractions
from commons.search import search_depicting
from commons.types import FileInfo
from core.enqueue import enqueue
from faceengine.detection import DETECTION
from faces.models import (
    Face,
    Image,
    Label,
    ProjectImage,
)
from faces.services.images import (
    file_infos,
    images_upsert,
    link_images,
    record_depicts,
    record_file_categories,
)
from faces.services.processing import pending, processing_check, queue_detection
from projects.models import Project, Withholding


def project_bootstrap(*, project: Project, client: ApiClient, queue: bool = True) -> int:
    """Files that already depict the person on Commons: known positives to start from.

    A file found only by the search is linked as ``bootstrap`` and stays outside the
    category's scope; a file in the category keeps its ``category`` link. The search adds
    at most ``WIKIVISAGE_MAX_BOOTSTRAP_FILES`` files; the project records the bound when it
    found more. Withheld files are left out (``file_infos``), and so are files directly in
    a withheld category, found now or linked by an earlier search.
    """
    cap = settings.WIKIVISAGE_MAX_BOOTSTRAP_FILES
    # One hit past the cap tells whether there were more.
    hits = list(search_depicting(client, qid=project.qid, limit=cap + 1))
    infos = file_infos(client, [hit.pageid for hit in hits[:cap]])
    infos += _portrait_infos(client, project, known={info.pageid for info in infos})
    links = ProjectImage.objects.filter(project=project, source=ProjectImage.Source.BOOTSTRAP)
    held = list(links.values_list("image__pageid", flat=True))
    # Their direct categories now: for the withheld-category check, and for the
    # sensitive-content hold of the files no category listing meets.
    pageids = sorted({info.pageid for info in infos} | set(held))
    categories = file_categories(client, pageids=pageids)
    withheld = Withholding.objects.values_of(Withholding.Kind.CATEGORY)
    barred = {pageid for pageid, names in categories.items() if names & withheld}
    infos = [info for info in infos if info.pageid not in barred]
    with transaction.atomic():
        if links.filter(image__pageid__in=barred).delete()[0]:
            enqueue("depicts.write.unlinked_cancel", project.pk)  # as the crawl's sweep does
        images = images_upsert(infos=infos)
        link_images(project, images, source=ProjectImage.Source.BOOTSTRAP)
        record_file_categories(images, categories)
        # The search index lags edits: re-read the statements before trusting a hit.
        record_depicts(project, client, images)
        Project.objects.filter(pk=project.pk).update(
            bootstrap_limit_hit=cap if len(hits) > cap else None
        )
        if queue:
            queue_detection(pending(images))
    for image in images:
        if image.state == Image.State.DONE:
            image_apply_bootstrap(image=image)
    # A crawl whose photos were all processed already (shared with another project).
    processing_check(project_id=project.pk)
    return len(images)


def _portrait_infos(client: ApiClient, project: Project, *, known: set[int]) -> list[FileInfo]:
    """The person's Wikidata image (P18) when it is a bitmap file on Commons, linked as the
    search's files are: its face is then the learner's first question (the hint), also
    when the file lies outside the category, as it mostly does."""
    if not project.person_image:
        return []
    ref = FileRef(title="File:" + project.person_image.removeprefix("File:"))
    info = resolve_files(client, refs=[ref], width=DETECTION.thumb_width)[0].info
    withheld = Withholding.objects.values_of(Withholding.Kind.FILE)
    if info is None or not info.is_bitmap or info.pageid in known or info.title in withheld:
        return []
    return [info]


def image_apply_bootstrap(*, image: Image) -> int:
    """A file said on Commons to depict a project's person: the face the statement means is
    the person (a bootstrap yes), a yes without asking. That face is known when the file has
    exactly one face, or from the statement's P2677 region; otherwise nobody knows which."""
    links = ProjectImage.objects.filter(image=image, depicts_person=True)
    return bootstrap_yes(image, list(links.values_list("project_id", "depicts_region")))


def bootstrap_yes(image: Image, links: Sequence[tuple[int, str]]) -> int:
    """The bootstrap yes of these projects (project id, the statement's region or "")."""
    if not links:
        return 0
    faces = list(image.faces.current())
    labels = []
    for project_id, region in links:
        face = _stated_face(faces, region)
        if face is not None:
            labels.append(
                Label(
                    project_id=project_id,
                    face=face,
                    verdict=Label.Verdict.YES,
                    source=Label.Source.BOOTSTRAP,
                )
            )
    Label.objects.bulk_create(labels, ignore_conflicts=True)
    return len(labels)


def _stated_face(faces: Sequence[Face], region: str) -> Face | None:
    """The face a statement means: the only one, or the one overlapping its region most."""
    if len(faces) == 1:
        return faces[0]
    try:
        box = region_fractions(region)
    except ValueError:  # a region someone typed by hand on Commons: no face from it
        return None
    if box is None or not faces:
        return None
    overlaps = [_overlap(box, (f.left, f.top, f.width, f.height)) for f in faces]
    best = max(range(len(faces)), key=overlaps.__getitem__)
    return faces[best] if overlaps[best] > 0 else None


def _overlap(a: Region, b: Region) -> float:
    """The area two boxes (x, y, w, h in fractions of the image) share."""
    width = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    height = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    return max(width, 0.0) * max(height, 0.0)
