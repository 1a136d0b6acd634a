"""The offline Commons stand-in: Commons, Wikidata, upload.wikimedia.org and meta's OAuth,
served over loopback from a world file, so the real client runs against it in tests, the
demo and benchmarks (DESIGN.md, "The offline Commons stand-in").

Usage::

    world = build_world_from_manifest(Path("../shared/data/faces/manifest.csv"))
    with FakeCommons(world) as server:
        requests.get(server.commons_api_url, params={...})
        server.statements("M123", "P180")
"""

from fakecommons.build import build_world_from_manifest
from fakecommons.faults import Fault
from fakecommons.oauth import AccessToken
from fakecommons.records import RecordedRequest, WriteRecord
from fakecommons.server import FakeCommons
from fakecommons.world import World

__all__ = [
    "AccessToken",
    "FakeCommons",
    "Fault",
    "RecordedRequest",
    "World",
    "WriteRecord",
    "build_world_from_manifest",
]
