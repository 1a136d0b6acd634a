"""COMMONS_DOWNLOAD_THROTTLE_SECONDS: the least gap between two downloads of one worker
process, measured where it counts — at the arrival times the stand-in records."""

from __future__ import annotations

from itertools import pairwise

import pytest

from commons.client import commons_client
from commons.files import download_thumbnail, fetch_file_infos
from commons.types import FileInfo

NAMES = [f"Photo {n}.jpg" for n in range(4)]
WORLD = {
    "categories": {"Photos": {"files": NAMES, "subcats": []}},
    "files": {
        name: {"generate": {"format": "JPEG", "width": 1200, "height": 900, "seed": seed}}
        for seed, name in enumerate(NAMES)
    },
}
# The stand-in stamps a request when it arrives; scheduling on loopback moves a stamp by a few
# ms on a quiet machine and by up to ~25 ms on a loaded 2-core one (a full suite beside other
# work measured a 0.277 s gap for 0.3 s). Without the throttle the gaps are ~0.01 s.
SLACK = 0.05


@pytest.fixture
def fake(make_fake_commons):
    return make_fake_commons(WORLD)


def infos_of(fake) -> list[FileInfo]:
    pageids = [int(fake.mid(name)[1:]) for name in NAMES]
    with commons_client() as client:
        return list(fetch_file_infos(client, pageids=pageids, width=500).files)


def upload_times(fake) -> list[float]:
    return [r.time for r in fake.requests if r.site == "upload"]


def gaps(times: list[float]) -> list[float]:
    return [later - earlier for earlier, later in pairwise(times)]


def test_downloads_of_one_process_are_spaced_by_the_throttle(fake, settings):
    settings.COMMONS_DOWNLOAD_THROTTLE_SECONDS = 0.3
    infos = infos_of(fake)
    # Two clients, as two tasks of one worker would make: the gap holds across them.
    with commons_client() as first, commons_client() as second:
        for number, info in enumerate(infos):
            download_thumbnail(first if number % 2 else second, info=info)
    times = upload_times(fake)
    assert len(times) == len(NAMES)
    assert min(gaps(times)) >= 0.3 - SLACK


def test_without_a_throttle_no_download_waits(fake, settings):
    settings.COMMONS_DOWNLOAD_THROTTLE_SECONDS = 0
    infos = infos_of(fake)
    waits: list[float] = []
    with commons_client(sleep=waits.append) as client:
        for info in infos:
            download_thumbnail(client, info=info)
    assert waits == []
    assert len(upload_times(fake)) == len(NAMES)
