"""``createproject --qid Q --category NAME --owner USERNAME`` prints the new project's id."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from commons.client import CommonsError, commons_client, wikidata_client
from projects import services
from projects.models import DEFAULT_MIN_ANSWERS


class Command(BaseCommand):
    help = "Create a project for a Wikidata person and a Commons category; prints its id."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--qid", required=True, help="Wikidata item of a human, e.g. Q76")
        parser.add_argument("--category", required=True, help="Commons category, without prefix")
        parser.add_argument("--owner", required=True, help="username of the project's owner")
        parser.add_argument("--depth", type=int, default=2, help="subcategory depth (default 2)")
        parser.add_argument("--threshold", type=float, default=0.6, help="distance threshold")
        parser.add_argument(
            "--min-answers",
            type=int,
            default=DEFAULT_MIN_ANSWERS,
            help=f"answers before suggestions (default {DEFAULT_MIN_ANSWERS})",
        )

    def handle(self, *args: object, **options: object) -> None:
        owner = get_user_model().objects.filter(username=options["owner"]).first()
        if owner is None:
            raise CommandError(f"No user named {options['owner']!r}.")
        languages = [code for code, _name in settings.LANGUAGES]
        try:
            with wikidata_client() as wikidata, commons_client() as commons:
                created = services.project_open(
                    owner=owner,
                    qid=str(options["qid"]),
                    category=str(options["category"]),
                    wikidata=wikidata,
                    commons=commons,
                    languages=languages,
                    crawl_depth=int(options["depth"]),  # type: ignore[call-overload]
                    distance_threshold=float(options["threshold"]),  # type: ignore[arg-type]
                    min_answers=int(options["min_answers"]),  # type: ignore[call-overload]
                )
        except services.CategoryMissing as missing:
            raise CommandError(f"There is no category {missing} on Commons.") from missing
        except (ValidationError, services.NotAHuman, CommonsError) as error:
            raise CommandError(_message(error)) from error
        except services.WikimediaTrouble as trouble:
            raise CommandError(str(trouble)) from trouble
        self.stdout.write(str(created.project.pk))


def _message(error: Exception) -> str:
    if isinstance(error, ValidationError):
        return "; ".join(error.messages)
    return str(error)
