"""HEAD is answered wherever GET is (RFC 9110 §9.3.2): uptime monitors and link checkers send it.

Every URL pattern of the site is walked, its arguments filled with an existing project's id (or
a word), and asked GET then HEAD as a signed-in admin: a page of the app that answers GET with
anything but 405 must not answer HEAD with 405 (``require_GET`` does; ``require_safe`` allows
both). Pages of libraries (the admin, social-auth) are held to it where GET finds a page:
social-auth's IdP and app launch bridges are off here (GET is a 404) and refuse HEAD.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RegexPattern, RoutePattern

from tests.factories import ProjectFactory, UserFactory

APP_PACKAGES = ("wikivisage", "projects", "faces", "commons", "depicts")
ARGUMENT = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>")


def routes(resolver: URLResolver, prefix: str = "") -> Iterator[tuple[str, bool]]:
    """Every pattern's route (the routes of its includes prefixed) and whether the app serves it;
    regex patterns with groups (the admin's app list) cannot be filled in and are left out."""
    for entry in resolver.url_patterns:
        pattern = entry.pattern
        if isinstance(pattern, RoutePattern):
            route = str(pattern)
        elif isinstance(pattern, RegexPattern) and not re.compile(pattern._regex).groups:
            route = pattern._regex.lstrip("^").rstrip("$").replace("\\", "")
        else:
            continue
        if isinstance(entry, URLResolver):
            yield from routes(entry, prefix + route)
        elif isinstance(entry, URLPattern):
            module = getattr(entry.callback, "__module__", "") or ""
            yield prefix + route, module.startswith(APP_PACKAGES)


def address(route: str, pk: int) -> str:
    def fill(match: re.Match[str]) -> str:
        converter = match.group("converter") or "str"
        if converter == "int":
            return str(pk)
        if converter == "uuid":
            return "00000000-0000-0000-0000-000000000000"
        return "mediawiki" if match.group("name") == "backend" else "x"

    return "/" + ARGUMENT.sub(fill, route)


@pytest.mark.django_db
def test_every_page_that_answers_get_answers_head(client):
    admin = UserFactory(is_staff=True, is_superuser=True)
    project = ProjectFactory(owner=admin)
    client.force_login(admin)
    addresses = dict(sorted((address(r, project.pk), ours) for r, ours in routes(get_resolver())))
    assert {"/", "/health", "/health.json", f"/projects/{project.pk}/"} <= set(addresses)
    refused = []
    for url, ours in addresses.items():
        got = client.get(url).status_code
        if got == 405 or (got == 404 and not ours):
            continue  # a POST-only action, or a library's page that is off
        status = client.head(url).status_code
        if status == 405 or (status >= 500 and got < 500):
            refused.append(f"{url}: {status} (GET: {got})")
    assert not refused, "HEAD refused where GET is answered:\n" + "\n".join(refused)


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/", "/health", "/health.json"])
def test_an_uptime_monitor_gets_head_answered_anonymously(client, url):
    """The same status as GET (/health.json says 503 while no worker has answered), no body."""
    response = client.head(url)
    assert response.status_code == client.get(url).status_code != 405
    assert not response.content
