"""Wikidata and Commons identifiers, validated before they reach any API.

A malformed id aborts a whole ``wbgetentities`` batch on the real API, so every id is
checked here first.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

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
    name = normalise_title_text(value)
    prefix, colon, rest = name.partition(":")
    if colon and prefix.strip().lower() == "category":
        name = normalise_title_text(rest)
    if not name:
        raise ValidationError(_("Give the name of a Commons category."))
    return name


FILE_PREFIX = "File:"
# Prefixes that name a file: ``Image:`` is the File namespace's old alias, ``Media:`` links
# straight to the upload.
_FILE_NAMESPACE_NAMES = ("file", "image", "media")
# Other namespaces a contributor may paste by mistake: a line in one of them is no file.
OTHER_NAMESPACES = frozenset(
    {
        "category",
        "commons",
        "creator",
        "help",
        "institution",
        "mediawiki",
        "module",
        "special",
        "talk",
        "template",
        "timedtext",
        "user",
        "user talk",
        "file talk",
        "category talk",
    }
)
# MediaWiki's Title::getTitleInvalidRegex, the characters a title can never hold.
# Lone surrogates too: no UTF-8 text, hence no title, can hold one.
_ILLEGAL_TITLE = re.compile(r"[#<>\[\]|{}\x00-\x1f\x7f\ud800-\udfff]")
MAX_TITLE_BYTES = 255  # page_title is varbinary(255), the namespace prefix aside
COMMONS_HOSTS = frozenset({"commons.wikimedia.org", "commons.m.wikimedia.org"})


# The direction marks MediaWiki strips from every title (MediaWikiTitleCodec): they slip in
# when a title is copied from a page, and left in, a withholding would match nothing.
_BIDI_MARKS = re.compile("[\u200e\u200f\u202a-\u202e]")
# Blanks MediaWiki turns into spaces that Python's str.split() does not split on.
_OTHER_BLANKS = re.compile("[\u180e]")


def normalise_title_text(value: str) -> str:
    """A title as MediaWiki stores it: in NFC, without direction marks, spaces for
    underscores, runs of blanks collapsed, trimmed, first letter in capitals
    (``$wgCapitalLinks`` is on at Commons)."""
    text = _BIDI_MARKS.sub("", unicodedata.normalize("NFC", value))
    text = " ".join(_OTHER_BLANKS.sub(" ", text).replace("_", " ").split())
    if not text:
        return ""
    first = text[0].upper()
    # A letter whose capital is two letters (ß → SS) stays as it is, as MediaWiki keeps it.
    return (first if len(first) == 1 else text[0]) + text[1:]


def normalise_file_title(value: str) -> str:
    """``"file:obama_1.jpg"`` → ``"File:Obama 1.jpg"``; the prefix is optional.

    Raises ValidationError for an empty name, a character no title may hold, or a title in
    another namespace (``Category:…``).
    """
    text = normalise_title_text(value)
    prefix, colon, rest = text.partition(":")
    namespace = prefix.strip().lower()
    if colon and namespace in _FILE_NAMESPACE_NAMES:
        text = normalise_title_text(rest)
    elif colon and namespace in OTHER_NAMESPACES:
        raise ValidationError(
            _("“%(value)s” is not a file (it is in the %(namespace)s namespace)."),
            params={"value": value.strip(), "namespace": prefix.strip()},
            code="not_file",
        )
    if not text or _ILLEGAL_TITLE.search(text) or len(text.encode()) > MAX_TITLE_BYTES:
        raise ValidationError(
            _("“%(value)s” is not a valid Commons file title."),
            params={"value": value.strip()},
            code="invalid",
        )
    return FILE_PREFIX + text


@dataclass(frozen=True)
class FileRef:
    """One line of a list of files: a title (``File:…``, normalised) or a page id."""

    title: str = ""
    pageid: int | None = None

    @property
    def key(self) -> str:
        return self.title or f"#{self.pageid}"


def file_reference(line: str) -> FileRef:
    """A line of a list of files: a title with or without ``File:``, a page id, or the
    address of a Commons file page (``…/wiki/File:X.jpg``, ``…/w/index.php?title=…`` or
    ``?curid=N``). Raises ValidationError for anything else."""
    text = line.strip().strip("\ufeff")
    if text.isdigit():
        return _pageid_reference(text)
    if is_address(text):
        return _address_reference(text)
    return FileRef(title=normalise_file_title(text))


MAX_PAGEID = 2**31 - 1  # page_id is an unsigned int; Commons is far below this
_PAGEID_RE = re.compile(r"0*[0-9]{1,12}")


def _pageid_reference(text: str) -> FileRef:
    # ASCII digits only: "²" or "①" are digits to str.isdigit() yet no number to int().
    pageid = int(text) if _PAGEID_RE.fullmatch(text) else 0
    if pageid <= 0 or pageid > MAX_PAGEID:
        raise ValidationError(
            _("“%(value)s” is not a Commons page id."), params={"value": text}, code="invalid"
        )
    return FileRef(pageid=pageid)


def _address_reference(address: str) -> FileRef:
    title, curid = _address_page(address)
    if curid.isdigit():
        return _pageid_reference(curid)
    namespace = title.partition(":")[0].strip().lower() if ":" in title else ""
    if namespace in _FILE_NAMESPACE_NAMES or namespace in OTHER_NAMESPACES:
        return FileRef(title=normalise_file_title(title))
    raise ValidationError(
        _("“%(value)s” is not the address of a file page on Commons."),
        params={"value": address},
        code="invalid",
    )


def is_address(text: str) -> bool:
    return bool(re.match(r"^[a-z][a-z0-9+.-]*://", text.strip(), re.IGNORECASE))


def _address_page(address: str) -> tuple[str, str]:
    """(title, curid) of the address of a Commons page (``/wiki/T``, ``?title=T``,
    ``?curid=N``), either may be empty; raises ValidationError for an address elsewhere."""
    try:
        parts = urlsplit(address)
    except ValueError:  # "https://[::1" and the like: no address at all
        parts = urlsplit("")
    if parts.scheme.lower() not in ("http", "https") or parts.netloc.lower() not in COMMONS_HOSTS:
        raise ValidationError(
            _("“%(value)s” is not an address on Commons."),
            params={"value": address},
            code="not_commons",
        )
    query = parse_qs(parts.query)
    title = unquote(parts.path[len("/wiki/") :]) if parts.path.startswith("/wiki/") else ""
    return title or query.get("title", [""])[0], query.get("curid", [""])[0]


# UserNameUtils::isValid: $wgInvalidUsernameCharacters (@:>=), then what no title may hold.
_BAD_USER_NAME = re.compile(r"[@:>=#<\[\]|{}\x00-\x1f\x7f\ud800-\udfff]")
_USER_PREFIXES = ("user:", "user talk:", "special:contributions/", "special:listfiles/")


def normalise_user(value: str) -> str:
    """A Wikimedia user name as MediaWiki stores it: ``"User:ada_lovelace"`` →
    ``"Ada lovelace"`` (the ``User:`` prefix or a user page's address taken off, underscores
    for spaces, the first letter a capital). Raises ValidationError for an empty name or
    one no account can have."""
    text = value.strip()
    if is_address(text):
        text = _address_page(text)[0]
    text = normalise_title_text(text)
    for prefix in _USER_PREFIXES:
        if text.lower().startswith(prefix):
            text = normalise_title_text(text[len(prefix) :])
            break
    if not text:
        raise ValidationError(_("Give the name of a Wikimedia user."), code="empty")
    if _BAD_USER_NAME.search(text) or len(text.encode()) > MAX_TITLE_BYTES:
        raise ValidationError(
            _("“%(value)s” is not a valid Wikimedia user name."),
            params={"value": value.strip()},
            code="invalid",
        )
    return text


def category_reference(value: str) -> str:
    """A category name (:func:`normalise_category`) given as a name or as the address of its
    page on Commons. A page id (``?curid=``) is refused: only Commons knows its title."""
    if not is_address(value):
        name = normalise_category(value)
        namespace = name.partition(":")[0].strip().lower() if ":" in name else ""
        if namespace in _FILE_NAMESPACE_NAMES or namespace in OTHER_NAMESPACES:
            raise ValidationError(
                _("“%(value)s” is not a category (it is in the %(namespace)s namespace)."),
                params={"value": value.strip(), "namespace": name.partition(":")[0]},
                code="not_category",
            )
        return name
    title, curid = _address_page(value.strip())
    if not title and curid:
        raise ValidationError(
            _("“%(value)s” names a page by its id: give the category's name instead."),
            params={"value": value.strip()},
            code="pageid",
        )
    if title.partition(":")[0].strip().lower() != "category":
        raise ValidationError(
            _("“%(value)s” is not the address of a category on Commons."),
            params={"value": value.strip()},
            code="invalid",
        )
    return normalise_category(title)
