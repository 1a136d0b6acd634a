"""Wikidata and Commons identifiers, validated before they reach any API.

A malformed id aborts a whole ``wbgetentities`` batch on the real API, so every id is
checked here first.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

QID_RE = re.compile(r"^Q[1-9][0-9]{0,11}$")


def normalise_qid(value: str) -> str:
    """``"q42 "`` → ``"Q42"``; raises ValidationError for anything that is not an item id."""
    qid = value.strip().upper()
    if not QID_RE.match(qid):
        raise ValidationError(
            _("“%(value)s” is not a Wikidata item id (like Q42)."), params={"value": value}
        )
    return qid


def validate_qid(value: str) -> None:
    normalise_qid(value)


def mediainfo_id(pageid: int) -> str:
    """The MediaInfo entity id of a Commons file page: ``M`` + its page id."""
    return f"M{int(pageid)}"


def normalise_category(value: str) -> str:
    """A category name without its namespace, with spaces rather than underscores."""
    name = value.strip().replace("_", " ")
    for prefix in ("Category:", "category:"):
        if name.startswith(prefix):
            name = name[len(prefix) :]
    name = " ".join(name.split())
    if not name:
        raise ValidationError(_("Give the name of a Commons category."))
    return name[0].upper() + name[1:]
