"""``meta=siteinfo`` (ApiQuerySiteinfo): ``siprop=general``, ``namespaces`` and
``namespacealiases`` of Commons and Wikidata, on the stand-in's own addresses.

A general-purpose client starts with this (mwclient's ``Site.site_init`` asks
``siprop=general|namespaces`` and parses ``generator`` for the MediaWiki version). The values
are Commons' and Wikidata's configuration (wmf-config), except the addresses: ``server``,
``articlepath`` and ``scriptpath`` point at the stand-in (``/commons/wiki/$1``, ``/commons/w``).
formatversion 1 drops false booleans and prints true ones as ``""`` (ApiResult's BC
transformation; ``variantarticlepath`` stays ``false``), names a namespace under ``"*"``
(``"name"`` in 2) and keys ``thumblimits``/``imagelimits`` by position ("BCassoc").
Other ``siprop`` values draw a warning, as the stand-in does for any module it does not serve.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from fakecommons.context import ApiContext

# A recent deployment train's version: mwclient reads it (it needs MediaWiki >= 1.16).
GENERATOR = "MediaWiki 1.46.0-wmf.4"
SIPROPS = ("general", "namespaces", "namespacealiases")
BC_BOOLS = frozenset({"variantarticlepath"})


@dataclass(frozen=True)
class Namespace:
    id: int
    name: str  # the local name (Commons calls Project "Commons")
    canonical: str | None = None  # None: the same as ``name``; main has none
    subpages: bool = False
    content: bool = False
    model: str | None = None  # defaultcontentmodel, when the namespace fixes one
    protection: str | None = None


@dataclass(frozen=True)
class Site:
    """What differs between the two wikis the stand-in serves."""

    sitename: str
    wikiid: str
    mainpage: str
    prefix: str  # the stand-in's path prefix: /commons, /wikidata
    logo: str
    namespaces: tuple[Namespace, ...]
    aliases: tuple[tuple[str, int], ...]
    extra: dict[str, Any] = field(default_factory=dict)


def _core(project: str, *, content: set[int], main_model: str | None = None) -> list[Namespace]:
    """MediaWiki's own namespaces, -2 to 15; subpages as in DefaultSettings."""
    names = [
        "Talk", "User", "User talk", "Project", "Project talk", "File", "File talk",
        "MediaWiki", "MediaWiki talk", "Template", "Template talk", "Help", "Help talk",
        "Category", "Category talk",
    ]  # fmt: skip
    with_subpages = {1, 2, 3, 4, 5, 7, 8, 9, 10, 11, 12, 13, 15}
    spaces = [
        Namespace(-2, "Media", "Media"),
        Namespace(-1, "Special", "Special"),
        Namespace(0, "", None, content=0 in content, model=main_model),
    ]
    for number, canonical in enumerate(names, start=1):
        local = canonical.replace("Project", project)
        spaces.append(
            Namespace(
                number,
                local,
                canonical,
                subpages=number in with_subpages,
                content=number in content,
                protection="editinterface" if number == 8 else None,
            )
        )
    return spaces


def _pairs(*spaces: tuple[int, str, dict[str, Any]]) -> list[Namespace]:
    """A subject namespace and its talk namespace (id + 1), from (id, name, subject's flags)."""
    out = []
    for number, name, flags in spaces:
        out.append(Namespace(number, name, name, **flags))
        out.append(Namespace(number + 1, f"{name} talk", f"{name} talk", subpages=True))
    return out


COMMONS = Site(
    sitename="Wikimedia Commons",
    wikiid="commonswiki",
    mainpage="Main Page",
    prefix="/commons",
    logo="//commons.wikimedia.org/static/images/project-logos/commonswiki.png",
    namespaces=(
        *_core("Commons", content={0, 6, 14}),
        *_pairs(
            (100, "Creator", {}),
            (102, "TimedText", {}),
            (104, "Sequence", {}),
            (106, "Institution", {}),
            (460, "Campaign", {"model": "Campaign"}),
            (486, "Data", {}),
            (828, "Module", {"subpages": True, "model": "Scribunto"}),
            (1198, "Translations", {"subpages": True}),
        ),
    ),
    aliases=(("COM", 4), ("Image", 6), ("Image talk", 7)),
    extra={"wikibase-conceptbaseuri": "https://commons.wikimedia.org/entity/"},
)
WIKIDATA = Site(
    sitename="Wikidata",
    wikiid="wikidatawiki",
    mainpage="Wikidata:Main Page",
    prefix="/wikidata",
    logo="//www.wikidata.org/static/images/project-logos/wikidatawiki.png",
    namespaces=(
        *_core("Wikidata", content={0}, main_model="wikibase-item"),
        *_pairs(
            (120, "Property", {"content": True, "model": "wikibase-property"}),
            (122, "Query", {}),
            (146, "Lexeme", {"content": True, "model": "wikibase-lexeme"}),
            (640, "EntitySchema", {"content": True, "model": "EntitySchema"}),
            (828, "Module", {"subpages": True, "model": "Scribunto"}),
            (1198, "Translations", {"subpages": True}),
        ),
    ),
    aliases=(("Image", 6), ("Image talk", 7), ("WD", 4), ("WT", 5), ("P", 120), ("L", 146)),
    extra={"wikibase-conceptbaseuri": "http://www.wikidata.org/entity/"},
)
SITES = {"commons": COMMONS, "wikidata": WIKIDATA}


def siteinfo(ctx: ApiContext, query: dict[str, Any]) -> None:
    """Add each asked ``siprop`` (``general`` when none is) to ``query``."""
    site = SITES[ctx.site]
    for prop in dict.fromkeys(ctx.params.multi("siprop") or ["general"]):
        if prop == "general":
            query["general"] = ctx.fmt.bools(_general(ctx, site), keep=BC_BOOLS)
        elif prop == "namespaces":
            query["namespaces"] = {str(ns.id): _namespace(ctx, ns) for ns in site.namespaces}
        elif prop == "namespacealiases":
            key = "alias" if ctx.fmt.v2 else "*"
            query["namespacealiases"] = [
                {"id": ns, key: alias} for alias, ns in sorted(site.aliases, key=lambda a: a[1])
            ]
        else:
            ctx.warn("siteinfo", f'Unrecognized value for parameter "siprop": {prop}')
    ctx.params.accept("sifilteriw", "sishowalldb", "sinumberingroup", "siinlanguagecode")


def _general(ctx: ApiContext, site: Site) -> dict[str, Any]:
    server = ctx.urls.base.partition(":")[2]  # protocol-relative, as Wikimedia's $wgServer
    host = server[2:].partition(":")[0]
    return {
        "mainpage": site.mainpage,
        "base": f"{ctx.urls.base}{site.prefix}/wiki/{site.mainpage.replace(' ', '_')}",
        "sitename": site.sitename,
        "mainpageisdomainroot": False,
        "logo": site.logo,
        "generator": GENERATOR,
        "phpversion": "8.1.33",
        "phpsapi": "fpm-fcgi",
        "dbtype": "mysql",
        "dbversion": "10.6.22-MariaDB-log",
        "imagewhitelistenabled": True,
        "langconversion": True,
        "linkconversion": True,
        "titleconversion": True,
        "linkprefixcharset": "",
        "linkprefix": "",
        "linktrail": "/^([a-z]+)(.*)$/sD",
        "legaltitlechars": " %!\"$&'()*,\\-.\\/0-9:;=?@A-Z\\\\^_`a-z~\\x80-\\xFF+",
        "invalidusernamechars": "@:>=",
        "allunicodefixes": False,
        "fixarabicunicode": True,
        "fixmalayalamunicode": True,
        "case": "first-letter",
        "lang": "en",
        "fallback": [],
        "rtl": False,
        "fallback8bitEncoding": "windows-1252",
        "readonly": False,
        "writeapi": True,
        "maxarticlesize": 2097152,
        "timezone": "UTC",
        "timeoffset": 0,
        "articlepath": f"{site.prefix}/wiki/$1",
        "scriptpath": f"{site.prefix}/w",
        "script": f"{site.prefix}/w/index.php",
        "variantarticlepath": False,
        "server": server,
        "servername": host,
        "wikiid": site.wikiid,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "misermode": True,
        "uploadsenabled": True,
        "maxuploadsize": 5368709120,
        "minuploadchunksize": 1024,
        "thumblimits": _bc_assoc(ctx, [120, 150, 180, 200, 220, 250, 300, 400]),
        "imagelimits": _bc_assoc(ctx, [_size(w, h) for w, h in IMAGE_LIMITS]),
        "favicon": f"{server}/static/favicon/{site.wikiid.removesuffix('wiki')}.ico",
        "centralidlookupprovider": "CentralAuth",
        "allcentralidlookupproviders": ["local", "CentralAuth"],
        "interwikimagic": True,
        "magiclinks": {"ISBN": True, "PMID": True, "RFC": True},
        "categorycollation": "uca-default-u-kn",
        "nofollowlinks": True,
        "nofollownsexceptions": [],
        "nofollowdomainexceptions": ["mediawiki.org"],
        "externallinktarget": False,
        **site.extra,
    }


IMAGE_LIMITS = ((320, 240), (640, 480), (800, 600), (1024, 768), (1280, 1024), (2560, 2048))


def _size(width: int, height: int) -> dict[str, int]:
    return {"width": width, "height": height}


def _bc_assoc(ctx: ApiContext, values: list[Any]) -> list[Any] | dict[str, Any]:
    """A list formatversion 1 keys by position ("BCassoc"); 2 prints as an array."""
    return values if ctx.fmt.v2 else {str(i): value for i, value in enumerate(values)}


def _namespace(ctx: ApiContext, ns: Namespace) -> dict[str, Any]:
    row: dict[str, Any] = {"id": ns.id, "case": "first-letter"}
    row["name" if ctx.fmt.v2 else "*"] = ns.name
    row["subpages"] = ns.subpages
    canonical = ns.canonical if ns.id != 0 else None
    if canonical:
        row["canonical"] = canonical
    row["content"] = ns.content
    row["nonincludable"] = False
    if ns.protection:
        row["namespaceprotection"] = ns.protection
    if ns.model:
        row["defaultcontentmodel"] = ns.model
    return ctx.fmt.bools(row)
