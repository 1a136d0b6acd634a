"""Reads shaped for the project pages."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from commons.models import DepictsEdit
from faces.models import Face, Image, Label
from faces.selectors import SuggestionFilter, SuggestionSource, suggestions

from .models import Heartbeat, Membership, Project

# No image finished in this long while some wait: the detect workers are probably down.
STALL_AFTER = timedelta(minutes=10)


def dashboard_projects(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Project]:
    answered = (
        Label.objects.filter(project=OuterRef("pk"), source=Label.Source.HUMAN)
        .order_by()
        .values("project")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return (
        Project.objects.visible_to(user)
        .select_related("owner")
        .annotate(
            images_total=Count("project_images", distinct=True),
            images_done=Count(
                "project_images",
                filter=Q(project_images__image__state__in=[Image.State.DONE, Image.State.ERROR]),
                distinct=True,
            ),
            answered=Coalesce(Subquery(answered, output_field=IntegerField()), 0),
        )
        .order_by("-created_at")
    )


@dataclass(frozen=True)
class ProjectProgress:
    images: int
    processed: int
    errors: int
    faces: int
    answered: int
    confirmed: int

    def as_dict(self) -> dict[str, int]:
        return asdict(self)

    @property
    def detecting(self) -> bool:
        return self.processed < self.images


def project_progress(*, project: Project) -> ProjectProgress:
    images = Image.objects.filter(project_links__project=project).aggregate(
        total=Count("pk"),
        processed=Count("pk", filter=Q(state__in=[Image.State.DONE, Image.State.ERROR])),
        errors=Count("pk", filter=Q(state=Image.State.ERROR)),
    )
    labels = Label.objects.filter(project=project, source=Label.Source.HUMAN).aggregate(
        answered=Count("pk"), confirmed=Count("pk", filter=Q(verdict=Label.Verdict.YES))
    )
    return ProjectProgress(
        images=images["total"],
        processed=images["processed"],
        errors=images["errors"],
        faces=Face.objects.current().of_project(project).count(),
        answered=labels["answered"],
        confirmed=labels["confirmed"],
    )


@dataclass(frozen=True)
class ProjectCounts:
    """Where the project's faces stand on their way to Commons."""

    suggested: int  # the learner says yes and nobody answered yet
    approved: int  # edits approved or queued, not sent yet
    sent: int  # statements on Commons (written by us, or found there already)
    failed: int

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


SENT_STATES = (DepictsEdit.State.SENT, DepictsEdit.State.ALREADY_PRESENT)
WAITING_STATES = (DepictsEdit.State.APPROVED, DepictsEdit.State.QUEUED, DepictsEdit.State.SENDING)


def project_counts(*, project: Project) -> ProjectCounts:
    # The learner's suggestions nobody decided on yet: answered, approved or on Commons.
    pending = SuggestionFilter(source=SuggestionSource.MODEL)
    suggested = suggestions(project=project, filters=pending).order_by().count()
    additions = DepictsEdit.objects.filter(project=project, action=DepictsEdit.Action.ADD)
    edits = additions.aggregate(
        approved=Count("pk", filter=Q(state__in=WAITING_STATES)),
        sent=Count("pk", filter=Q(state__in=SENT_STATES)),
        failed=Count("pk", filter=Q(state=DepictsEdit.State.FAILED)),
    )
    return ProjectCounts(suggested=suggested, **edits)


def crawling(project: Project) -> bool:
    """The category is being listed: never finished, or a crawl is under way."""
    return project.crawled_at is None or project.crawl_cursor is not None


def pipeline_stalled(*, project: Project, progress: ProjectProgress) -> bool:
    """Work waits, yet nothing moved for a while: the workers look down.

    Work waits when photos wait for detection, or when the first crawl has not listed
    anything since the project was created.
    """
    since = timezone.now() - STALL_AFTER
    if not progress.images:
        return crawling(project) and project.created_at < since
    if not progress.detecting:
        return False
    images = Image.objects.filter(project_links__project=project)
    recently = images.filter(Q(processed_at__gte=since) | Q(created_at__gte=since)).exists()
    return not recently


def project_members(*, project: Project) -> QuerySet[Membership]:
    return project.memberships.select_related("user").order_by("role", "user__username")


# --- the score chart --------------------------------------------------------------------


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    kind: str  # css class: yes, no, open
    count: int


@dataclass(frozen=True)
class ScoreChart:
    """An SVG of the learner's score histogram, laid out here so the template only draws."""

    width: int
    height: int
    bars: list[Bar]
    threshold_x: float | None
    threshold: float | None
    precision: float | None
    recall: float | None
    answers: int
    suggested: int
    ticks: list[tuple[float, str]]


CHART_WIDTH, CHART_HEIGHT, CHART_PAD = 600, 220, 24
# The upper band shows the faces nobody answered, the lower one the answers (yes over no).
OPEN_BAND = (CHART_PAD, 100)
ANSWER_BAND = (CHART_PAD + 104, 76)


def score_chart(*, learning: Mapping[str, Any]) -> ScoreChart | None:
    """The chart of ``Project.learning``, or None before the learner has run."""
    histogram = learning.get("histogram") or {}
    counts = {kind: [int(c) for c in histogram.get(kind) or []] for kind in _KINDS}
    n = len(counts["unanswered"])
    edges = _edges([float(b) for b in histogram.get("bins") or []], n)
    if not n or edges is None:
        return None
    bars = _band(edges, counts["unanswered"], "open", OPEN_BAND)
    bars += _answer_bars(edges, counts["answered_yes"], counts["answered_no"])
    threshold = _number(learning.get("threshold"))
    return ScoreChart(
        width=CHART_WIDTH,
        height=CHART_HEIGHT,
        bars=bars,
        threshold_x=_x(threshold) if threshold is not None else None,
        threshold=threshold,
        precision=_number(learning.get("precision")),
        recall=_number(learning.get("recall")),
        answers=int(learning.get("answers") or 0),
        suggested=int(learning.get("suggested") or 0),
        ticks=[(_x(v), f"{v:.1f}") for v in (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)],
    )


_KINDS = ("unanswered", "answered_yes", "answered_no")


def _edges(bins: Sequence[float], n: int) -> list[float] | None:
    """Bin edges from either n+1 edges or n left edges (the last bin ends at 1)."""
    if len(bins) == n + 1:
        return list(bins)
    if len(bins) == n and n:
        return [*bins, 1.0]
    return None


def _x(score: float) -> float:
    return round(CHART_PAD + min(max(score, 0.0), 1.0) * (CHART_WIDTH - 2 * CHART_PAD), 2)


def _band(
    edges: Sequence[float],
    counts: Sequence[int],
    kind: str,
    band: tuple[int, int],
    *,
    scale: int | None = None,
    base: Sequence[int] | None = None,
) -> list[Bar]:
    top, height = band
    peak = scale or max(counts, default=0) or 1
    bars = []
    for i, count in enumerate(counts):
        below = base[i] if base else 0
        if not count:
            continue
        h, under = height * count / peak, height * below / peak
        left, right = _x(edges[i]), _x(edges[i + 1])
        bars.append(
            Bar(
                x=left,
                y=round(top + height - under - h, 2),
                width=max(right - left - 1, 1),
                height=round(h, 2),
                kind=kind,
                count=count,
            )
        )
    return bars


def _answer_bars(edges: Sequence[float], yes: Sequence[int], no: Sequence[int]) -> list[Bar]:
    n = len(edges) - 1
    yes, no = list(yes)[:n] + [0] * (n - len(yes)), list(no)[:n] + [0] * (n - len(no))
    peak = max((a + b for a, b in zip(yes, no, strict=True)), default=0) or 1
    return _band(edges, no, "no", ANSWER_BAND, scale=peak) + _band(
        edges, yes, "yes", ANSWER_BAND, scale=peak, base=no
    )


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def last_heartbeat() -> Heartbeat | None:
    return Heartbeat.objects.filter(answered_at__isnull=False).order_by("-answered_at").first()
