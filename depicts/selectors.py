"""Reads shaped for the suggestion grid, the send page and its live state endpoint."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User
from django.db.models import Count, Exists, F, Min, OuterRef, Q, QuerySet, Subquery
from django.utils.translation import gettext as _

from commons.mediainfo import region_fractions
from commons.oauth import wikimedia_username
from depicts.models import DepictsEdit, WriteSwitch
from faceengine.learner.audit import DOUBT_BELOW
from faceengine.learner.questions import DOUBT
from faces.learner_figures import learner_summary
from faces.models import Face, Label, ProjectImage
from faces.selectors import label_of
from projects.models import Project

State = DepictsEdit.State
ADD, REMOVE = DepictsEdit.Action.ADD, DepictsEdit.Action.REMOVE
WAITING = (State.QUEUED, State.SENDING, State.REVERT_QUEUED, State.REVERTING)
RECENT_EDITS = 200
RECENT_BATCHES = 20


# --- statements on Commons (shapes shared by the grid, the send page and the services) ----

REMOVAL_PENDING = (State.PROPOSED, State.APPROVED, State.QUEUED, State.SENDING)


def statement_on_commons(project: Project, *, face: str = "pk", image: str = "image_id") -> Q:
    """Faces whose P180 of the project's person stands on Commons, as far as WikiVisage knows:
    a bootstrap yes on a file still recorded as depicting the person, or an addition that
    WikiVisage sent. ``face`` and ``image`` name the outer query's columns."""
    bootstrap_yes = Label.objects.filter(
        project=project,
        face_id=OuterRef(face),
        source=Label.Source.BOOTSTRAP,
        verdict=Label.Verdict.YES,
    )
    still_depicted = ProjectImage.objects.filter(
        project=project, image_id=OuterRef(image), depicts_person=True
    )
    ours = DepictsEdit.objects.filter(
        project=project, face_id=OuterRef(face), action=ADD, state=State.SENT
    )
    return Q(Exists(bootstrap_yes), Exists(still_depicted)) | Q(Exists(ours))


def removals_of(project: Project, *, image: str, states: Sequence[str] | None = None) -> Exists:
    """A removal of the person's statement from the outer row's file (in ``states``, if given)."""
    edits = DepictsEdit.objects.filter(
        project=project, image_id=OuterRef(image), qid=project.qid, action=REMOVE
    )
    return Exists(edits.filter(state__in=list(states)) if states is not None else edits)


def contradicted(project: Project) -> QuerySet[Label]:
    """A reviewer's "no" on a face whose statement stands on Commons, with no removal of it
    yet (proposed, sent, or dismissed): what the send page offers to remove. A "no" answered
    in the classify page leads here; the grid proposes its removals itself."""
    return (
        Label.objects.filter(project=project, source=Label.Source.HUMAN, verdict=Label.Verdict.NO)
        .filter(statement_on_commons(project, face="face_id", image="face__image_id"))
        .exclude(removals_of(project, image="face__image_id"))
    )


# --- the suggestion grid ----------------------------------------------------------------


class SuggestionSource:
    ALL = ""
    MODEL = "model"  # proposed by the learner, nobody answered
    HUMAN = "human"  # a reviewer said yes
    COMMONS = "commons"  # not a suggestion: the statement is on Commons already (on_commons)
    DOUBTED = "doubted"  # statements on Commons the audit doubts (doubted_statements)


@dataclass(frozen=True)
class SuggestionFilter:
    score_min: Decimal | None = None
    score_max: Decimal | None = None
    source: str = SuggestionSource.ALL


def waiting(*, project: Project | None, source: str = SuggestionSource.ALL) -> QuerySet[Label]:
    """Faces waiting for approval: one model label row per face, in no order.

    A face waits when the learner suggests it and no reviewer answered it, or a reviewer said
    yes; and its photo neither depicts the person on Commons already nor has an edit for it.
    ``project`` None: in every project, each label judged in its own (the read API).
    """
    here: int | OuterRef = project.pk if project is not None else OuterRef("project_id")
    qid: str | OuterRef = project.qid if project is not None else OuterRef("project__qid")
    rows = Label.objects.filter(source=Label.Source.MODEL)
    if project is not None:
        rows = rows.filter(project=project)
    # Q: the stubs type a lookup's value, and a constant or an outer column are both fine here.
    human = Label.objects.filter(
        Q(project_id=here), face_id=OuterRef("face_id"), source=Label.Source.HUMAN
    )
    return (
        rows.filter(face__superseded_by__isnull=True)
        .annotate(human=Subquery(human.values("verdict")[:1]))
        .filter(_waiting(source))
        .exclude(Exists(_depicted(here)))
        .exclude(Exists(_edited(here, qid)))
    )


def suggestions(*, project: Project, filters: SuggestionFilter) -> QuerySet[Label]:
    """The grid's faces waiting for approval (:func:`waiting`), best score first."""
    rows = (
        waiting(project=project, source=filters.source)
        .select_related("face__image")
        .defer("face__encoding")
        .order_by(F("score").desc(nulls_last=True), "face_id")
    )
    if filters.score_min is not None:
        rows = rows.filter(score__gte=filters.score_min)
    if filters.score_max is not None:
        rows = rows.filter(score__lte=filters.score_max)
    return rows


DOUBT_BATCH = 6
"""How many suggestions the grid asks about at once: "which of these are not the person?"."""


def doubted(*, project: Project, limit: int = DOUBT_BATCH) -> list[Label]:
    """The learner's suggestions most likely wrong, least likely first: those no reviewer
    answered and the learner doubts (below 1 - ``DOUBT``). A "no" to one of
    them fixes a mistake the grid would otherwise make; it is what the learner asks next."""
    rows = suggestions(project=project, filters=SuggestionFilter(source=SuggestionSource.MODEL))
    rows = rows.filter(score__lt=1 - DOUBT)
    return list(rows.order_by(F("score").asc(nulls_first=True), "face_id")[:limit])


def on_commons(*, project: Project, filters: SuggestionFilter) -> QuerySet[Face]:
    """Faces whose statement is on Commons already (:func:`depicts.statement_on_commons`),
    for the grid's "on Commons" view, where a wrong one is rejected and its removal proposed.

    Least likely first (by the learner's score), since a wrong statement is what one looks
    for here; faces whose removal is under way are left out.
    """
    rows = (
        Face.objects.current()
        .filter(statement_on_commons(project))
        .exclude(removals_of(project, image="image_id", states=REMOVAL_PENDING))
        .annotate(
            score=label_of(project, Label.Source.MODEL, "score"),
            human=label_of(project, Label.Source.HUMAN, "verdict"),
        )
        .select_related("image")
        .defer("encoding")
        .order_by(F("score").asc(nulls_last=True), "pk")
    )
    if filters.score_min is not None:
        rows = rows.filter(score__gte=filters.score_min)
    if filters.score_max is not None:
        rows = rows.filter(score__lte=filters.score_max)
    return rows


def doubted_statements(*, project: Project, filters: SuggestionFilter) -> QuerySet[Face]:
    """The "check existing statements" queue: faces whose statement stands on Commons and
    that the audit doubts (``faceengine.learner.audit``: scored against the faces people
    confirmed and the other statements, never against the statement itself), that nobody
    answered yet and whose removal is not under way. Least likely first; ``score`` is the
    audit's probability.

    A "yes" keeps the statement (and makes its face evidence again); a rejection proposes
    its removal, as in the "on Commons" view."""
    audit = ProjectImage.objects.filter(
        project=project, image_id=OuterRef("image_id"), depicts_person=True
    ).values("statement_score")[:1]
    rows = (
        Face.objects.current()
        .filter(statement_on_commons(project))
        .exclude(removals_of(project, image="image_id", states=REMOVAL_PENDING))
        .annotate(score=Subquery(audit), human=label_of(project, Label.Source.HUMAN, "verdict"))
        .filter(human__isnull=True, score__lt=DOUBT_BELOW)
        .select_related("image")
        .defer("encoding")
        .order_by(F("score").asc(), "pk")
    )
    if filters.score_min is not None:
        rows = rows.filter(score__gte=filters.score_min)
    if filters.score_max is not None:
        rows = rows.filter(score__lte=filters.score_max)
    return rows


@dataclass(frozen=True)
class StatementCounts:
    """The audit of the person's statements on the project's files, for the project page."""

    statements: int  # files that depict the person on Commons, as far as WikiVisage knows
    checked: int  # of them, scored against the confirmed faces and the other statements
    doubted: int  # waiting in the "check existing statements" queue


def statement_counts(*, project: Project) -> StatementCounts:
    """How many statements the audit checked and how many it doubts (one query); a doubted
    file counts as :func:`doubted_statements` shows it: its stated face unanswered, its
    removal not under way."""
    answered = Label.objects.filter(
        project=project, face_id=OuterRef("pk"), source=Label.Source.HUMAN
    )
    stated = Label.objects.filter(
        project=project, face_id=OuterRef("pk"), source=Label.Source.BOOTSTRAP
    ).filter(verdict=Label.Verdict.YES)
    unsettled = (
        Face.objects.current()
        .filter(image_id=OuterRef("image_id"))
        .filter(Exists(stated))
        .exclude(Exists(answered))
    )
    in_doubt = Q(statement_score__lt=DOUBT_BELOW) & Q(Exists(unsettled))
    in_doubt &= ~Q(removals_of(project, image="image_id", states=REMOVAL_PENDING))
    counts = ProjectImage.objects.filter(project=project, depicts_person=True).aggregate(
        statements=Count("pk"),
        checked=Count("pk", filter=Q(statement_score__isnull=False)),
        doubted=Count("pk", filter=in_doubt),
    )
    return StatementCounts(**counts)


class EmptyReason:
    """Why the grid has no face waiting, most useful first (:func:`empty_grid`)."""

    FILTERED = "filtered"  # the filters leave nothing
    UNDONE = "undone"  # an undone batch's faces wait on the send page, approved again
    APPROVED = "approved"  # every suggestion is approved; the edits wait on the send page
    ON_THE_WAY = "on_the_way"  # approved and confirmed: being sent
    NO_ANSWERS = "no_answers"  # nobody answered a question yet
    LEARNING = "learning"  # answers given, the learner has not suggested anything yet
    SENT = "sent"  # everything suggested so far is on Commons
    NOTHING_MORE = "nothing_more"  # the learner suggests no other face for now


@dataclass(frozen=True)
class EmptyGrid:
    reason: str
    count: int  # the edits or answers the reason is about


def empty_grid(*, project: Project, filters: SuggestionFilter) -> EmptyGrid:
    """Why no face waits for approval, so the empty grid says so (two queries).

    Edits waiting on the send page come first: their faces left the grid for them.
    """
    if filters != SuggestionFilter():
        return EmptyGrid(EmptyReason.FILTERED, 0)
    adds = project.depicts_edits.filter(action=DepictsEdit.Action.ADD).aggregate(
        undone=Count("pk", filter=Q(state=State.APPROVED, reverted_at__isnull=False)),
        approved=Count("pk", filter=Q(state=State.APPROVED)),
        on_the_way=Count("pk", filter=Q(state__in=(State.QUEUED, State.SENDING))),
        sent=Count("pk", filter=Q(state__in=(State.SENT, State.ALREADY_PRESENT))),
    )
    for reason in (EmptyReason.UNDONE, EmptyReason.APPROVED, EmptyReason.ON_THE_WAY):
        if adds[reason]:
            return EmptyGrid(reason, adds[reason])
    if adds["sent"]:
        return EmptyGrid(EmptyReason.SENT, adds["sent"])
    answers = Label.objects.filter(project=project, source=Label.Source.HUMAN).count()
    summary = learner_summary(project)
    if summary is None or summary.updated_at is None:
        return EmptyGrid(EmptyReason.LEARNING if answers else EmptyReason.NO_ANSWERS, answers)
    return EmptyGrid(EmptyReason.NOTHING_MORE, answers)


def _waiting(source: str) -> Q:
    suggested = Q(verdict=Label.Verdict.YES, human__isnull=True)
    confirmed = Q(human=Label.Verdict.YES)
    if source == SuggestionSource.MODEL:
        return suggested
    if source == SuggestionSource.HUMAN:
        return confirmed
    return suggested | confirmed


def _depicted(project: int | OuterRef) -> QuerySet[ProjectImage]:
    return ProjectImage.objects.filter(
        Q(project_id=project), image_id=OuterRef("face__image_id"), depicts_person=True
    )


def _edited(project: int | OuterRef, qid: str | OuterRef) -> QuerySet[DepictsEdit]:
    return DepictsEdit.objects.filter(
        Q(project_id=project, qid=qid),
        image_id=OuterRef("face__image_id"),
        action=DepictsEdit.Action.ADD,
    ).exclude(state=DepictsEdit.State.CANCELLED)


# --- the send page ----------------------------------------------------------------------


@dataclass(frozen=True)
class Box:
    """A face box in percent of the full image, for the overlay on the thumbnail."""

    left: float
    top: float
    width: float
    height: float

    @property
    def data(self) -> str:
        return ",".join(f"{value:g}" for value in (self.left, self.top, self.width, self.height))


@dataclass(frozen=True)
class EditPreview:
    """An edit waiting for confirmation: what will change on which file."""

    id: int
    is_removal: bool
    file_title: str
    thumb_url: str
    qid: str
    person: str
    region: str
    box: Box | None
    statement: str
    approved_by: str
    approved_at: datetime
    undone_at: datetime | None = None  # sent once, then taken back by undoing its batch
    undone_by: str = ""


@dataclass(frozen=True)
class Contradiction:
    """A statement on Commons that a reviewer said is wrong, with no removal yet."""

    face_id: int
    file_title: str
    thumb_url: str
    box: Box
    statement: str
    answered_by: str
    answered_at: datetime


@dataclass(frozen=True)
class EditStatus:
    id: int
    is_removal: bool
    file_title: str
    state: str
    state_text: str
    error: str
    sent_by: str
    updated_at: datetime

    @property
    def waiting(self) -> bool:
        return self.state in WAITING

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "state": self.state,
            "state_text": self.state_text,
            "error": self.error,
            "waiting": self.waiting,
        }


@dataclass(frozen=True)
class BatchSummary:
    batch: uuid.UUID
    sent_by: str
    queued_at: datetime
    total: int
    sent: int
    waiting: int
    failed: int
    undone: int  # taken back from Commons by an undo
    can_revert: bool

    def as_json(self) -> dict[str, Any]:
        """The counts the send page's poll writes into the batch's row as edits move."""
        return {
            "batch": str(self.batch),
            "total": self.total,
            "sent": self.sent,
            "waiting": self.waiting,
            "failed": self.failed,
            "undone": self.undone,
            "can_revert": self.can_revert,
        }


@dataclass(frozen=True)
class SendPage:
    approved: list[EditPreview]
    proposed: list[EditPreview]
    contradicted: list[Contradiction]  # removals to propose, from reviewers' "no" answers
    statuses: list[EditStatus]
    batches: list[BatchSummary]
    writes_stopped: bool
    wikimedia_account: str | None  # the Wikimedia user the edits are made as; None: unlinked


def send_page(*, project: Project, user: User, language: str) -> SendPage:
    """Everything the send page shows, in six queries."""
    pending = project.depicts_edits.filter(state__in=[State.APPROVED, State.PROPOSED])
    waiting = list(with_people(pending))
    person = project.label_in(language)
    previews = [edit_preview(edit, person) for edit in waiting]
    return SendPage(
        approved=[p for p, e in zip(previews, waiting, strict=True) if e.state == State.APPROVED],
        proposed=[p for p, e in zip(previews, waiting, strict=True) if e.state == State.PROPOSED],
        contradicted=contradictions(project=project, person=person),
        statuses=edit_statuses(project=project),
        batches=batch_summaries(project=project, user=user),
        writes_stopped=not (project.writes_on and WriteSwitch.writes_allowed()),
        wikimedia_account=wikimedia_username(user),
    )


def contradictions(*, project: Project, person: str) -> list[Contradiction]:
    """Statements a reviewer contradicted, newest answer first, one per file (one query)."""
    labels = (
        contradicted(project)
        .select_related("face__image", "user")
        .defer("face__encoding")
        .order_by("-created_at", "-pk")
    )
    found: dict[int, Contradiction] = {}
    for label in labels:
        image = label.face.image
        if image.pk not in found:
            found[image.pk] = _contradiction(label, removal_text(person, project.qid))
    return list(found.values())


def _contradiction(label: Label, statement: str) -> Contradiction:
    face = label.face
    return Contradiction(
        face_id=face.pk,
        file_title=face.image.title,
        thumb_url=face.image.thumb_url,
        box=Box(*(100 * value for value in (face.left, face.top, face.width, face.height))),
        statement=statement,
        answered_by=label.user.get_username() if label.user else _("A reviewer"),
        answered_at=label.created_at,
    )


def edit_statuses(
    *, project: Project, batch: uuid.UUID | None = None, limit: int = RECENT_EDITS
) -> list[EditStatus]:
    """The edits that left the send page, and those the write policy refused at approval
    (with their reason), newest first (one query)."""
    # An undone addition is approved again (``depicts.services.undo.undone_back_to_approved``)
    # yet stays here, as reverted: the page shows what became of what was sent.
    edits = project.depicts_edits.exclude(state=State.PROPOSED).exclude(
        state=State.APPROVED, reverted_at__isnull=True
    )
    if batch is not None:
        edits = edits.filter(batch=batch)
    # An edit refused at approval has no batch but its reason: shown too.
    edits = edits.exclude(batch__isnull=True, error="").select_related("image", "sent_by")
    return [edit_status(edit) for edit in edits.order_by("-queued_at", "-pk")[:limit]]


def with_people(edits: QuerySet[DepictsEdit]) -> QuerySet[DepictsEdit]:
    return edits.select_related("image", "approved_by", "reverted_by").order_by(
        "-approved_at", "-pk"
    )


def edit_preview(edit: DepictsEdit, person: str) -> EditPreview:
    fractions = region_fractions(edit.region) if edit.region else None
    box = Box(*(100 * value for value in fractions)) if fractions else None
    return EditPreview(
        id=edit.pk,
        is_removal=edit.is_removal,
        file_title=edit.image.title,
        thumb_url=edit.image.thumb_url,
        qid=edit.qid,
        person=person,
        region=edit.region,
        box=box,
        statement=statement_text(edit, person),
        approved_by=edit.approved_by.get_username(),
        approved_at=edit.approved_at,
        undone_at=edit.reverted_at,
        undone_by=edit.reverted_by.get_username() if edit.reverted_by else "",
    )


def statement_text(edit: DepictsEdit, person: str) -> str:
    """The statement as the preview states it, e.g. "depicts (P180): Ada (Q7259)"."""
    names = {"person": person, "qid": edit.qid, "region": edit.region}
    if edit.is_removal:
        return removal_text(person, edit.qid)
    if edit.region:
        text = _(
            "Add: depicts (P180) %(person)s (%(qid)s), "
            "relative position within image (P2677) %(region)s"
        )
        return text % names
    return _("Add: depicts (P180) %(person)s (%(qid)s)") % names


def removal_text(person: str, qid: str) -> str:
    return _("Remove: depicts (P180) %(person)s (%(qid)s)") % {"person": person, "qid": qid}


def edit_status(edit: DepictsEdit) -> EditStatus:
    undone = edit.state == State.APPROVED
    return EditStatus(
        id=edit.pk,
        is_removal=edit.is_removal,
        file_title=edit.image.title,
        state=State.REVERTED if undone else edit.state,
        state_text=_("Undone; approved again, to send again or withdraw")
        if undone
        else edit.state_text,
        error=edit.error,
        sent_by=edit.sent_by.get_username() if edit.sent_by else "",
        updated_at=edit.updated_at,
    )


def batch_to_undo(*, project: Project, batch: uuid.UUID, user: User) -> int | None:
    """How many statements undoing ``batch`` would remove; None if ``user`` may not undo it
    (the same rule as :func:`depicts.services.undo.batch_revert`: its sender, or a moderator)."""
    edits = project.depicts_edits.filter(batch=batch)
    if not user.is_staff and edits.exclude(sent_by=user).exists():
        return None
    return edits.filter(action=DepictsEdit.Action.ADD, state=State.SENT).count()


def batch_summaries(*, project: Project, user: User) -> list[BatchSummary]:
    """The recent batches with their counts, newest first (one query)."""
    rows = (
        project.depicts_edits.filter(batch__isnull=False)
        .values("batch", "sent_by", "sent_by__username")
        .annotate(
            first_queued=Min("queued_at"),
            total=Count("pk"),
            sent=Count("pk", filter=Q(state=State.SENT)),
            waiting=Count("pk", filter=Q(state__in=WAITING)),
            failed=Count("pk", filter=Q(state=State.FAILED)),
            undone=Count("pk", filter=Q(reverted_at__isnull=False)),
            revertible=Count("pk", filter=Q(state=State.SENT, action=DepictsEdit.Action.ADD)),
        )
        .order_by("-first_queued")[:RECENT_BATCHES]
    )
    return [
        BatchSummary(
            batch=row["batch"],
            sent_by=row["sent_by__username"] or "",
            queued_at=row["first_queued"],
            total=row["total"],
            sent=row["sent"],
            waiting=row["waiting"],
            failed=row["failed"],
            undone=row["undone"],
            can_revert=row["revertible"] > 0 and (user.is_staff or row["sent_by"] == user.pk),
        )
        for row in rows
    ]
