"""Crawl: a project's category tree (or list of files, search, user's uploads) into Images,
one committed batch at a time; idempotent steps that a killed worker can always take up again.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from commons.categories import crawl, file_categories, start_crawl
from commons.client import ApiClient
from commons.files import Lookup, resolve_files
from commons.identifiers import FileRef, file_reference
from commons.listings import search_listing, uploads_listing
from commons.types import CrawlCursor, FileInfo, ListedFiles
from core.enqueue import enqueue
from faceengine.detection import DETECTION
from faces.models import (
    ProjectImage,
    ReviewLease,
)
from faces.services.images import (
    file_infos,
    images_upsert,
    link_images,
    not_withheld,
    record_categories,
    record_depicts,
    record_file_categories,
)
from faces.services.processing import pending, queue_detection
from projects.models import ListedFile, Project, Withholding

logger = logging.getLogger(__name__)


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
    A project over a list of files looks its lines up instead (:func:`_crawl_listed`); one
    over a search or a user's uploads lists them (:func:`_crawl_paged`).
    """
    if project.scope == Project.Scope.FILES:
        return _crawl_listed(project=project, client=client, max_batches=max_batches, queue=queue)
    if project.scope in (Project.Scope.SEARCH, Project.Scope.UPLOADS):
        return _crawl_paged(project=project, client=client, max_batches=max_batches, queue=queue)
    cursor = _stored_cursor(project)
    summary = CrawlSummary(skipped=dict(cursor.skipped))
    bound = settings.WIKIVISAGE_MAX_FILES_PER_PROJECT
    categories = Withholding.objects.values_of(Withholding.Kind.CATEGORY)
    for batch in crawl(client, cursor=cursor, withheld=categories):
        infos = file_infos(client, [member.pageid for member in batch.files])
        with transaction.atomic():
            taken = _within_file_bound(project, infos, bound=bound)
            images = images_upsert(infos=taken)
            link_images(project, images, source=ProjectImage.Source.CATEGORY)
            record_categories(images, batch.category)
            record_depicts(project, client, images)
            Project.objects.filter(pk=project.pk).update(crawl_cursor=batch.cursor.to_dict())
            if queue:
                queue_detection(pending(images))
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
    the writer cancels their unsent additions (``depicts.write.unlinked_cancel``)."""
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
        infos, categories = _lines_resolve(client, batch)
        with transaction.atomic():
            taken = _within_file_bound(project, infos, bound=bound)
            _lines_over_bound(batch, taken)
            images = images_upsert(infos=taken)
            link_images(project, images, source=ProjectImage.Source.CATEGORY)
            record_file_categories(images, categories)
            record_depicts(project, client, images)
            ListedFile.objects.bulk_update(
                batch, ["title", "pageid", "state", "detail", "checked_at"]
            )
            after = batch[-1].position
            Project.objects.filter(pk=project.pk).update(crawl_cursor={"listed_after": after})
            if queue:
                queue_detection(pending(images))
        summary.batches += 1
        summary.files += len(taken)
        if len(taken) < len(infos):
            _bound_hit(project, summary, bound=bound)  # later lines are still looked up
        if max_batches is not None and summary.batches >= max_batches:
            return summary
    # Lines past the bound were still looked up: every file the project holds was met.
    return _crawl_finished(project, summary, sweep=True)


def _crawl_paged(
    *, project: Project, client: ApiClient, max_batches: int | None, queue: bool
) -> CrawlSummary:
    """Run the project's Commons search, or list its user's uploads, into Images, one
    answer (up to 500 files) at a time.

    1. Continue after the last answer a committed batch saved (the cursor holds the API's
       ``continue`` object), or start a new pass from the first answer.
    2. For each answer: its bitmap files with their metadata (``commons.listings``) and
       their direct categories; leave out those withheld or directly in a withheld category
       (:func:`not_withheld`, as a list's lines); keep those within the project's bound;
       upsert and link their Images, record their categories (for the sensitive-content
       hold) and depicts statements, store the cursor — in one transaction.
    3. Queue detection for the new images once each batch is committed.
    4. Stop at the bound as a category crawl does: the pass has not seen every file, so it
       unlinks nothing. Otherwise, once the listing ends, clear the cursor and unlink the
       files the pass did not meet (:func:`_links_sweep`): no longer found by the search,
       no longer the user's upload (deleted, or a new version by someone else), withheld.
    The next crawl (the periodic re-crawl) runs the listing again from its start.
    """
    cursor = _paged_cursor(project)
    summary = CrawlSummary(skipped=dict(cursor.get("skipped") or {}))
    bound = settings.WIKIVISAGE_MAX_FILES_PER_PROJECT
    listing = [] if cursor.get("ended") else _listing(project, client, cursor.get("continue"))
    for batch in listing:
        categories = file_categories(client, pageids=[info.pageid for info in batch.files])
        infos = not_withheld(batch.files, categories)
        skipped = dict(Counter(summary.skipped) + Counter(batch.skipped))
        with transaction.atomic():
            taken = _within_file_bound(project, infos, bound=bound)
            images = images_upsert(infos=taken)
            link_images(project, images, source=ProjectImage.Source.CATEGORY)
            record_file_categories(images, categories)
            record_depicts(project, client, images)
            stored = _paged_state(project, batch.continuation, skipped)
            Project.objects.filter(pk=project.pk).update(crawl_cursor=stored)
            if queue:
                queue_detection(pending(images))
        summary.batches += 1
        summary.files += len(taken)
        summary.skipped = skipped
        if len(taken) < len(infos):
            _bound_hit(project, summary, bound=bound)
            break
        last = batch.continuation is None  # finished below, not by another task
        if max_batches is not None and summary.batches >= max_batches and not last:
            return summary
    stopped = summary.limit_hit is not None or summary.owner_limit_hit is not None
    return _crawl_finished(project, summary, sweep=not stopped)


def _listing(
    project: Project, client: ApiClient, start: Mapping[str, str] | None
) -> Iterator[ListedFiles]:
    width = DETECTION.thumb_width
    if project.scope == Project.Scope.SEARCH:
        return search_listing(client, query=project.search_query, start=start, width=width)
    return uploads_listing(client, user=project.uploads_user, start=start, width=width)


def _paged_state(
    project: Project, continuation: Mapping[str, str] | None, skipped: dict[str, int]
) -> dict[str, Any]:
    """The cursor of a search or uploads pass: the listing it belongs to, where the next
    answer starts (``ended`` once there is none: a resumed pass then only finishes)."""
    return {
        "listing": project.scope,
        "continue": dict(continuation) if continuation else None,
        "ended": continuation is None,
        "skipped": skipped,
    }


def _paged_cursor(project: Project) -> dict[str, Any]:
    """The stored cursor of a search or uploads pass; empty to start a new pass."""
    project.refresh_from_db(fields=["crawl_cursor"])
    cursor = project.crawl_cursor
    if isinstance(cursor, dict) and cursor.get("listing") == project.scope:
        continuation = cursor.get("continue")
        if continuation is None or isinstance(continuation, dict):
            return cursor
        logger.warning("project %s: unreadable crawl cursor, starting over", project.pk)
    _pass_start(project)
    return {}


def _listed_cursor(project: Project) -> int:
    """The position of the last line a committed batch looked up; 0 to start over."""
    project.refresh_from_db(fields=["crawl_cursor"])
    cursor = project.crawl_cursor
    after = cursor.get("listed_after") if isinstance(cursor, dict) else None
    if isinstance(after, int) and after >= 0:
        return after
    _pass_start(project)
    return 0


def _lines_resolve(
    client: ApiClient, lines: Sequence[ListedFile]
) -> tuple[list[FileInfo], dict[int, frozenset[str]]]:
    """Set each line's state from Commons' answer (unsaved); the images to take, and the
    direct categories of the files found (no category listing met them: the withheld-category
    check and the sensitive-content hold read these).

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
    categories = file_categories(client, pageids=[info.pageid for info in infos])
    kept = not_withheld(infos, categories)
    barred = {info.pageid for info in infos} - {info.pageid for info in kept}
    for line in asked:
        if line.state == ListedFile.State.FOUND and line.pageid in barred:
            line.state = ListedFile.State.WITHHELD
    return kept, categories


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
