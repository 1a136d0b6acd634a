"""``processproject ID``: crawl, bootstrap and detect a project in this process."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from commons.client import CommonsError, commons_client
from faces.models import Face, Image
from faces.services import bootstrap, crawl, detect, processing
from projects.models import Project


class Command(BaseCommand):
    help = (
        "Run a project's pending crawl, bootstrap and face detection here, with the same "
        "services as the Celery tasks; ends with a one-line summary."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("project_id", type=int)
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args: object, project_id: int, no_progress: bool, **options: object) -> None:
        project = Project.objects.filter(pk=project_id).first()
        if project is None:
            raise CommandError(f"No project with id {project_id}.")
        try:
            with commons_client() as client:
                crawled = crawl.project_crawl(project=project, client=client, queue=False)
                bootstrap.project_bootstrap(project=project, client=client, queue=False)
                self._detect(project, client, progress=not no_progress)
        except CommonsError as error:
            raise CommandError(f"Commons did not answer as expected: {error}") from error
        self.stdout.write(self._summary(project, skipped=sum(crawled.skipped.values())))

    def _detect(self, project: Project, client, *, progress: bool) -> None:
        pending = list(
            Image.objects.filter(project_links__project=project)
            .claimable(stale_after=processing.claim_timeout())
            .values_list("pk", flat=True)
        )
        for image_id in tqdm(
            pending, desc="detect", unit="image", disable=not progress, file=self.stderr
        ):
            detect.image_detect(image_id=image_id, client=client)

    def _summary(self, project: Project, *, skipped: int) -> str:
        images = Image.objects.filter(project_links__project=project)
        faces = Face.objects.current().of_project(project).count()
        errors = images.filter(state=Image.State.ERROR).count()
        return (
            f"project {project.pk}: {images.count()} images, {faces} faces, "
            f"{skipped} skipped, {errors} errors"
        )
