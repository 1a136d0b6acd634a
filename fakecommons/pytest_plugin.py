"""pytest fixtures that run the stand-in on a free loopback port.

Load with ``pytest_plugins = ["fakecommons.pytest_plugin"]``. Fixtures:

- ``faces_world`` (session): a small world dict from the shared face manifest (four photos
  per person, four of each other kind). Shared by the session: ``copy.deepcopy`` it before
  changing it.
- ``large_category_world`` (session): the same plus a category of 650 synthetic members.
- ``make_fake_commons(world_dict, **kwargs)``: start a server on a world (a dict, a
  :class:`World` or a path); it points ``settings`` at itself unless
  ``configure_settings=False``.
- ``fake_commons``: a server on ``faces_world`` with ``settings.COMMONS_API_URL``,
  ``WIKIDATA_API_URL``, ``SOCIAL_AUTH_MEDIAWIKI_URL`` (and the consumer key and secret) set.

At teardown every server fails the test if it broke itself (answered a 500), and if any
``api.php``, upload or Special:FilePath request broke Wikimedia's etiquette (User-Agent policy,
``maxlag=5``, standard thumbnail widths; a browser may fetch images, not call ``api.php``).
Only tests of that check itself may opt out of the etiquette check, with
``@pytest.mark.fakecommons_no_etiquette``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet

from fakecommons.build import build_world_from_manifest
from fakecommons.server import FakeCommons

NO_ETIQUETTE_MARK = "fakecommons_no_etiquette"
LARGE_CATEGORY_MEMBERS = 650


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{NO_ETIQUETTE_MARK}: the stand-in does not fail the test on etiquette breaches "
        "(only for tests of that check)",
    )


def faces_manifest() -> Path:
    from django.conf import settings

    return Path(settings.FACES_DATA_DIR) / "manifest.csv"


@pytest.fixture(scope="session")
def faces_world() -> dict[str, Any]:
    return build_world_from_manifest(faces_manifest(), max_per_identity=4, max_others=4)


@pytest.fixture(scope="session")
def large_category_world() -> dict[str, Any]:
    return build_world_from_manifest(
        faces_manifest(),
        max_per_identity=4,
        max_others=4,
        synthetic_members=LARGE_CATEGORY_MEMBERS,
    )


MakeFakeCommons = Callable[..., FakeCommons]


@pytest.fixture
def make_fake_commons(request: pytest.FixtureRequest, settings: Any) -> Iterator[MakeFakeCommons]:
    servers: list[FakeCommons] = []

    def make(world: Any, *, configure_settings: bool = True, **kwargs: Any) -> FakeCommons:
        server = FakeCommons(world, **kwargs).start()
        servers.append(server)
        if configure_settings:
            point_settings_at(settings, server)
        return server

    yield make
    for server in servers:
        server.stop()
    for server in servers:
        server.assert_no_internal_errors()
        if request.node.get_closest_marker(NO_ETIQUETTE_MARK) is None:
            server.assert_etiquette()


@pytest.fixture
def fake_commons(make_fake_commons: MakeFakeCommons, faces_world: dict[str, Any]) -> FakeCommons:
    return make_fake_commons(faces_world)


def point_settings_at(settings: Any, server: FakeCommons) -> None:
    settings.COMMONS_API_URL = server.commons_api_url
    settings.WIKIDATA_API_URL = server.wikidata_api_url
    settings.SOCIAL_AUTH_MEDIAWIKI_URL = server.meta_url
    settings.SOCIAL_AUTH_MEDIAWIKI_KEY = server.oauth.consumer_key
    settings.SOCIAL_AUTH_MEDIAWIKI_SECRET = server.oauth.consumer_secret
    # With a consumer configured the app needs a key to seal tokens (it refuses to start
    # without one); a test that set its own keeps it.
    settings.WIKIVISAGE_TOKEN_KEY = settings.WIKIVISAGE_TOKEN_KEY or Fernet.generate_key().decode()
