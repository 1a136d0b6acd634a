"""Addresses of Commons pages, built and never fetched here: the browser loads them."""

from __future__ import annotations

from urllib.parse import quote

from django.conf import settings

# The person's own Wikidata image (P18), beside a question and on the project pages.
PERSON_IMAGE_WIDTH = 330


def site_root() -> str:
    """``https://commons.wikimedia.org`` (or the stand-in's) from the configured api.php."""
    api = settings.COMMONS_API_URL
    return api[: -len("/w/api.php")] if api.endswith("/w/api.php") else api.rsplit("/", 1)[0]


def file_page_url(title: str) -> str:
    name = title if title.startswith("File:") else f"File:{title}"
    return f"{site_root()}/wiki/{quote(name.replace(' ', '_'))}"


def person_image_url(file_name: str, *, width: int = PERSON_IMAGE_WIDTH) -> str:
    """A thumbnail of a Wikidata P18 file through Special:FilePath (empty if no file)."""
    if not file_name:
        return ""
    return f"{site_root()}/wiki/Special:FilePath/{quote(file_name.replace(' ', '_'))}?width={width}"
