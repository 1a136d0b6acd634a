"""The stored form of a moderator's list entry (a withholding or a sensitive item): one
spelling per thing, so that a lookup by the form the crawl and the writer meet finds it."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from commons.identifiers import category_reference, file_reference, normalise_qid

FILE_EXTENSION = re.compile(r"\.[A-Za-z0-9]+$")


def withheld_form(kind: str, value: str) -> str:
    """``value`` as a withholding of ``kind`` stores it: a category name without namespace,
    a file title with ``File:``, a Q-id in capitals. Addresses of Commons pages give their
    title; a page id is refused (only Commons knows its title, and no web request asks it)."""
    if kind == "category":
        return category_reference(value)
    if kind == "person":
        return normalise_qid(value)
    if not value.strip():
        raise ValidationError(_("Give the title of a Commons file."))
    reference = file_reference(value)
    if reference.pageid is not None:
        raise ValidationError(
            _("“%(value)s” is a page id: give the file's title (File:…) instead."),
            params={"value": value.strip()},
        )
    if not FILE_EXTENSION.search(reference.title):
        # Every upload's name ends in its extension: a title without one matches nothing.
        raise ValidationError(
            _("“%(value)s” has no file extension: give the title of a Commons file."),
            params={"value": value.strip()},
        )
    return reference.title
