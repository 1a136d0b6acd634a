"""``createproject --qid Q (--category NAME | --files FILE | --search QUERY | --uploads USER)
--owner USERNAME`` prints the new project's id. ``--files`` reads a list of files as the
new-project page does (one title, page id or Commons address per line; the first column of a
``.csv``/``.tsv`` file); ``-`` is standard input. ``--search`` and ``--uploads`` are checked as
the page checks them (a search finding nothing, a user without uploads are refused)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand, CommandError, CommandParser

from commons.client import CommonsError, commons_client, wikidata_client
from commons.identifiers import FileRef, normalise_user
from projects import services
from projects.forms import MAX_UPLOAD_BYTES, listed_files, upload_lines
from projects.models import DEFAULT_MIN_ANSWERS


class Command(BaseCommand):
    help = (
        "Create a project for a Wikidata person and a Commons category, a list of files, a "
        "Commons search or a user's uploads; prints its id."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--qid", required=True, help="Wikidata item of a human, e.g. Q76")
        parser.add_argument("--category", help="Commons category, without prefix")
        parser.add_argument(
            "--files",
            help="a text file naming one file per line (title, page id or Commons address), "
            "or a .csv/.tsv file (first column); - for standard input",
        )
        parser.add_argument("--search", help="a Commons search in the File namespace")
        parser.add_argument("--uploads", help="a Wikimedia user: the files they uploaded")
        parser.add_argument("--owner", required=True, help="username of the project's owner")
        parser.add_argument("--depth", type=int, default=2, help="subcategory depth (default 2)")
        parser.add_argument("--threshold", type=float, default=0.6, help="distance threshold")
        parser.add_argument(
            "--min-answers",
            type=int,
            default=DEFAULT_MIN_ANSWERS,
            help=f"answers before suggestions (default {DEFAULT_MIN_ANSWERS})",
        )

    def handle(self, *args: object, **options: Any) -> None:
        scopes = ("category", "files", "search", "uploads")
        if sum(bool(options[scope]) for scope in scopes) != 1:
            raise CommandError(
                "Give either --category or --files (or --search, or --uploads): one of them only."
            )
        owner = get_user_model().objects.filter(username=options["owner"]).first()
        if owner is None:
            raise CommandError(f"No user named {options['owner']!r}.")
        files = _read_list(str(options["files"])) if options["files"] else None
        try:
            created = _open(owner, options, files)
        except services.CategoryMissing as missing:
            raise CommandError(f"There is no category {missing} on Commons.") from missing
        except services.SearchEmpty as empty:
            raise CommandError(f"The search {empty} finds no file on Commons.") from empty
        except services.NoUploads as none:
            raise CommandError(str(none)) from none
        except (ValidationError, services.NotAHuman, CommonsError) as error:
            raise CommandError(_message(error)) from error
        except services.WikimediaTrouble as trouble:
            raise CommandError(str(trouble)) from trouble
        self.stdout.write(str(created.project.pk))


def _open(
    owner: Any, options: dict[str, Any], files: list[tuple[int, str, FileRef]] | None
) -> services.NewProject:
    common = {
        "owner": owner,
        "qid": str(options["qid"]),
        "languages": [code for code, _name in settings.LANGUAGES],
        "distance_threshold": float(options["threshold"]),
        "min_answers": int(options["min_answers"]),
    }
    with wikidata_client() as wikidata:
        if files is not None:
            return services.project_open_files(files=files, wikidata=wikidata, **common)
        with commons_client() as commons:
            if options["search"]:
                query = " ".join(str(options["search"]).split())
                return services.project_open_search(
                    query=query, wikidata=wikidata, commons=commons, **common
                )
            if options["uploads"]:
                user = normalise_user(str(options["uploads"]))
                return services.project_open_uploads(
                    user=user, wikidata=wikidata, commons=commons, **common
                )
            return services.project_open(
                category=str(options["category"]),
                crawl_depth=int(options["depth"]),
                wikidata=wikidata,
                commons=commons,
                **common,
            )


def _read_list(path: str) -> list[tuple[int, str, FileRef]]:
    """The list as the page reads an upload: the same size cap, text check and line rules."""
    try:
        if path == "-":
            data = sys.stdin.buffer.read(MAX_UPLOAD_BYTES + 1)
        else:
            with Path(path).open("rb") as handle:
                data = handle.read(MAX_UPLOAD_BYTES + 1)
    except OSError as error:
        raise CommandError(f"Cannot read {path}: {error.strerror or error}") from error
    try:
        return listed_files(upload_lines(SimpleUploadedFile(Path(path).name, data)))
    except ValidationError as error:
        raise CommandError(f"{path}: {_message(error)}") from error


def _message(error: Exception) -> str:
    if isinstance(error, ValidationError):
        return "; ".join(error.messages)
    return str(error)
