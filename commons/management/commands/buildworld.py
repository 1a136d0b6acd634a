"""``manage.py buildworld PATH``: write a stand-in world file built from the face manifest.

Paths inside the file are relative to it, so the file can move with the data beside it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from commons.fakecommons import build_world_from_manifest


class Command(BaseCommand):
    help = "Write a world JSON file for the Commons stand-in, built from the faces manifest."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("output", type=Path)
        parser.add_argument("--manifest", type=Path, default=None)
        parser.add_argument(
            "--synthetic", type=int, default=0, help="members of a large synthetic category"
        )
        parser.add_argument("--max-per-identity", type=int, default=None)
        parser.add_argument("--max-others", type=int, default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        output: Path = options["output"].resolve()
        manifest = options["manifest"] or Path(settings.FACES_DATA_DIR) / "manifest.csv"
        world = build_world_from_manifest(
            manifest,
            synthetic_members=options["synthetic"],
            relative_to=output.parent,
            max_per_identity=options["max_per_identity"],
            max_others=options["max_others"],
        )
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(world, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        self.stdout.write(
            f"{output}: {len(world['files'])} files, {len(world['categories'])} categories"
        )
