"""The part of CirrusSearch's query syntax the stand-in answers (Help:CirrusSearch).

A query is terms AND-ed together; a term is a plain word, a ``"quoted phrase"`` or a
keyword: ``haswbstatement:P180=Q42`` (``|`` for or), ``incategory:Name`` (pages directly in
the category; ``|`` for or, quotes or underscores for spaces; case does not matter),
``insource:word``, ``insource:"a phrase"`` (words of the page's wikitext, case does not
matter), ``insource:/regex/`` (a regular expression on the wikitext, ``/regex/i`` ignoring
case) and ``intitle:``. ``-`` or ``!`` before a term, or ``NOT`` before it, negates it;
``AND`` is the default and is skipped. Words match the title and the captions.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

StatementMatcher = Callable[[str, str], bool]

_TERM = re.compile(
    r"""(?P<neg>[-!])?
        (?:(?P<key>[a-z]+):)?
        (?P<value>"[^"]*"|/(?:\\.|[^/\\])+/i?|\S+)""",
    re.VERBOSE,
)
KEYWORDS = frozenset({"haswbstatement", "incategory", "insource", "intitle"})


@dataclass(frozen=True)
class Term:
    keyword: str | None  # None: a plain word or phrase
    value: str
    negated: bool = False


@dataclass(frozen=True)
class Candidate:
    """What a page offers the query: its statements, title, captions, categories, source."""

    title: str
    statements: StatementMatcher
    words: str = ""
    categories: frozenset[str] = frozenset()  # lower case, spaces
    source: str = ""


def parse(text: str) -> list[Term]:
    """The terms of a query, in order; an unknown ``key:value`` is a plain word."""
    terms: list[Term] = []
    negate_next = False
    for match in _TERM.finditer(text):
        key, value = match.group("key"), match.group("value")
        if key is None and value in ("AND", "OR"):
            continue  # OR is not modelled: the terms around it are AND-ed
        if key is None and value == "NOT":
            negate_next = True
            continue
        negated = bool(match.group("neg")) or negate_next
        negate_next = False
        if key is not None and key not in KEYWORDS:
            value, key = f"{key}:{value}", None
        terms.append(Term(key, value, negated))
    return terms


def matches(candidate: Candidate, terms: list[Term]) -> bool:
    return all(_term_matches(candidate, term) != term.negated for term in terms)


def _term_matches(candidate: Candidate, term: Term) -> bool:
    value = term.value
    if term.keyword == "haswbstatement":
        return any(_statement(candidate.statements, clause) for clause in value.split("|"))
    if term.keyword == "incategory":
        wanted = {_category_key(name) for name in _unquoted(value).split("|")}
        return bool(wanted & candidate.categories)
    if term.keyword == "insource":
        return _text_matches(candidate.source, value)
    if term.keyword == "intitle":
        return _text_matches(candidate.title, value)
    return _unquoted(value).lower() in f"{candidate.title} {candidate.words}".lower()


def _statement(matcher: StatementMatcher, clause: str) -> bool:
    prop, _, value = clause.partition("=")
    return matcher(prop, value)


def _text_matches(text: str, value: str) -> bool:
    """A word or phrase (whole words, any case), or a ``/regular expression/``."""
    if len(value) > 2 and value.startswith("/") and value.endswith(("/", "/i")):
        insensitive = value.endswith("/i")
        pattern = value[1 : -2 if insensitive else -1]
        return re.search(pattern, text, re.IGNORECASE if insensitive else 0) is not None
    words = _unquoted(value).lower().split()
    if not words:
        return False
    phrase = r"\W+".join(re.escape(word) for word in words)
    return re.search(rf"(?<!\w){phrase}(?!\w)", text.lower()) is not None


def _unquoted(value: str) -> str:
    return value[1:-1] if len(value) >= 2 and value[0] == value[-1] == '"' else value


def _category_key(name: str) -> str:
    return " ".join(name.replace("_", " ").split()).lower()


def category_keys(names: list[str]) -> frozenset[str]:
    return frozenset(_category_key(name) for name in names)
