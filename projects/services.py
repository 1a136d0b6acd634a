"""Workflows that change projects and their people."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from commons.categories import CategoryInfo, FileEstimate, estimate_files
from commons.client import ApiClient, CommonsError
from commons.identifiers import FileRef, normalise_category, normalise_qid
from commons.listings import search_total, upload_log, user_has_uploads
from commons.types import Person
from commons.wikidata import PersonNotFound, get_labels, get_people, get_person
from core.enqueue import enqueue

from .models import DEFAULT_MIN_ANSWERS, ListedFile, Membership, Project, Withholding

T = TypeVar("T")


@transaction.atomic
def project_create(
    *,
    owner: User,
    qid: str,
    category: str | None = None,
    files: Sequence[tuple[int, str, FileRef]] = (),
    search_query: str = "",
    uploads_user: str = "",
    crawl_depth: int = 2,
    distance_threshold: float = 0.6,
    min_answers: int = DEFAULT_MIN_ANSWERS,
    person_labels: dict[str, str] | None = None,
    person_image: str = "",
) -> Project:
    """A project over ``category``, or, when one of them is given instead, over a list of
    ``files`` (each entry the line as given and the file it names), the files a Commons
    search finds (``search_query``) or the uploads of a user (``uploads_user``)."""
    scopes = {
        Project.Scope.CATEGORY: category is not None,
        Project.Scope.FILES: bool(files),
        Project.Scope.SEARCH: bool(search_query),
        Project.Scope.UPLOADS: bool(uploads_user),
    }
    if sum(scopes.values()) != 1:
        raise ValueError("a project takes one scope: a category, files, a search or a user")
    owner_files_refuse_full(owner)
    project = Project(
        owner=owner,
        qid=normalise_qid(qid),
        scope=next(scope for scope, given in scopes.items() if given),
        category=normalise_category(category) if category is not None else None,
        search_query=search_query,
        uploads_user=uploads_user,
        listed_count=len(files),
        crawl_depth=crawl_depth,
        distance_threshold=distance_threshold,
        min_answers=min_answers,
        person_labels=person_labels or {},
        person_image=person_image,
    )
    project.full_clean()
    project.save()
    Membership.objects.create(project=project, user=owner, role=Membership.Role.OWNER)
    ListedFile.objects.bulk_create(
        [
            ListedFile(
                project=project, position=position, line=line, title=ref.title, pageid=ref.pageid
            )
            # The line's number as pasted: the project page names lines as the list has them.
            for position, line, ref in files
        ],
        batch_size=1000,
    )
    return project


class NotAHuman(ValueError):
    """The Wikidata item is not an instance of human (Q5)."""


def person_check(*, client: ApiClient, qid: str, languages: Sequence[str]) -> Person:
    """The Wikidata person behind ``qid`` (redirect followed); refuses a non-human item.

    Raises ``PersonNotFound`` for a missing or deleted item and ``NotAHuman`` otherwise.
    """
    person = get_person(client, qid=qid, languages=languages)
    _refuse_not_human(person)
    return person


def person_accepted(person: Person | None, *, qid: str) -> Person:
    """The rules a new project's person passes once Wikidata has answered about ``qid``
    (the id asked for, normalised; ``person`` None: Wikidata has no such item), the same
    for one project and for each person of a group: the item exists (PersonNotFound), is a
    human (NotAHuman) and is withheld neither as asked nor as redirected (PersonWithheld).
    Both paths check the id asked for before asking too, so that Wikidata is not asked about
    a withheld person."""
    if person is None:
        raise PersonNotFound(qid)
    _refuse_not_human(person)
    person_refuse_withheld(qid, person.qid)
    return person


def _refuse_not_human(person: Person) -> None:
    if not person.is_human:
        raise NotAHuman(
            _("%(qid)s (%(label)s) is not a human on Wikidata.")
            % {"qid": person.qid, "label": person.label or person.qid}
        )


class CategoryMissing(ValueError):
    """The Commons category does not exist."""


def owner_files_refuse_full(owner: User) -> None:
    """Raise ValidationError when ``owner``'s projects hold as many files as one user may."""
    cap = settings.WIKIVISAGE_MAX_FILES_PER_USER
    if Project.objects.filter(owner=owner).files_held() >= cap:
        raise ValidationError(
            _(
                "Your projects hold %(count)s files together, the most one user may have: "
                "delete one of them before you start another."
            ),
            params={"count": number_format(cap, force_grouping=True)},
            code="owner_full",
        )


class PersonWithheld(ValidationError):
    """The person is on the withhold list: no project may look for them."""


def person_refuse_withheld(*qids: str) -> None:
    """Raise PersonWithheld, naming the first of ``qids`` that is withheld (a person is
    checked before and after a redirect); one query."""
    withheld = withheld_among(qids)
    for qid in qids:
        if qid in withheld:
            raise person_withheld(qid)


def withheld_among(qids: Sequence[str]) -> set[str]:
    """Which of ``qids`` are withheld people."""
    found = Withholding.objects.filter(kind=Withholding.Kind.PERSON, value__in=set(qids))
    return set(found.values_list("value", flat=True))


def person_withheld(qid: str) -> PersonWithheld:
    return PersonWithheld(
        _("%(qid)s is withheld: no project may look for this person.") % {"qid": qid},
        code="withheld",
    )


def projects_withhold(*, withholding: Withholding, by: User) -> int:
    """Archive, as a moderator would, the projects about a withheld person or category."""
    projects = Project.objects.exclude(moderation=Project.Moderation.ARCHIVED)
    if withholding.kind == Withholding.Kind.PERSON:
        projects = projects.filter(qid=withholding.value)
    elif withholding.kind == Withholding.Kind.CATEGORY:
        projects = projects.filter(category=withholding.value)
    else:
        return 0
    return projects.moderate(
        by=by,
        moderation=Project.Moderation.ARCHIVED,
        moderation_reason=withholding.reason,
    )


class WikimediaTrouble(Exception):
    """Wikidata or Commons did not answer as hoped; ``site`` names which."""

    def __init__(self, site: str, error: CommonsError) -> None:
        super().__init__(f"{site}: {error}")
        self.site = site
        self.error = error


class SearchEmpty(ValueError):
    """The Commons search finds no file."""


class NoUploads(ValueError):
    """No file on Commons is the user's upload (its current version); ``logged``: the upload
    log holds uploads of theirs all the same (deleted since, or re-uploaded by others)."""

    def __init__(self, user: str, *, logged: bool) -> None:
        if logged:
            text = _(
                "User:%(user)s uploaded files to Commons, but none of them is theirs now "
                "(deleted, or a newer version uploaded by someone else)."
            )
        else:
            text = _("User:%(user)s has uploaded no file to Commons.")
        super().__init__(text % {"user": user})
        self.user, self.logged = user, logged


@dataclass(frozen=True)
class NewProject:
    project: Project
    person: Person
    # For a category: what Commons says of its size (None for a list of files).
    estimate: FileEstimate | None = None
    # For a search: how many files it finds (the index's count).
    found: int | None = None

    @property
    def category(self) -> CategoryInfo | None:
        return self.estimate.root if self.estimate else None


# What a category's size estimate may cost when a project is created (a page waits): one
# request, the one that checks the category exists. The new-project page has shown the full
# estimate already, as the contributor typed; past the top category this one says "more than".
CREATION_ESTIMATE_REQUESTS = 1
CREATION_ESTIMATE_SECONDS = 1.5


def project_open(
    *,
    owner: User,
    qid: str,
    category: str,
    wikidata: ApiClient,
    commons: ApiClient,
    languages: Sequence[str],
    crawl_depth: int = 2,
    distance_threshold: float = 0.6,
    min_answers: int = DEFAULT_MIN_ANSWERS,
) -> NewProject:
    """A new project, by the same rules from the web page and from ``createproject``.

    1. The person: a human on Wikidata, a redirect followed (PersonNotFound, NotAHuman),
       and not withheld, neither as asked nor as redirected (PersonWithheld).
    2. The category: it exists on Commons, under its canonical title (CategoryMissing).
    3. The project is created and its crawl queued once committed.
    Wikidata or Commons failing to answer raises WikimediaTrouble naming the site.
    The category's size is estimated on the way, within a small budget (``NewProject``).
    """
    person = person_for_project(wikidata=wikidata, qid=qid, languages=languages)
    estimate = category_checked(commons, category=category, crawl_depth=crawl_depth)
    project = project_start(
        owner=owner,
        person=person,
        category=estimate.root.title,
        crawl_depth=crawl_depth,
        distance_threshold=distance_threshold,
        min_answers=min_answers,
    )
    return NewProject(project=project, person=person, estimate=estimate)


def project_open_files(
    *,
    owner: User,
    qid: str,
    files: Sequence[tuple[int, str, FileRef]],
    wikidata: ApiClient,
    languages: Sequence[str],
    distance_threshold: float = 0.6,
    min_answers: int = DEFAULT_MIN_ANSWERS,
) -> NewProject:
    """A new project over a list of files (``forms.listed_files``), by the same rules for
    the person as :func:`project_open`. The files are looked up on Commons by the crawl,
    which records what it found of each line (``ListedFile``): a page waits for no lookup
    of thousands of titles."""
    person = person_for_project(wikidata=wikidata, qid=qid, languages=languages)
    project = project_start(
        owner=owner,
        person=person,
        files=files,
        distance_threshold=distance_threshold,
        min_answers=min_answers,
    )
    return NewProject(project=project, person=person)


def project_open_search(
    *,
    owner: User,
    qid: str,
    query: str,
    wikidata: ApiClient,
    commons: ApiClient,
    languages: Sequence[str],
    distance_threshold: float = 0.6,
    min_answers: int = DEFAULT_MIN_ANSWERS,
) -> NewProject:
    """A new project over the files a Commons search finds, by the same rules for the person
    as :func:`project_open`; a search that finds nothing raises SearchEmpty."""
    person = person_for_project(wikidata=wikidata, qid=qid, languages=languages)
    found = _on_commons(lambda: search_total(commons, query=query))
    if not found:
        raise SearchEmpty(query)
    project = project_start(
        owner=owner,
        person=person,
        search_query=query,
        distance_threshold=distance_threshold,
        min_answers=min_answers,
    )
    return NewProject(project=project, person=person, found=found)


def project_open_uploads(
    *,
    owner: User,
    qid: str,
    user: str,
    wikidata: ApiClient,
    commons: ApiClient,
    languages: Sequence[str],
    distance_threshold: float = 0.6,
    min_answers: int = DEFAULT_MIN_ANSWERS,
) -> NewProject:
    """A new project over the uploads of ``user`` (``commons.identifiers.normalise_user``),
    by the same rules for the person as :func:`project_open`; a user none of whose files'
    current versions is theirs raises NoUploads."""
    person = person_for_project(wikidata=wikidata, qid=qid, languages=languages)
    if not _on_commons(lambda: user_has_uploads(commons, user=user)):
        logged = _on_commons(lambda: any(upload_log(commons, user=user, limit=1)))
        raise NoUploads(user, logged=logged)
    project = project_start(
        owner=owner,
        person=person,
        uploads_user=user,
        distance_threshold=distance_threshold,
        min_answers=min_answers,
    )
    return NewProject(project=project, person=person)


def _on_commons(ask: Callable[[], T]) -> T:
    try:
        return ask()
    except CommonsError as error:
        raise WikimediaTrouble("Commons", error) from error


def category_checked(commons: ApiClient, *, category: str, crawl_depth: int) -> FileEstimate:
    """The category as a new project takes it: it exists on Commons (CategoryMissing), its
    size estimated within a small budget; Commons failing to answer raises WikimediaTrouble."""
    try:
        estimate = estimate_files(
            commons,
            category=category,
            max_depth=crawl_depth,
            max_requests=CREATION_ESTIMATE_REQUESTS,
            budget_seconds=CREATION_ESTIMATE_SECONDS,
        )
    except CommonsError as error:
        raise WikimediaTrouble("Commons", error) from error
    if not estimate.root.exists:
        raise CategoryMissing(estimate.root.title or category)
    return estimate


def person_for_project(*, wikidata: ApiClient, qid: str, languages: Sequence[str]) -> Person:
    """The checked person of a new project (:func:`person_accepted`); Wikidata failing to
    answer raises WikimediaTrouble."""
    qid = normalise_qid(qid)
    person_refuse_withheld(qid)
    found = people_on_wikidata(wikidata=wikidata, qids=[qid], languages=languages)
    return person_accepted(found[qid], qid=qid)


def people_on_wikidata(
    *, wikidata: ApiClient, qids: Sequence[str], languages: Sequence[str]
) -> dict[str, Person | None]:
    """``commons.wikidata.get_people`` (one request for up to 50 people), Wikidata failing
    to answer raised as WikimediaTrouble."""
    try:
        return get_people(wikidata, qids=qids, languages=languages)
    except CommonsError as error:
        raise WikimediaTrouble("Wikidata", error) from error


def project_start(
    *,
    owner: User,
    person: Person,
    category: str | None = None,
    files: Sequence[tuple[int, str, FileRef]] = (),
    search_query: str = "",
    uploads_user: str = "",
    crawl_depth: int = 2,
    distance_threshold: float = 0.6,
    min_answers: int = DEFAULT_MIN_ANSWERS,
) -> Project:
    """Create the project for a checked person and queue its crawl once committed."""
    labels = dict(person.labels)
    if person.label and person.label_language:
        labels.setdefault(person.label_language, person.label)
    with transaction.atomic():
        project = project_create(
            owner=owner,
            qid=person.qid,
            category=category,
            files=files,
            search_query=search_query,
            uploads_user=uploads_user,
            crawl_depth=crawl_depth,
            distance_threshold=distance_threshold,
            min_answers=min_answers,
            person_labels=labels,
            person_image=person.image or "",
        )
        enqueue("faces.crawl.project", project.pk)
    return project


# --- the person's labels -------------------------------------------------------------------

logger = logging.getLogger(__name__)


def projects_labels_refresh(*, client: ApiClient, projects: QuerySet[Project]) -> int:
    """Read the persons' labels from Wikidata again (with the periodic re-crawl).

    1. Read the labels of the projects' Q-ids (50 per request) in the site's languages and
       those each project holds already, with Wikidata's fallbacks.
    2. Store each project's labels where they changed (that one field: workers write the
       same row).
    Wikidata not answering keeps every old label; an item that is gone or has no label in
    these languages keeps its project's old labels too. Returns the projects changed.
    """
    rows = list(projects.values_list("pk", "qid", "person_labels"))
    if not rows:
        return 0
    languages = [code for code, _name in settings.LANGUAGES]
    languages += sorted({lang for _pk, _qid, labels in rows for lang in (labels or {})})
    try:
        fresh = get_labels(client, qids=[qid for _pk, qid, _labels in rows], languages=languages)
    except CommonsError as error:
        logger.warning("labels not refreshed, the old ones stay: %s", error)
        return 0
    changed = 0
    for pk, qid, labels in rows:
        if fresh.get(qid) and fresh[qid] != labels:
            changed += Project.objects.filter(pk=pk).update(person_labels=fresh[qid])
    return changed


# --- the owner archives or deletes ----------------------------------------------------------


class OwnerActionRefused(Exception):
    """The owner cannot do this to the project now; ``str()`` says why, to the owner."""


def project_archive(*, project: Project) -> None:
    """The owner archives the project: it takes no answers, is not crawled again and sends
    nothing (its writes switch goes off; edits on their way wait in the queue). The owner
    may restore it (:func:`project_restore`). A moderator's hold is apart (``moderation``)
    and stays whatever the owner does."""
    Project.objects.filter(pk=project.pk).update(
        state=Project.State.ARCHIVED, writes_enabled=False, updated_at=timezone.now()
    )
    project.state, project.writes_enabled = Project.State.ARCHIVED, False


def project_restore(*, project: Project) -> None:
    """The owner takes back their own archive: the project is active again; its writes stay
    off until the owner turns them on (nothing leaves unasked). A project a moderator
    archived stays archived (OwnerActionRefused): only a moderator lifts that."""
    if project.moderation == Project.Moderation.ARCHIVED:
        raise OwnerActionRefused(
            _("A moderator archived this project: only a moderator can restore it.")
        )
    restored = Project.objects.filter(pk=project.pk, state=Project.State.ARCHIVED).update(
        state=Project.State.ACTIVE, updated_at=timezone.now()
    )
    if restored:
        project.state = Project.State.ACTIVE
        enqueue("faces.crawl.project", project.pk)  # pick up what changed while it was archived


def delete_confirmed(project: Project, typed: str) -> bool:
    """Whether ``typed`` names the project: its Wikidata id (Q76) or its number."""
    typed = typed.strip()
    return typed.upper() == project.qid.upper() or typed == str(project.pk)


def project_delete(*, project: Project, typed: str) -> None:
    """The owner deletes the project and the rows that are only its own: answers, labels,
    memberships, leases, its links to images, its edits that never left.

    1. The owner must type the project's Q-id or number (:func:`delete_confirmed`).
    2. A project a moderator holds cannot be deleted by its owner.
    3. A project with an edit ever queued for Commons keeps its record: that edit may be
       on Commons now, and its row (who approved and sent what, when) is the audit trail,
       which lives and dies with its project. The owner archives such a project instead.
    Images and faces stay (other projects share them, and a project that meets the file
    again finds its faces detected); nothing on Commons changes.
    """
    if not delete_confirmed(project, typed):
        raise OwnerActionRefused(_("Type the project's Wikidata id to confirm the deletion."))
    with transaction.atomic():
        locked = Project.objects.select_for_update().get(pk=project.pk)
        if locked.under_moderation:
            raise OwnerActionRefused(
                _("A moderator holds this project: it cannot be deleted until they release it.")
            )
        if Project.objects.filter(pk=project.pk, depicts_edits__queued_at__isnull=False).exists():
            raise OwnerActionRefused(
                _(
                    "Edits of this project were sent (or queued) to Commons: its record stays. "
                    "Archive the project instead."
                )
            )
        locked.delete()
