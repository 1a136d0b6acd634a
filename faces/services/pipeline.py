"""Category → images → faces: idempotent steps that a killed worker can always take up again."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, F, Max, OuterRef, Q, QuerySet
from django.utils import timezone

from commons.categories import crawl, file_categories, start_crawl
from commons.client import ApiClient
from commons.files import Lookup, fetch_file_infos, resolve_files
from commons.identifiers import FileRef, file_reference, normalise_category
from commons.mediainfo import Region, fetch_depicts, region_fractions
from commons.search import search_depicting
from commons.types import CrawlCursor, FileInfo
from core.enqueue import enqueue
from core.errors import PermanentError, ServiceError, TransientError
from faces import providers
from faces.detection import DETECTION, DetectedFace, DetectionConfig, FaceBox
from faces.imaging import BadImageError
from faces.inference import Detections
from faces.models import (
    DetectTurn,
    Face,
    Image,
    ImageCategory,
    Label,
    ProjectImage,
    ReviewLease,
    new_upload_wait,
    old_enough_q,
)
from faces.services.review import twin_answers_share
from projects.models import ListedFile, Notification, Project, Withholding
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


# --- crawl ------------------------------------------------------------------------------


@dataclass
class CrawlSummary:
    batches: int = 0
    files: int = 0
    new_images: list[int] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)
    finished: bool = False
    # The files-per-project bound, when the crawl stopped there before the tree's end.
    limit_hit: int | None = None
    # The files-per-user bound (all the owner's projects), when the crawl stopped there.
    owner_limit_hit: int | None = None
    # Files the finished pass no longer reached, unlinked (:func:`_links_sweep`).
    unlinked: int = 0


def project_crawl(
    *, project: Project, client: ApiClient, max_batches: int | None = None, queue: bool = True
) -> CrawlSummary:
    """Crawl the project's category into Images, one committed batch at a time.

    1. Continue from the stored cursor, or start a crawl at the project's depth limit.
    2. For each batch of files: fetch their metadata, keep those within the project's file
       bound, fetch their existing depicts statements, upsert the Image rows, link them to
       the project, and store the cursor — all in one transaction, so an interrupted crawl
       resumes after the last committed batch.
    3. Queue detection for the new images once each batch is committed (unless ``queue`` is
       off: ``processproject`` detects in its own process).
    4. Clear the cursor when the category tree is exhausted, or as soon as a file is left
       out at the bound: the crawl stops there and the project records the bound.
    5. A pass that listed the whole tree unlinks the category files it did not meet
       (:func:`_links_sweep`): those reached only through a category withheld since, or
       taken out of the tree on Commons. A pass stopped at the bound has not seen the whole
       tree, so it unlinks nothing.
    Withheld categories are never listed nor descended into, withheld files never taken.
    A project over a list of files looks its lines up instead (:func:`_crawl_listed`).
    """
    if project.scope == Project.Scope.FILES:
        return _crawl_listed(project=project, client=client, max_batches=max_batches, queue=queue)
    cursor = _stored_cursor(project)
    summary = CrawlSummary(skipped=dict(cursor.skipped))
    bound = settings.WIKIVISAGE_MAX_FILES_PER_PROJECT
    categories = Withholding.objects.values_of(Withholding.Kind.CATEGORY)
    for batch in crawl(client, cursor=cursor, withheld=categories):
        infos = _file_infos(client, [member.pageid for member in batch.files])
        with transaction.atomic():
            taken = _within_file_bound(project, infos, bound=bound)
            images = images_upsert(infos=taken)
            _link(project, images, source=ProjectImage.Source.CATEGORY)
            _record_categories(images, batch.category)
            _record_depicts(project, client, images)
            Project.objects.filter(pk=project.pk).update(crawl_cursor=batch.cursor.to_dict())
            if queue:
                queue_detection(_pending(images))
        summary.batches += 1
        summary.files += len(taken)
        summary.skipped = dict(batch.cursor.skipped)
        if len(taken) < len(infos):
            _bound_hit(project, summary, bound=bound)
            break
        if max_batches is not None and summary.batches >= max_batches:
            return summary
    stopped = summary.limit_hit is not None or summary.owner_limit_hit is not None
    return _crawl_finished(project, summary, sweep=not stopped)


def _crawl_finished(project: Project, summary: CrawlSummary, *, sweep: bool) -> CrawlSummary:
    """The cursor cleared (the next crawl starts over), the time and bound recorded, and,
    with ``sweep``, the files the pass did not meet unlinked."""
    with transaction.atomic():
        if sweep:
            summary.unlinked = _links_sweep(project)
        Project.objects.filter(pk=project.pk).update(
            crawl_cursor=None,
            crawled_at=timezone.now(),
            crawl_limit_hit=summary.limit_hit,
            owner_limit_hit=summary.owner_limit_hit,
        )
    summary.finished = True
    return summary


def _pass_start(project: Project) -> None:
    """A new pass over the tree (or the list): no file is met by it yet."""
    ProjectImage.objects.filter(project=project, source=ProjectImage.Source.CATEGORY).update(
        crawl_seen=False
    )


def _links_sweep(project: Project) -> int:
    """Unlink the category files the finished pass did not meet, as a withheld file leaves
    (``faces.services.withholding``): their faces, answers and sent edits stay as history,
    they only leave the project's review and suggestions; leases on their faces end, and
    the writer cancels their unsent additions (``write.unlinked_cancel``)."""
    gone = ProjectImage.objects.filter(
        project=project, source=ProjectImage.Source.CATEGORY, crawl_seen=False
    )
    image_ids = list(gone.values_list("image_id", flat=True))
    if not image_ids:
        return 0
    ReviewLease.objects.filter(project=project, face__image_id__in=image_ids).delete()
    deleted, _by_model = gone.filter(image_id__in=image_ids).delete()
    logger.info("project %s: %d files no longer reached, unlinked", project.pk, deleted)
    enqueue("depicts.write.unlinked_cancel", project.pk)
    return deleted


# Lines looked up per batch: ``titles``/``pageids`` take 50 values, and 50 thumbnails
# render per request (ApiQueryImageInfo::TRANSFORM_LIMIT).
LINES_PER_BATCH = 50
_LOOKUP_STATES = {
    Lookup.FOUND: ListedFile.State.FOUND,
    Lookup.MISSING: ListedFile.State.MISSING,
    Lookup.NOT_FILE: ListedFile.State.NOT_FILE,
    Lookup.NOT_IMAGE: ListedFile.State.NOT_IMAGE,
    Lookup.INVALID: ListedFile.State.INVALID,
}


def _crawl_listed(
    *, project: Project, client: ApiClient, max_batches: int | None, queue: bool
) -> CrawlSummary:
    """Look the lines of the project's list up on Commons into Images, a batch at a time.

    1. Continue after the last line a committed batch looked up (the cursor), or from the
       first line.
    2. For each batch of lines: resolve them (titles through ``normalized`` and redirects,
       page ids as they are); keep the bitmap files not withheld and within the project's
       bound; upsert and link their Images, record their depicts statements, write on each
       line what Commons said of it, store the cursor — in one transaction.
    3. Queue detection for the new images once each batch is committed.
    4. Clear the cursor after the last line, and unlink the files no line gave this time
       (withheld, deleted since: :func:`_links_sweep`). The next crawl (the periodic
       re-crawl) looks every line up again: a file renamed, deleted or uploaded since is
       seen then.
    Every line ends with a state (``ListedFile.State``): none is dropped unsaid.
    """
    after = _listed_cursor(project)
    summary = CrawlSummary()
    bound = settings.WIKIVISAGE_MAX_FILES_PER_PROJECT
    lines = ListedFile.objects.filter(project=project).order_by("position")
    while batch := list(lines.filter(position__gt=after)[:LINES_PER_BATCH]):
        infos = _lines_resolve(client, batch)
        with transaction.atomic():
            taken = _within_file_bound(project, infos, bound=bound)
            _lines_over_bound(batch, taken)
            images = images_upsert(infos=taken)
            _link(project, images, source=ProjectImage.Source.CATEGORY)
            _record_depicts(project, client, images)
            ListedFile.objects.bulk_update(
                batch, ["title", "pageid", "state", "detail", "checked_at"]
            )
            after = batch[-1].position
            Project.objects.filter(pk=project.pk).update(crawl_cursor={"listed_after": after})
            if queue:
                queue_detection(_pending(images))
        summary.batches += 1
        summary.files += len(taken)
        if len(taken) < len(infos):
            _bound_hit(project, summary, bound=bound)  # later lines are still looked up
        if max_batches is not None and summary.batches >= max_batches:
            return summary
    # Lines past the bound were still looked up: every file the project holds was met.
    return _crawl_finished(project, summary, sweep=True)


def _listed_cursor(project: Project) -> int:
    """The position of the last line a committed batch looked up; 0 to start over."""
    project.refresh_from_db(fields=["crawl_cursor"])
    cursor = project.crawl_cursor
    after = cursor.get("listed_after") if isinstance(cursor, dict) else None
    if isinstance(after, int) and after >= 0:
        return after
    _pass_start(project)
    return 0


def _lines_resolve(client: ApiClient, lines: Sequence[ListedFile]) -> list[FileInfo]:
    """Set each line's state from Commons' answer (unsaved); the images to take.

    The reference is read again from the line as the contributor gave it, so the stored
    title and page id can show what Commons answered (the new name of a renamed file).
    """
    refs: dict[int, FileRef] = {}
    for line in lines:
        try:
            refs[line.position] = file_reference(line.line)
        except ValidationError:
            _line_set(line, ListedFile.State.INVALID)
    asked = [line for line in lines if line.position in refs]
    resolved = resolve_files(
        client, refs=[refs[line.position] for line in asked], width=DETECTION.thumb_width
    )
    withheld = Withholding.objects.values_of(Withholding.Kind.FILE)
    infos = []
    for line, answer in zip(asked, resolved, strict=True):
        state = _LOOKUP_STATES[answer.lookup]
        if answer.info is not None and answer.info.title in withheld:
            state = ListedFile.State.WITHHELD
        detail = answer.info.mime if state == ListedFile.State.NOT_IMAGE and answer.info else ""
        _line_set(line, state, title=answer.title, pageid=answer.pageid, detail=detail)
        if state == ListedFile.State.FOUND and answer.info is not None:
            infos.append(answer.info)
    barred = _in_withheld_categories(client, [info.pageid for info in infos])
    for line in asked:
        if line.state == ListedFile.State.FOUND and line.pageid in barred:
            line.state = ListedFile.State.WITHHELD
    return [info for info in infos if info.pageid not in barred]


def _in_withheld_categories(client: ApiClient, pageids: Sequence[int]) -> set[int]:
    """The pages among ``pageids`` that are directly in a withheld category now (as the
    writer checks before a write); no request while no category is withheld."""
    withheld = Withholding.objects.values_of(Withholding.Kind.CATEGORY)
    if not withheld or not pageids:
        return set()
    categories = file_categories(client, pageids=list(pageids))
    return {pageid for pageid, names in categories.items() if names & withheld}


def _line_set(
    line: ListedFile, state: str, *, title: str = "", pageid: int | None = None, detail: str = ""
) -> None:
    line.state, line.detail, line.checked_at = state, detail[:255], timezone.now()
    line.title = title[:300] or line.title
    line.pageid = pageid if pageid is not None else line.pageid


def _lines_over_bound(lines: Sequence[ListedFile], taken: Sequence[FileInfo]) -> None:
    """Found files the project's bound left out say so."""
    kept = {info.pageid for info in taken}
    for line in lines:
        if line.state == ListedFile.State.FOUND and line.pageid not in kept:
            line.state = ListedFile.State.OVER_LIMIT


def _bound_hit(project: Project, summary: CrawlSummary, *, bound: int) -> None:
    """Record which bound left files out: the project's own, or its owner's."""
    if _owner_room(project) <= 0:
        summary.owner_limit_hit = settings.WIKIVISAGE_MAX_FILES_PER_USER
    else:
        summary.limit_hit = bound


def _owner_room(project: Project) -> int:
    """How many more files all the projects of ``project``'s owner may hold together."""
    held = Project.objects.filter(owner_id=project.owner_id).files_held()
    return int(settings.WIKIVISAGE_MAX_FILES_PER_USER) - held


def _within_file_bound(
    project: Project, infos: Sequence[FileInfo], *, bound: int
) -> list[FileInfo]:
    """The files of a batch the project may take: those it holds already (a re-crawl
    refreshes them), then new ones while it holds fewer than ``bound`` from its category
    and its owner's projects fewer than ``WIKIVISAGE_MAX_FILES_PER_USER`` together."""
    links = ProjectImage.objects.filter(project=project, source=ProjectImage.Source.CATEGORY)
    pageids = [info.pageid for info in infos]
    held = set(links.filter(image__pageid__in=pageids).values_list("image__pageid", flat=True))
    room = min(bound - links.count(), _owner_room(project))
    taken = []
    for info in infos:
        if info.pageid not in held:
            if room <= 0:
                continue
            room -= 1
            held.add(info.pageid)
        taken.append(info)
    return taken


def _stored_cursor(project: Project) -> CrawlCursor:
    project.refresh_from_db(fields=["crawl_cursor", "category", "crawl_depth"])
    if project.crawl_cursor:
        try:
            return CrawlCursor.from_dict(project.crawl_cursor)
        except ValueError:
            logger.warning("project %s: unreadable crawl cursor, starting over", project.pk)
    _pass_start(project)
    return start_crawl(project.category or "", max_depth=project.crawl_depth)


def _file_infos(client: ApiClient, pageids: Sequence[int]) -> list[FileInfo]:
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
    )


def _refresh_metadata(image: Image, info: FileInfo) -> None:
    """A renamed or re-uploaded file keeps its row; new bytes are detected again.

    New bytes (another SHA1) retire the faces found on the old ones (:func:`_faces_retire`)
    and send the image back to pending, its claim dropped: a worker still detecting the old
    bytes finds its claim gone and stores nothing. The same SHA1 again changes nothing.
    """
    stored = (image.title, image.sha1, image.thumb_url, image.uploaded_at)
    if stored == (info.title, info.sha1, info.thumb_url, info.timestamp):
        return
    reuploaded = image.sha1 != info.sha1
    image.title, image.sha1, image.mime = info.title, info.sha1, info.mime
    image.width, image.height = info.width, info.height
    image.thumb_url, image.thumb_width = info.thumb_url, info.thumb_width
    image.uploaded_at = info.timestamp
    fields = ["title", "sha1", "mime", "width", "height", "thumb_url", "thumb_width"]
    fields += ["uploaded_at", "updated_at"]
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


def _link(project: Project, images: Sequence[Image], *, source: str) -> None:
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


def _record_categories(images: Sequence[Image], category: str) -> None:
    """The category the crawl listed these files in (for the sensitive-content hold)."""
    name = normalise_category(category)
    ImageCategory.objects.bulk_create(
        [ImageCategory(image=image, category=name) for image in images], ignore_conflicts=True
    )


def _record_depicts(project: Project, client: ApiClient, images: Sequence[Image]) -> None:
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


def _pending(images: Iterable[Image]) -> list[int]:
    return [image.pk for image in images if image.state == Image.State.PENDING]


def queue_detection(image_ids: Sequence[int]) -> None:
    """Hand images to the detect workers once the surrounding transaction has committed.

    Their projects get a turn (kept if they have one), and the queue one ``detect.next``
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
    _turns_for(links.values_list("project_id", flat=True))


def _turns_for(project_ids: Iterable[int]) -> None:
    """A turn for each of these projects; one that has its turn keeps its place."""
    DetectTurn.objects.bulk_create(
        [DetectTurn(project_id=pk) for pk in set(project_ids)], ignore_conflicts=True
    )


# --- bootstrap --------------------------------------------------------------------------


def project_bootstrap(*, project: Project, client: ApiClient, queue: bool = True) -> int:
    """Files that already depict the person on Commons: known positives to start from.

    A file found only by the search is linked as ``bootstrap`` and stays outside the
    category's scope; a file in the category keeps its ``category`` link. The search adds
    at most ``WIKIVISAGE_MAX_BOOTSTRAP_FILES`` files; the project records the bound when it
    found more. Withheld files are left out (``_file_infos``), and so are files directly in
    a withheld category, found now or linked by an earlier search.
    """
    cap = settings.WIKIVISAGE_MAX_BOOTSTRAP_FILES
    # One hit past the cap tells whether there were more.
    hits = list(search_depicting(client, qid=project.qid, limit=cap + 1))
    infos = _file_infos(client, [hit.pageid for hit in hits[:cap]])
    links = ProjectImage.objects.filter(project=project, source=ProjectImage.Source.BOOTSTRAP)
    held = list(links.values_list("image__pageid", flat=True))
    barred = _in_withheld_categories(client, sorted({info.pageid for info in infos} | set(held)))
    infos = [info for info in infos if info.pageid not in barred]
    with transaction.atomic():
        if links.filter(image__pageid__in=barred).delete()[0]:
            enqueue("depicts.write.unlinked_cancel", project.pk)  # as the crawl's sweep does
        images = images_upsert(infos=infos)
        _link(project, images, source=ProjectImage.Source.BOOTSTRAP)
        # The search index lags edits: re-read the statements before trusting a hit.
        _record_depicts(project, client, images)
        Project.objects.filter(pk=project.pk).update(
            bootstrap_limit_hit=cap if len(hits) > cap else None
        )
        if queue:
            queue_detection(_pending(images))
    for image in images:
        if image.state == Image.State.DONE:
            image_apply_bootstrap(image=image)
    # A crawl whose photos were all processed already (shared with another project).
    processing_check(project_id=project.pk)
    return len(images)


def image_apply_bootstrap(*, image: Image) -> int:
    """A file said on Commons to depict a project's person: the face the statement means is
    the person (a bootstrap yes), a yes without asking. That face is known when the file has
    exactly one face, or from the statement's P2677 region; otherwise nobody knows which."""
    links = ProjectImage.objects.filter(image=image, depicts_person=True)
    return _bootstrap_yes(image, list(links.values_list("project_id", "depicts_region")))


def _bootstrap_yes(image: Image, links: Sequence[tuple[int, str]]) -> int:
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


# --- detection --------------------------------------------------------------------------


@dataclass(frozen=True)
class DetectOutcome:
    state: str
    faces: int = 0
    reused: bool = False
    error: str = ""


NOT_CLAIMED = DetectOutcome(state="not_claimed")


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
    if _detected_before(image):
        return _reencode_claimed(image, client)
    twin = _processed_twin(image)
    if twin is not None:
        return _finish(image, _copies(twin), reused=True)
    try:
        detected = _detect(image, client, config)
    except (BadImageError, PermanentError) as error:
        return _fail(image, error)
    except TransientError:
        _hand_back(image)
        raise
    encoder = detected.model_version
    faces = [_face_from(image, i, face, encoder) for i, face in enumerate(detected.faces)]
    return _finish(image, faces)


def _hand_back(image: Image) -> None:
    """A transient failure (Commons, or the model service down): the image waits, pending,
    with no error, and the task is retried later."""
    Image.objects.filter(pk=image.pk, claimed_at=image.claimed_at).update(
        state=Image.State.PENDING, claimed_at=None
    )


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
        )
        for f in twin.faces.current().filter(origin=Face.Origin.DETECTOR)
    ]


def _detect(image: Image, client: ApiClient, config: DetectionConfig) -> Detections:
    return providers.analysed(_thumbnail(image, client), config=config)


def _thumbnail(image: Image, client: ApiClient) -> bytes:
    if not image.thumb_url:
        raise PermanentError("nothumbnail", f"{image.title} has no thumbnail URL")
    return client.download(image.thumb_url, max_bytes=MAX_THUMBNAIL_BYTES)


def _face_from(image: Image, index: int, face: DetectedFace, encoder: str) -> Face:
    return Face(
        index=index,
        left=face.box.left,
        top=face.box.top,
        width=max(face.box.width, 1e-6),
        height=max(face.box.height, 1e-6),
        encoding=Face.pack(face.encoding),
        encoder=encoder,
        small=face.small,
        origin=Face.Origin.DETECTOR,
    )


def _finish(image: Image, faces: list[Face], *, reused: bool = False) -> DetectOutcome:
    with transaction.atomic():
        if not _claim_held(image, undetected=True):
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
    _bootstrap_yes(
        image, [(project_id, region) for project_id, depicts, region in links if depicts]
    )
    if reused:
        twin_answers_share(image=image)
    # A project whose last photo this was has its learner queued at once, and no delayed
    # run besides: that run may have started already, and one more would keep the project
    # waiting for a run that finds nothing new.
    finished = _tell_if_processed(project_ids)
    if faces:
        _rescore([project_id for project_id in project_ids if project_id not in finished])
    return DetectOutcome(state=Image.State.DONE, faces=len(faces), reused=reused)


def _claim_held(image: Image, *, undetected: bool = False) -> bool:
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


def _project_ids(image: Image) -> list[int]:
    return list(image.project_links.values_list("project_id", flat=True))


def _rescore(project_ids: Sequence[int], *, now: bool = False) -> None:
    from faces.services.rescoring import request_rescore

    for project_id in project_ids:
        request_rescore(project_id=project_id, now=now)


def _fail(image: Image, error: Exception) -> DetectOutcome:
    message = str(error)[:1000]
    Image.objects.filter(pk=image.pk, claimed_at=image.claimed_at).update(
        state=Image.State.ERROR, error=message, processed_at=timezone.now()
    )
    logger.info("image %s (%s): %s", image.pk, image.title, message)
    _tell_if_processed(_project_ids(image))
    return DetectOutcome(state=Image.State.ERROR, error=message)


def _tell_if_processed(project_ids: Sequence[int]) -> set[int]:
    """After a photo: if it was its project's last, the learner runs at once (its members wait
    for the suggestions) rather than a moment later, and the members are told. Returns the
    projects whose last photo it was."""
    finished = set()
    for project_id in project_ids:
        processed = _all_processed(project_id)
        if processed is not None:
            _rescore([project_id], now=True)
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
    _turns_for(waiting.values_list("project_id", flat=True).distinct())


# --- a new model: faces encoded again ---------------------------------------------------


def images_reencode(*, limit: int = 1000) -> list[int]:
    """Images whose faces another model encoded: the periodic sweep sends them back to the
    detect workers, which encode their faces again with the configured model.

    1. Ask the configured provider which model it serves (a model service that is down now
       is asked again at the next sweep).
    2. Take the done images holding a current, encoded face of another model, at most
       ``limit`` (``Face.encoder`` is indexed: with no such face this costs nothing).
    3. Hand them back, pending (only if still done); the caller queues them
       (:func:`queue_detection`). A detect worker then takes the path of
       :func:`_reencode_claimed`, not a new detection.
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


def _detected_before(image: Image) -> bool:
    """Detected already, with faces: an image :func:`images_reencode` handed back."""
    return image.processed_at is not None and image.faces.current().exists()


def _reencode_claimed(image: Image, client: ApiClient) -> DetectOutcome:
    """Encode the image's current faces again with the configured model.

    Boxes stay, and with them every answer, label and edit: an answer says who is in a box,
    whichever model encodes it. Only ``encoding`` and ``encoder`` change (a box the new
    model cannot encode loses its encoding; the learner leaves such faces out). Faces a new
    model's detector would find beyond these boxes are not looked for.
    """
    faces = list(image.faces.current().order_by("index"))
    boxes = [FaceBox(face.left, face.top, face.width, face.height) for face in faces]
    try:
        encoded = providers.encoded(_thumbnail(image, client), boxes)
    except (BadImageError, PermanentError) as error:
        return _fail(image, error)
    except TransientError:
        _hand_back(image)
        raise
    with transaction.atomic():
        if not _claim_held(image):
            return NOT_CLAIMED
        for face, vector in zip(faces, encoded.vectors, strict=True):
            packed = None if vector is None else Face.pack(vector)
            Face.objects.filter(pk=face.pk).update(encoding=packed, encoder=encoded.model_version)
        Image.objects.filter(pk=image.pk).update(
            state=Image.State.DONE, error="", processed_at=timezone.now()
        )
    _rescore(_project_ids(image))
    return DetectOutcome(state=Image.State.DONE, faces=len(faces))


# --- faces drawn by hand ----------------------------------------------------------------


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
        encoded = providers.encoded(_thumbnail(face.image, client), [box])
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
