"""Reads shaped for the project pages."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from django.db.models import Count, Q, QuerySet

from faces.models import Face, Image, Label

from .models import Heartbeat, Project


def dashboard_projects(*, user) -> QuerySet[Project]:
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


def last_heartbeat() -> Heartbeat | None:
    return Heartbeat.objects.filter(answered_at__isnull=False).order_by("-answered_at").first()
