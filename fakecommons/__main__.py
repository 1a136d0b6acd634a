"""The stand-in from the command line, with no Django:

    python -m fakecommons serve [--world FILE] [--port 8765] [--fault maxlag:3] [--prerender 500]
    python -m fakecommons build FILE [--manifest CSV] [--synthetic N]

``serve`` prints the environment lines that point WikiVisage at it (COMMONS_API_URL=… and so
on) and serves until interrupted; without ``--world`` it serves a world built from the face
manifest; ``--prerender`` renders the thumbnails of those widths before it serves, so that
serving them costs no CPU (benchmarks). ``build`` writes a world file whose paths are
relative to it, so the file can move with the data beside it. The manifest defaults to
``$FACES_DATA_DIR/manifest.csv``, else ``../shared/data/faces/manifest.csv`` beside the
repository, as the settings have it.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from fakecommons.build import build_world_from_manifest
from fakecommons.faults import KINDS, parse_spec
from fakecommons.server import FakeCommons
from fakecommons.world import World

REPOSITORY = Path(__file__).resolve().parent.parent


def default_manifest() -> Path:
    faces = os.environ.get("FACES_DATA_DIR") or REPOSITORY.parent / "shared/data/faces"
    return Path(faces) / "manifest.csv"


def serve(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    if args.world is not None:
        world = World.load(args.world)
    else:
        data = build_world_from_manifest(args.manifest, synthetic_members=args.synthetic)
        world = World.from_dict(data, args.manifest.parent)
    server = FakeCommons(
        world, args.host, args.port, oauth_username=args.user, oauth_callback=args.callback
    )
    for spec in args.fault:
        try:
            server.faults.add(parse_spec(spec))
        except ValueError as error:
            parser.error(f"--fault {spec}: {error}")
    if args.prerender:
        server.uploads.prerender(int(width) for width in args.prerender.split(","))
    server.start()
    print("\n".join(server.env_lines()), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("stopped")


def build(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    output: Path = args.output.resolve()
    world = build_world_from_manifest(
        args.manifest,
        synthetic_members=args.synthetic,
        relative_to=output.parent,
        max_per_identity=args.max_per_identity,
        max_others=args.max_others,
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(world, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{output}: {len(world['files'])} files, {len(world['categories'])} categories")


def parser_for() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m fakecommons", description=__doc__)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    commands = parser.add_subparsers(dest="command", required=True)
    serving = commands.add_parser("serve", help="serve the Commons/Wikidata/OAuth stand-in")
    serving.set_defaults(run=serve)
    serving.add_argument("--world", type=Path, help="world JSON file (default: the manifest's)")
    serving.add_argument("--host", default="127.0.0.1")
    serving.add_argument("--port", type=int, default=8765)
    serving.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="KIND[:TIMES[:ACTION]]",
        help=f"inject a fault; TIMES '*' = always; ACTION 'upload' targets the upload "
        f"server. Kinds: {', '.join(KINDS)}",
    )
    serving.add_argument(
        "--prerender", metavar="WIDTHS", help="thumbnail widths to render first, e.g. 500"
    )
    serving.add_argument("--user", help="the user who approves OAuth requests")
    serving.add_argument("--callback", help="the consumer's registered OAuth callback URL")
    building = commands.add_parser("build", help="write a world file built from the manifest")
    building.set_defaults(run=build)
    building.add_argument("output", type=Path)
    building.add_argument("--max-per-identity", type=int, default=None)
    building.add_argument("--max-others", type=int, default=None)
    for command in (serving, building):
        command.add_argument("--manifest", type=Path, default=default_manifest())
        command.add_argument(
            "--synthetic", type=int, default=0, help="members of a large synthetic category"
        )
    return parser


def main(argv: list[str] | None = None) -> None:
    parser = parser_for()
    args = parser.parse_args(argv)
    args.run(args, parser)


if __name__ == "__main__":
    main()
