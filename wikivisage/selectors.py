"""Reads for the pages that combine apps: the dashboard, the project page, the exports."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import timedelta

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from depicts.models import DepictsEdit
from depicts.selectors import SuggestionFilter, SuggestionSource, suggestions
from faces.models import Image, Label
from faces.selectors import ProjectProgress
from projects.models import Project
from projects.selectors import crawling

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


def edits_for_export(*, project: Project) -> QuerySet[DepictsEdit]:
    return (
        DepictsEdit.objects.filter(project=project)
        .select_related("image", "approved_by", "sent_by")
        .order_by("approved_at", "id")
    )
