"""``setupdemo``: the demo's user and project, against the offline stand-in (``make demo``)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from commons.client import CommonsError, wikidata_client
from projects import services
from projects.models import Project


class Command(BaseCommand):
    help = "Create (once) the demo user and a project for a person of the demo world."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default="demo")
        parser.add_argument("--password", default="demo")
        parser.add_argument("--qid", default="Q76", help="the person (default Barack Obama)")
        parser.add_argument("--category", default="Barack Obama")

    def handle(self, *args: object, **options: str) -> None:
        user, created = get_user_model().objects.get_or_create(
            username=options["username"], defaults={"is_staff": True, "is_superuser": True}
        )
        if created:
            user.set_password(options["password"])
            user.save()
        project = Project.objects.filter(owner=user, qid=options["qid"]).first()
        if project is None:
            languages = [code for code, _name in settings.LANGUAGES]
            try:
                with wikidata_client() as client:
                    person = services.person_check(
                        client=client, qid=options["qid"], languages=languages
                    )
            except (CommonsError, services.NotAHuman) as error:
                raise CommandError(f"Is the stand-in running? {error}") from error
            project = services.project_start(
                owner=user, person=person, category=options["category"], min_answers=3
            )
        self.stdout.write(
            f"Demo ready: log in as {options['username']} / {options['password']}; "
            f"project {project.pk} ({project.person_label}, Category:{project.category})."
        )
