"""``manage.py fakecommons``: serve the offline Commons stand-in until interrupted.

Prints the environment lines that point WikiVisage at it (COMMONS_API_URL=… and so on).
Without ``--world`` it serves a world built from the shared face manifest.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from commons.fakecommons import FakeCommons, World, build_world_from_manifest
from commons.fakecommons.faults import KINDS, parse_spec


class Command(BaseCommand):
    help = "Serve the offline Commons/Wikidata/OAuth stand-in on 127.0.0.1."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--world", type=Path, help="world JSON file (default: built from the faces manifest)"
        )
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8765)
        parser.add_argument(
            "--fault",
            action="append",
            default=[],
            metavar="KIND[:TIMES[:ACTION]]",
            help=f"inject a fault; TIMES '*' = always; ACTION 'upload' targets the upload "
            f"server. Kinds: {', '.join(KINDS)}",
        )
        parser.add_argument(
            "--synthetic", type=int, default=0, help="synthetic members (default world only)"
        )
        parser.add_argument("--user", help="the user who approves OAuth requests")
        parser.add_argument("--callback", help="the consumer's registered OAuth callback URL")

    def handle(self, *args: Any, **options: Any) -> None:
        server = FakeCommons(
            self._world(options["world"], options["synthetic"]),
            options["host"],
            options["port"],
            oauth_username=options["user"],
            oauth_callback=options["callback"],
        )
        for spec in options["fault"]:
            try:
                server.faults.add(parse_spec(spec))
            except ValueError as error:
                raise CommandError(f"--fault {spec}: {error}") from error
        server.start()
        self.stdout.write("\n".join(server.env_lines()))
        self.stdout.flush()
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            self.stdout.write("stopped")

    def _world(self, path: Path | None, synthetic: int) -> World:
        if path is not None:
            return World.load(path)
        manifest = Path(settings.FACES_DATA_DIR) / "manifest.csv"
        data = build_world_from_manifest(manifest, synthetic_members=synthetic)
        return World.from_dict(data, manifest.parent)
