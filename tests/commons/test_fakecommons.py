"""The offline Commons stand-in, driven with plain ``requests`` over loopback.

Its answers are held against real Commons/Wikidata answers (../shared/data/real-api): same
keys, same JSON types, for the same kind of request.
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import re
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jwt
import pytest
import requests
from django.conf import settings
from PIL import Image
from requests_oauthlib import OAuth1

from fakecommons import FakeCommons, World, build_world_from_manifest
from fakecommons.__main__ import default_manifest
from fakecommons.__main__ import main as fakecommons_main
from fakecommons.faults import parse_spec
from fakecommons.media import STANDARD_WIDTHS
from fakecommons.pytest_plugin import LARGE_CATEGORY_MEMBERS, NO_ETIQUETTE_MARK
from fakecommons.world import WorldError

REAL_API = Path(settings.FACES_DATA_DIR).parent / "real-api"
UA = "WikiVisageTests/0.1 (https://wikivisage.toolforge.org; team@example.org) python-requests/2"
GUID_RE = re.compile(r"^M\d+\$[0-9a-f-]{36}$")


def real(name: str) -> Any:
    return json.loads((REAL_API / name).read_text(encoding="utf-8"))["response"]


def session() -> requests.Session:
    s = requests.Session()
    s.headers["User-Agent"] = UA
    return s


def api(
    server: FakeCommons, site: str = "commons", *, method: str = "GET", s=None, **params
) -> dict:
    """One polite API call: format=json, maxlag=5, a policy User-Agent."""
    return api_response(server, site, method=method, s=s, **params).json()


def api_response(server, site="commons", *, method="GET", s=None, **params) -> requests.Response:
    # "assert" is a Python keyword: callers write assert_.
    full = {"format": "json", "maxlag": "5", **{k.rstrip("_"): str(v) for k, v in params.items()}}
    url = server.commons_api_url if site == "commons" else server.wikidata_api_url
    s = s or session()
    if method == "POST":
        return s.post(url, data=full, timeout=10)
    return s.get(url, params=full, timeout=10)


DYNAMIC = {
    "pages",
    "entities",
    "labels",
    "descriptions",
    "aliases",
    "statements",
    "claims",
    "qualifiers",
    "tokens",
    "sitelinks",
}
# Properties differ in value type: only the same property is compared.
SAME_KEY_ONLY = {"claims", "statements", "qualifiers"}


def assert_conforms(
    sample: Any, ours: Any, path: str = "$", *, ignore: frozenset = frozenset()
) -> None:
    """Every key of the real ``sample`` is in ``ours``, with the same JSON type, recursively.

    Under keys whose children are ids (pages, entities, labels, statements…), each of our
    children is held against the sample's child of the same key, or its first one.
    """
    assert _json_type(ours) == _json_type(sample), (
        f"{path}: {_json_type(ours)} != {_json_type(sample)}"
    )
    if isinstance(sample, list):
        for item in ours if sample else []:
            assert_conforms(sample[0], item, f"{path}[]", ignore=ignore)
    elif isinstance(sample, dict) and path.rsplit(".", 1)[-1] in DYNAMIC:
        parent = path.rsplit(".", 1)[-1]
        for key, value in ours.items() if sample else []:
            counterpart = sample.get(key)
            if counterpart is None and parent not in SAME_KEY_ONLY:
                counterpart = next(iter(sample.values()))
            if counterpart is not None:
                assert_conforms(counterpart, value, f"{path}.{key}", ignore=ignore)
    elif isinstance(sample, dict):
        for key, value in sample.items():
            if key in ignore:
                continue
            assert key in ours, f"{path}: no key {key!r} (ours: {sorted(ours)})"
            assert_conforms(value, ours[key], f"{path}.{key}", ignore=ignore)


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    return {dict: "object", list: "array", str: "string", int: "int", float: "float"}.get(
        type(value), "null"
    )


@pytest.fixture
def big(make_fake_commons, large_category_world) -> FakeCommons:
    return make_fake_commons(large_category_world)


def fx(server: FakeCommons) -> dict:
    return server.world.fixtures


def obama_file(server: FakeCommons) -> str:
    return next(name for name, qid in fx(server)["depicted"].items() if qid == "Q76")


# --- categories ----------------------------------------------------------------------------------


def test_categorymembers_has_the_shape_of_real_commons_in_both_formatversions(big):
    name = fx(big)["synthetic_category"]
    fv1 = api(
        big,
        action="query",
        list="categorymembers",
        cmtitle=f"Category:{name}",
        cmtype="file",
        cmlimit=10,
    )
    assert_conforms(real("01-categorymembers-continue.json"), fv1)
    fv2 = api(
        big,
        action="query",
        list="categorymembers",
        cmtitle=f"Category:{name}",
        cmlimit=500,
        formatversion=2,
    )
    assert_conforms(real("01-categorymembers-continue-fv2.json"), fv2)
    assert fv1["batchcomplete"] == "" and fv2["batchcomplete"] is True
    assert fv1["continue"]["continue"] == "-||"
    assert re.match(r"^file\|[0-9a-f]+\|\d+$", fv1["continue"]["cmcontinue"])


@pytest.mark.parametrize("limit", [500, 97])
def test_continuation_lists_every_member_of_a_large_category_once(big, limit):
    name = fx(big)["synthetic_category"]
    params = {
        "action": "query",
        "list": "categorymembers",
        "cmtitle": f"Category:{name}",
        "cmtype": "file|subcat",
        "cmlimit": limit,
        "formatversion": 2,
    }
    seen, calls, cont = [], 0, {}
    while True:
        answer = api(big, **params, **cont)
        calls += 1
        seen += [m["pageid"] for m in answer["query"]["categorymembers"]]
        if "continue" not in answer:
            break
        cont = answer["continue"]
    assert len(seen) == len(set(seen)) == LARGE_CATEGORY_MEMBERS
    assert calls == -(-LARGE_CATEGORY_MEMBERS // limit)
    expected = {big.world.file(n).pageid for n in big.world.category(name).files}
    assert set(seen) == expected


def test_cmlimit_above_500_is_clamped_with_mediawikis_warning(big):
    answer = api(
        big,
        action="query",
        list="categorymembers",
        formatversion=2,
        cmtitle=f"Category:{fx(big)['synthetic_category']}",
        cmlimit=600,
    )
    assert len(answer["query"]["categorymembers"]) == 500
    assert "may not be over 500" in answer["warnings"]["categorymembers"]["warnings"]


def test_files_and_subcategories_are_listed_by_type(fake_commons):
    person = fx(fake_commons)["person_categories"]["barack_obama"]
    title = f"Category:{person}"
    files = api(
        fake_commons,
        action="query",
        list="categorymembers",
        cmtitle=title,
        cmtype="file",
        formatversion=2,
    )
    subcats = api(
        fake_commons,
        action="query",
        list="categorymembers",
        cmtitle=title,
        cmtype="subcat",
        formatversion=2,
    )
    both = api(
        fake_commons,
        action="query",
        list="categorymembers",
        cmtitle=title,
        cmtype="file|subcat",
        formatversion=2,
    )
    assert {m["ns"] for m in files["query"]["categorymembers"]} == {6}
    assert {m["ns"] for m in subcats["query"]["categorymembers"]} == {14}
    assert (
        both["query"]["categorymembers"]
        == subcats["query"]["categorymembers"] + files["query"]["categorymembers"]
    )


def crawl(server: FakeCommons, root: str, max_depth: int) -> tuple[set[str], set[str]]:
    """A breadth-first crawl with a visited set: (files, categories)."""
    queue, visited, files = [(root, 0)], {root}, set()
    while queue:
        category, depth = queue.pop(0)
        cont: dict = {}
        while True:
            answer = api(
                server,
                action="query",
                list="categorymembers",
                cmtitle=f"Category:{category}",
                cmtype="file|subcat",
                cmlimit=500,
                formatversion=2,
                **cont,
            )
            for member in answer["query"]["categorymembers"]:
                name = member["title"].split(":", 1)[1]
                if member["ns"] == 6:
                    files.add(name)
                elif depth < max_depth and name not in visited:
                    visited.add(name)
                    queue.append((name, depth + 1))
            if "continue" not in answer:
                break
            cont = answer["continue"]
    return files, visited


def test_the_category_tree_has_loops_that_a_visited_set_survives(fake_commons):
    person, sub, deeper = fx(fake_commons)["loop"]
    files, visited = crawl(fake_commons, person, max_depth=10)
    assert visited == {person, sub, deeper}
    world = fake_commons.world
    assert files == {f for c in (person, sub, deeper) for f in world.category(c).files}
    assert person in world.category(deeper).subcats
    root, group = fx(fake_commons)["root_loop"]
    assert root in world.category(group).subcats


def test_depth_limits_what_a_crawl_reaches(fake_commons):
    person, sub, _deeper = fx(fake_commons)["loop"]
    shallow, visited = crawl(fake_commons, person, max_depth=0)
    assert visited == {person}
    assert shallow == set(fake_commons.world.category(person).files)
    _, visited = crawl(fake_commons, person, max_depth=1)
    assert visited == {person, sub}


def test_a_crawl_from_the_root_reaches_every_file_of_the_world_but_the_synthetic_ones(big):
    files, _ = crawl(big, fx(big)["root_category"], max_depth=5)
    synthetic = set(big.world.category(fx(big)["synthetic_category"]).files)
    assert files == set(big.world.files) - synthetic


def test_a_bad_cmcontinue_is_refused(fake_commons):
    answer = api(
        fake_commons,
        action="query",
        list="categorymembers",
        cmtitle="Category:" + fx(fake_commons)["root_category"],
        cmcontinue="nonsense",
    )
    assert answer["error"]["code"] == "badcontinue"


# --- prop=categoryinfo ---------------------------------------------------------------------------


def category_counts(server: FakeCommons, name: str) -> dict:
    """What categorymembers lists directly under ``name``, counted by type."""
    answer = api(
        server,
        action="query",
        list="categorymembers",
        cmtitle=f"Category:{name}",
        cmprop="type",
        cmlimit="max",
        formatversion=2,
    )
    types = [m["type"] for m in answer["query"]["categorymembers"]]
    return {"size": len(types), "files": types.count("file"), "subcats": types.count("subcat")}


def test_categoryinfo_counts_direct_members_in_both_formatversions(fake_commons):
    name = fx(fake_commons)["person_categories"]["barack_obama"]
    category = fake_commons.world.category(name)
    fv2 = api(
        fake_commons,
        action="query",
        prop="categoryinfo",
        titles=f"Category:{name}",
        formatversion=2,
    )
    (page,) = fv2["query"]["pages"]
    expected = category_counts(fake_commons, name)
    assert expected["subcats"] >= 1 and expected["files"] >= 1  # members of both kinds
    assert (page["pageid"], page["ns"], page["title"]) == (category.pageid, 14, f"Category:{name}")
    assert page["categoryinfo"] == {**expected, "pages": 0, "hidden": False}
    assert "warnings" not in fv2 and fv2["batchcomplete"] is True
    fv1 = api(fake_commons, action="query", prop="categoryinfo", titles=f"Category:{name}")
    info = fv1["query"]["pages"][str(category.pageid)]["categoryinfo"]
    # formatversion 1 prints the counts as numbers too, and leaves out a false "hidden".
    assert info == {**expected, "pages": 0}
    assert all(type(value) is int for value in info.values())


@pytest.fixture
def categories_commons(make_fake_commons, faces_world) -> FakeCommons:
    world = copy.deepcopy(faces_world)
    some = sorted(world["files"])[:3]
    world["categories"].update(
        {
            "Portraits without a page": {"files": some[:2], "page": False},
            "Described but empty": {},
            "Emptied and deleted": {"page": False},
            "Hidden tracking category": {"files": some[2:], "hidden": True},
        }
    )
    return make_fake_commons(world)


def test_a_category_with_members_but_no_page_is_missing_yet_counted(categories_commons):
    titles = "|".join(
        [
            "Category:Portraits without a page",
            "Category:Described but empty",
            "Category:Never heard of it",
            "Category:Emptied and deleted",
            "Category:Hidden tracking category",
        ]
    )
    fv2 = api(
        categories_commons, action="query", prop="categoryinfo", titles=titles, formatversion=2
    )
    pages = {page["title"][len("Category:") :]: page for page in fv2["query"]["pages"]}
    pageless = pages["Portraits without a page"]
    assert pageless["missing"] is True and "pageid" not in pageless
    assert pageless["categoryinfo"] == {
        "size": 2,
        "pages": 0,
        "files": 2,
        "subcats": 0,
        "hidden": False,
    }
    empty = pages["Described but empty"]
    assert "missing" not in empty and empty["categoryinfo"]["size"] == 0
    for neither in ("Never heard of it", "Emptied and deleted"):
        assert pages[neither]["missing"] is True and "categoryinfo" not in pages[neither]
    assert pages["Hidden tracking category"]["categoryinfo"]["hidden"] is True
    fv1 = api(categories_commons, action="query", prop="categoryinfo", titles=titles)
    by_title = {page["title"]: page for page in fv1["query"]["pages"].values()}
    assert by_title["Category:Portraits without a page"]["missing"] == ""
    assert by_title["Category:Hidden tracking category"]["categoryinfo"]["hidden"] == ""
    # Its members are listed all the same: only the description page is missing.
    assert category_counts(categories_commons, "Portraits without a page")["files"] == 2


def test_a_category_without_a_page_is_found_by_neither_page_id_nor_search(categories_commons):
    world = categories_commons.world
    assert world.category("Portraits without a page").pageid is None
    found = api(
        categories_commons,
        action="query",
        list="search",
        srsearch="Portraits without",
        srnamespace=14,
        formatversion=2,
    )
    assert found["query"]["search"] == []
    assert all(c.name != "Portraits without a page" for c in world.categories_by_pageid.values())


def test_categoryinfo_follows_a_categorymembers_generator(fake_commons):
    root = fx(fake_commons)["root_category"]
    answer = api(
        fake_commons,
        action="query",
        generator="categorymembers",
        gcmtitle=f"Category:{root}",
        gcmtype="subcat",
        gcmlimit="max",
        prop="categoryinfo",
        formatversion=2,
    )
    pages = answer["query"]["pages"]
    assert len(pages) == len(fake_commons.world.category(root).subcats)
    for page in pages:
        name = page["title"][len("Category:") :]
        assert page["categoryinfo"] == {
            **category_counts(fake_commons, name),
            "pages": 0,
            "hidden": False,
        }


def test_a_category_without_a_page_cannot_be_a_subcategory(faces_world):
    world = copy.deepcopy(faces_world)
    root = world["fixtures"]["root_category"]
    world["categories"][root]["subcats"].append("Pageless")
    world["categories"]["Pageless"] = {"files": [], "page": False}
    with pytest.raises(WorldError, match="no page"):
        World.from_dict(world, Path(settings.FACES_DATA_DIR))


# --- image metadata and thumbnails ---------------------------------------------------------------


def test_imageinfo_has_the_shape_of_real_commons(fake_commons):
    title = "File:" + obama_file(fake_commons)
    answer = api(
        fake_commons,
        action="query",
        prop="imageinfo",
        titles=title,
        iiprop="url|size|mime|sha1|timestamp|user",
        iiurlwidth=250,
    )
    assert_conforms(real("02-imageinfo-thumb-commons.json"), answer)
    (page,) = answer["query"]["pages"].values()
    assert_conforms(
        real("02-generator-images-imageinfo-commons.json")["query"]["pages"]["59023601"], page
    )
    info = page["imageinfo"][0]
    assert list(info)[:3] == ["timestamp", "user", "size"]
    assert list(info).index("thumburl") < list(info).index("url")
    assert re.match(r"^[0-9a-f]{40}$", info["sha1"]) and info["mime"] == "image/jpeg"


def test_sizes_hashes_and_types_are_derived_from_the_bytes(fake_commons):
    names = [
        obama_file(fake_commons),
        *fx(fake_commons)["bitmap_variants"],
        *fx(fake_commons)["non_bitmap_files"],
    ]
    titles = "|".join(f"File:{n}" for n in names)
    answer = api(
        fake_commons,
        action="query",
        prop="imageinfo",
        titles=titles,
        formatversion=2,
        iiprop="size|mime|sha1|url",
    )
    infos = {p["title"][5:]: p["imageinfo"][0] for p in answer["query"]["pages"]}
    for name in names:
        data = requests.get(infos[name]["url"], headers={"User-Agent": UA}, timeout=10).content
        assert infos[name]["sha1"] == hashlib.sha1(data).hexdigest()
        assert infos[name]["size"] == len(data)
    with Image.open(
        io.BytesIO(
            requests.get(infos[names[0]]["url"], headers={"User-Agent": UA}, timeout=10).content
        )
    ) as image:
        assert (infos[names[0]]["width"], infos[names[0]]["height"]) == image.size
    mimes = {name: infos[name]["mime"] for name in names}
    assert [mimes[n] for n in fx(fake_commons)["bitmap_variants"]] == [
        "image/png",
        "image/webp",
        "image/gif",
        "image/tiff",
        "image/jpeg",
    ]
    assert [mimes[n] for n in fx(fake_commons)["non_bitmap_files"]] == [
        "image/svg+xml",
        "application/pdf",
        "application/ogg",
        "video/webm",
        "image/vnd.djvu",
    ]
    copy_name, original = next(iter(fx(fake_commons)["duplicate_of"].items()))
    assert infos[copy_name]["sha1"] == fake_commons.world.file(original).facts().sha1


def test_at_most_50_thumbnails_per_request_then_iicontinue(big):
    name = fx(big)["synthetic_category"]
    params = {
        "action": "query",
        "generator": "categorymembers",
        "gcmtitle": f"Category:{name}",
        "gcmtype": "file",
        "gcmlimit": 120,
        "prop": "imageinfo",
        "iiprop": "url|sha1",
        "iiurlwidth": 250,
        "formatversion": 2,
    }
    first = api(big, **params)
    assert len(first["query"]["pages"]) == 120
    assert sum("imageinfo" in p for p in first["query"]["pages"]) == 50
    assert "batchcomplete" not in first
    assert (
        set(first["continue"]) == {"iicontinue", "continue"}
        and first["continue"]["continue"] == "||"
    )
    infos, batches, cont = {}, [], {}
    while True:
        answer = api(big, **params, **cont)
        batches.append(answer)
        infos.update(
            {p["pageid"]: p["imageinfo"][0] for p in answer["query"]["pages"] if "imageinfo" in p}
        )
        if "continue" not in answer:
            break
        cont = answer["continue"]
    assert len(infos) == LARGE_CATEGORY_MEMBERS
    assert all(sum("imageinfo" in p for p in b["query"]["pages"]) <= 50 for b in batches)
    mid_batch = [b for b in batches if "iicontinue" in b.get("continue", {})]
    batch_ends = [b for b in batches if b not in mid_batch]
    assert all("batchcomplete" not in b for b in mid_batch)
    assert all(b["batchcomplete"] is True for b in batch_ends)
    assert [b["continue"]["continue"] for b in batch_ends[:-1]] == ["gcmcontinue||"] * 5
    assert "continue" not in batch_ends[-1]


def test_fifty_titles_get_fifty_thumbnails_and_fifty_one_are_too_many(big):
    names = big.world.category(fx(big)["synthetic_category"]).files
    ids = [str(big.world.file(n).pageid) for n in names[:51]]
    answer = api(
        big,
        action="query",
        prop="imageinfo",
        pageids="|".join(ids[:50]),
        iiprop="url",
        iiurlwidth=330,
    )
    assert "continue" not in answer and answer["batchcomplete"] == ""
    assert all("thumburl" in p["imageinfo"][0] for p in answer["query"]["pages"].values())
    too_many = api(big, action="query", prop="imageinfo", pageids="|".join(ids), iiprop="url")
    assert too_many["error"]["code"] == "toomanyvalues" and too_many["error"]["limit"] == 50


def test_missing_and_normalised_titles_look_like_commons(fake_commons):
    missing = api(fake_commons, action="query", titles="File:Not Found|File:Not Found Either")
    assert_conforms(real("02-query-titles-missing-pages-fv1.json"), missing)
    assert set(missing["query"]["pages"]) == {"-1", "-2"}
    dbkey = obama_file(fake_commons).replace(" ", "_")
    normalised = api(fake_commons, action="query", titles=f"File:{dbkey}")
    assert_conforms(real("02-query-titles-normalized-fv1.json"), normalised)
    fv2 = api(
        fake_commons,
        action="query",
        titles=f"File:{dbkey}|File:Nope.jpg",
        prop="imageinfo",
        formatversion=2,
    )
    assert_conforms(
        real("02-imageinfo-extmetadata-fv2-shared-file.json")["query"]["normalized"],
        fv2["query"]["normalized"],
    )
    nope = next(p for p in fv2["query"]["pages"] if p["title"] == "File:Nope.jpg")
    assert nope["missing"] is True and nope["imagerepository"] == ""
    gone = api(fake_commons, action="query", pageids="999", prop="imageinfo", formatversion=2)
    assert gone["query"]["pages"] == [{"pageid": 999, "missing": True}]


@pytest.mark.parametrize("width", STANDARD_WIDTHS[:3])
def test_thumbnails_render_at_standard_widths(fake_commons, width):
    answer = api(
        fake_commons,
        action="query",
        prop="imageinfo",
        titles="File:" + obama_file(fake_commons),
        iiprop="url|size",
        iiurlwidth=width,
        formatversion=2,
    )
    info = answer["query"]["pages"][0]["imageinfo"][0]
    assert f"/{width}px-" in info["thumburl"]
    response = requests.get(info["thumburl"], headers={"User-Agent": UA}, timeout=10)
    assert response.status_code == 200 and response.headers["Content-Type"] == "image/jpeg"
    with Image.open(io.BytesIO(response.content)) as image:
        assert image.size == (info["thumbwidth"], info["thumbheight"])
    assert info["thumbheight"] == round(info["height"] * width / info["width"])


def test_a_bitmap_is_never_scaled_up(fake_commons):
    small = fx(fake_commons)["bitmap_variants"][0]  # a 910px PNG
    answer = api(
        fake_commons,
        action="query",
        prop="imageinfo",
        titles=f"File:{small}",
        iiprop="url|size",
        iiurlwidth=1920,
        formatversion=2,
    )
    info = answer["query"]["pages"][0]["imageinfo"][0]
    assert info["thumburl"] == info["url"] and info["thumbwidth"] == info["width"]
    upscale = (
        info["url"].replace("/upload/", "/upload/thumb/")
        + "/1920px-"
        + info["url"].rsplit("/", 1)[1]
    )
    assert requests.get(upscale, headers={"User-Agent": UA}, timeout=10).status_code == 400


@pytest.mark.fakecommons_no_etiquette
def test_non_standard_widths_are_refused_and_recorded(fake_commons):
    answer = api(
        fake_commons,
        action="query",
        prop="imageinfo",
        titles="File:" + obama_file(fake_commons),
        iiprop="url",
        iiurlwidth=400,
        formatversion=2,
    )
    thumburl = answer["query"]["pages"][0]["imageinfo"][0]["thumburl"]
    response = requests.get(thumburl, headers={"User-Agent": UA}, timeout=10)
    assert response.status_code == 400
    problems = [problem for _, problem in fake_commons.etiquette_violations]
    assert problems == [
        "iiurlwidth=400 is not a standard thumbnail width",
        "non-standard thumbnail width 400",
    ]


def test_a_file_that_cannot_be_scaled_comes_back_raw_at_its_thumbnail_url(fake_commons):
    broken = fx(fake_commons)["broken_file"]
    answer = api(
        fake_commons,
        action="query",
        prop="imageinfo",
        titles=f"File:{broken}",
        iiprop="url|size|mime",
        iiurlwidth=500,
        formatversion=2,
    )
    info = answer["query"]["pages"][0]["imageinfo"][0]
    assert (info["mime"], info["width"], info["thumbwidth"]) == ("image/jpeg", 800, 500)
    thumb = requests.get(info["thumburl"], headers={"User-Agent": UA}, timeout=10)
    original = requests.get(info["url"], headers={"User-Agent": UA}, timeout=10)
    assert (
        thumb.status_code == 200
        and thumb.content == original.content == fake_commons.world.file(broken).data()
    )


def test_non_bitmaps_get_their_commons_thumbnail_names_and_audio_an_icon(fake_commons):
    svg, pdf, ogg, _webm, _djvu = fx(fake_commons)["non_bitmap_files"]
    answer = api(
        fake_commons,
        action="query",
        prop="imageinfo",
        titles=f"File:{svg}|File:{pdf}|File:{ogg}",
        iiprop="url|mediatype",
        iiurlwidth=500,
        formatversion=2,
    )
    infos = {p["title"][5:]: p["imageinfo"][0] for p in answer["query"]["pages"]}
    assert infos[svg]["thumburl"].endswith(".svg.png") and infos[svg]["mediatype"] == "DRAWING"
    assert "/page1-500px-" in infos[pdf]["thumburl"] and infos[pdf]["mediatype"] == "OFFICE"
    assert "fileicon-ogg.png" in infos[ogg]["thumburl"] and infos[ogg]["mediatype"] == "AUDIO"
    svg_thumb = requests.get(infos[svg]["thumburl"], headers={"User-Agent": UA}, timeout=10)
    assert svg_thumb.content.startswith(b"<?xml")
    icon = requests.get(infos[ogg]["thumburl"], headers={"User-Agent": UA}, timeout=10)
    assert icon.status_code == 200 and icon.content.startswith(b"\x89PNG")


# --- Special:FilePath ----------------------------------------------------------------------------

BROWSER_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 HeadlessChrome/131.0 Safari/537.36"


def file_path(server: FakeCommons, url: str, user_agent: str = UA, **params) -> requests.Response:
    return requests.get(
        url,
        params=params,
        headers={"User-Agent": user_agent},
        allow_redirects=False,
        timeout=10,
    )


@pytest.mark.parametrize(("asked", "standard"), [(1, 250), (300, 330), (330, 330), (331, 500)])
def test_filepath_redirects_to_the_thumbnail_at_the_next_standard_width(
    fake_commons, asked, standard
):
    page = fake_commons.world.file(obama_file(fake_commons))
    response = file_path(fake_commons, fake_commons.urls.file_path(page.name), width=asked)
    assert response.status_code == 302
    assert response.headers["Location"] == fake_commons.urls.thumbnail(page, standard)
    image = requests.get(response.headers["Location"], headers={"User-Agent": UA}, timeout=10)
    with Image.open(io.BytesIO(image.content)) as thumbnail:
        assert thumbnail.width == standard


def test_filepath_takes_the_name_with_spaces_underscores_or_a_prefix(fake_commons):
    name = obama_file(fake_commons)
    root = f"{fake_commons.urls.commons_wiki}/Special:FilePath"
    spellings = [
        f"{root}/{quote(name)}",
        f"{root}/{name.replace(' ', '_')}",
        f"{root}/File:{quote(name)}",
        f"{root}/{name[0].lower()}{quote(name[1:])}",
        f"{fake_commons.urls.commons_wiki}/Special:Filepath/{quote(name)}",
    ]
    targets = {file_path(fake_commons, url, width=500).headers["Location"] for url in spellings}
    assert targets == {fake_commons.urls.thumbnail(fake_commons.world.file(name), 500)}
    by_parameter = file_path(fake_commons, root, file=name, width=500)
    assert by_parameter.headers["Location"] in targets


def test_filepath_serves_the_original_when_no_thumbnail_would_be_smaller(fake_commons):
    page = fake_commons.world.file(obama_file(fake_commons))  # 910 px wide
    url, original = fake_commons.urls.file_path(page.name), fake_commons.urls.original(page)
    for params in ({}, {"width": 600}, {"width": 961}, {"width": 5000}, {"width": "wide"}):
        response = file_path(fake_commons, url, **params)
        assert (response.status_code, response.headers["Location"]) == (302, original), params


def test_filepath_of_non_bitmaps_and_of_unknown_files(fake_commons):
    svg, _pdf, ogg, _webm, _djvu = fx(fake_commons)["non_bitmap_files"]
    urls = fake_commons.urls
    drawing = file_path(fake_commons, urls.file_path(svg), width=200)
    assert drawing.headers["Location"].endswith(f"/250px-{quote(svg.replace(' ', '_'))}.png")
    sound = file_path(fake_commons, urls.file_path(ogg), width=200)
    assert "fileicon-ogg.png" in sound.headers["Location"]
    for url in (
        urls.file_path("No such file.jpg", 250),
        f"{urls.commons_wiki}/Special:FilePath/",
        f"{urls.commons_wiki}/Special:FilePath/Category:{fx(fake_commons)['root_category']}",
    ):
        assert file_path(fake_commons, url).status_code == 404, url


@pytest.mark.fakecommons_no_etiquette
def test_a_browser_may_fetch_page_images_but_not_call_the_api(fake_commons):
    page = fake_commons.world.file(obama_file(fake_commons))
    browser = requests.Session()
    browser.headers["User-Agent"] = BROWSER_UA
    shown = browser.get(fake_commons.urls.file_path(page.name, 330), timeout=10)
    assert shown.status_code == 200 and shown.headers["Content-Type"] == "image/jpeg"
    assert browser.get(fake_commons.urls.original(page), timeout=10).status_code == 200
    assert [r.site for r in fake_commons.requests] == ["commons-wiki", "upload", "upload"]
    assert fake_commons.etiquette_violations == []
    # A script is held to the policy on the same URLs, and a browser on api.php.
    file_path(fake_commons, fake_commons.urls.file_path(page.name), "python-requests/2.32.3")
    requests.get(
        fake_commons.urls.thumbnail(page, 330),
        headers={"User-Agent": "python-requests/2.32.3"},
        timeout=10,
    )
    browser.get(fake_commons.commons_api_url, params={"action": "query", "maxlag": "5"})
    problems = [(r.site, problem) for r, problem in fake_commons.etiquette_violations]
    assert problems == [
        ("commons-wiki", "generic library User-Agent 'python-requests/2.32.3'"),
        ("upload", "generic library User-Agent 'python-requests/2.32.3'"),
        ("commons", f"browser User-Agent {BROWSER_UA!r}"),
    ]


# --- structured data on Commons ------------------------------------------------------------------


def test_mediainfo_with_depicts_has_the_shape_of_real_commons(fake_commons):
    mid = fake_commons.mid(obama_file(fake_commons))
    answer = api(fake_commons, action="wbgetentities", ids=mid, languages="en")
    assert_conforms(real("04-wbgetentities-mediainfo-P180-commons.json"), answer)
    entity = answer["entities"][mid]
    assert entity["pageid"] == int(mid[1:]) and entity["type"] == "mediainfo"
    (statement,) = entity["statements"]["P180"]
    assert statement["mainsnak"]["datavalue"]["value"] == {
        "entity-type": "item",
        "numeric-id": 76,
        "id": "Q76",
    }
    assert "datatype" not in statement["mainsnak"]
    assert statement["qualifiers"]["P2677"][0]["datavalue"]["value"].startswith("pct:")
    assert statement["qualifiers-order"] == ["P2677"] and statement["rank"] == "preferred"


def test_empty_and_missing_mediainfo_look_like_commons(fake_commons):
    plain = next(
        n
        for n in fake_commons.world.category(
            fx(fake_commons)["person_categories"]["barack_obama"]
        ).files
        if n not in fx(fake_commons)["depicted"]
    )
    never = fx(fake_commons)["without_mediainfo"][0]
    ids = f"{fake_commons.mid(plain)}|{fake_commons.mid(never)}|M1"
    answer = api(fake_commons, action="wbgetentities", ids=ids)
    empty = {
        "entities": {fake_commons.mid(plain): answer["entities"][fake_commons.mid(plain)]},
        "success": 1,
    }
    assert_conforms(real("04-wbgetentities-mediainfo-empty-statements-array.json"), empty)
    assert answer["entities"][fake_commons.mid(plain)]["statements"] == []
    for missing in (fake_commons.mid(never), "M1"):
        assert answer["entities"][missing] == {"id": missing, "missing": ""}
    assert_conforms(
        real("04-wbgetentities-mediainfo-missing-by-title-commons.json"),
        {"entities": {"M1": answer["entities"]["M1"]}, "success": 1},
    )
    bad = api(fake_commons, action="wbgetentities", ids="Q42")
    assert bad["error"]["code"] == "no-such-entity"


def test_wbgetclaims_reads_one_property(fake_commons):
    mid = fake_commons.mid(obama_file(fake_commons))
    answer = api(fake_commons, action="wbgetclaims", entity=mid, property="P180", formatversion=2)
    assert [s["mainsnak"]["datavalue"]["value"]["id"] for s in answer["claims"]["P180"]] == ["Q76"]
    assert api(fake_commons, action="wbgetclaims", entity=mid, property="P571")["claims"] == {}


# --- writes --------------------------------------------------------------------------------------


def signed_session(server: FakeCommons, username: str | None = None) -> requests.Session:
    token = server.issue_access_token(username)
    s = session()
    s.auth = OAuth1(
        server.oauth.consumer_key, server.oauth.consumer_secret, token.key, token.secret
    )
    return s


def csrf(server: FakeCommons, s: requests.Session) -> str:
    return api(server, s=s, action="query", meta="tokens", type="csrf", assert_="user")["query"][
        "tokens"
    ]["csrftoken"]


def depicts_claim(mid: str, qid: str, *, guid: str | None = None, rank: str = "normal") -> str:
    return json.dumps(
        {
            "mainsnak": {
                "snaktype": "value",
                "property": "P180",
                "datavalue": {
                    "value": {"entity-type": "item", "id": qid},
                    "type": "wikibase-entityid",
                },
            },
            "type": "statement",
            "id": guid or f"{mid}${uuid.uuid4()}",
            "rank": rank,
            "qualifiers": {
                "P2677": [
                    {
                        "snaktype": "value",
                        "property": "P2677",
                        "datavalue": {"value": "pct:10,20,30,40", "type": "string"},
                    }
                ]
            },
        }
    )


def write(server, s, token, *, action="wbsetclaim", **params) -> dict:
    return api(server, s=s, method="POST", action=action, token=token, assert_="user", **params)


def a_plain_file(server: FakeCommons) -> str:
    person = fx(server)["person_categories"]["barack_obama"]
    return next(n for n in server.world.category(person).files if n not in fx(server)["depicted"])


def test_a_written_statement_is_kept_counted_and_answered_like_wikibase(fake_commons):
    s = signed_session(fake_commons)
    mid = fake_commons.mid(a_plain_file(fake_commons))
    answer = write(
        fake_commons,
        s,
        csrf(fake_commons, s),
        claim=depicts_claim(mid, "Q76"),
        summary="face 1",
        tags="",
    )
    for sample_name in ("06-wbsetclaim-success.json", "06-wbcreateclaim-success.json"):
        sample = real(sample_name)
        # The samples set other datatypes (monolingualtext, external-id): compare the envelope.
        sample["claim"]["mainsnak"]["datavalue"] = answer["claim"]["mainsnak"]["datavalue"]
        assert_conforms(sample, answer)
    assert GUID_RE.match(answer["claim"]["id"]) and answer["claim"]["mainsnak"]["hash"]
    (stored,) = fake_commons.statements(mid, prop="P180")
    assert stored["id"] == answer["claim"]["id"] and "datatype" not in stored["mainsnak"]
    assert fake_commons.depicts(mid) == ["Q76"]
    (record,) = fake_commons.writes
    assert (record.entity_id, record.value, record.user, record.summary) == (
        mid,
        "Q76",
        "WikiVisage Tester",
        "face 1",
    )
    assert record.revision == answer["pageinfo"]["lastrevid"] and not record.replaced
    later = api(fake_commons, action="wbgetentities", ids=mid, formatversion=2)
    assert later["entities"][mid]["lastrevid"] == record.revision
    assert later["entities"][mid]["statements"]["P180"][0]["id"] == stored["id"]


def test_resending_a_statement_id_replaces_it_instead_of_adding_a_second(fake_commons):
    s = signed_session(fake_commons)
    mid = fake_commons.mid(a_plain_file(fake_commons))
    guid, token = f"{mid}${uuid.uuid4()}", csrf(fake_commons, s)
    first = write(fake_commons, s, token, claim=depicts_claim(mid, "Q76", guid=guid))
    second = write(
        fake_commons, s, token, claim=depicts_claim(mid, "Q76", guid=guid, rank="preferred")
    )
    assert second["pageinfo"]["lastrevid"] > first["pageinfo"]["lastrevid"]
    (kept,) = fake_commons.statements(mid, "P180")
    assert kept["rank"] == "preferred"
    assert [w.replaced for w in fake_commons.writes_to(mid)] == [False, True]


def test_statements_can_be_removed_for_an_undo(fake_commons):
    s = signed_session(fake_commons)
    mid = fake_commons.mid(a_plain_file(fake_commons))
    token = csrf(fake_commons, s)
    guid = write(fake_commons, s, token, claim=depicts_claim(mid, "Q207"))["claim"]["id"]
    answer = write(fake_commons, s, token, action="wbremoveclaims", claim=guid)
    assert answer["claims"] == [guid] and answer["success"] == 1
    assert fake_commons.statements(mid, "P180") == []
    assert (
        fake_commons.writes[-1].action == "wbremoveclaims"
        and fake_commons.writes[-1].value == "Q207"
    )
    again = write(fake_commons, s, token, action="wbremoveclaims", claim=guid)
    assert again["error"]["code"] == "no-such-claim"


def test_wbcreateclaim_makes_its_own_statement_id(fake_commons):
    s = signed_session(fake_commons)
    mid = fake_commons.mid(a_plain_file(fake_commons))
    answer = write(
        fake_commons,
        s,
        csrf(fake_commons, s),
        action="wbcreateclaim",
        entity=mid,
        property="P180",
        snaktype="value",
        value=json.dumps({"entity-type": "item", "numeric-id": 42}),
    )
    assert answer["claim"]["id"].startswith(f"{mid}$")
    assert fake_commons.depicts(mid) == ["Q42"]


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"method": "GET"}, "mustbeposted"),
        ({"token": None}, "missingparam"),
        ({"token": "0" * 40 + "+\\"}, "badtoken"),
        ({"session": "anonymous"}, "assertuserfailed"),
        ({"claim": "{not json"}, "invalid-claim"),
        ({"guid": "M1$not-a-uuid"}, "invalid-guid"),
        ({"guid": f"M1${uuid.uuid4()}"}, "no-such-entity"),
        ({"value_type": "string"}, "invalid-snak"),
        ({"tags": "unknown-tag"}, "tags-apply-not-allowed-one"),
    ],
)
def test_writes_wikibase_would_refuse_are_refused_and_not_kept(
    make_fake_commons, faces_world, change, code
):
    world = copy.deepcopy(faces_world)
    world["change_tags"] = ["wikivisage"]
    server = make_fake_commons(world)
    s = signed_session(server)
    mid = server.mid(a_plain_file(server))
    token = csrf(server, s)
    claim = json.loads(depicts_claim(mid, "Q76", guid=change.get("guid")))
    if "value_type" in change:
        claim["mainsnak"]["datavalue"]["type"] = "string"
    params = {
        "action": "wbsetclaim",
        "claim": change.get("claim", json.dumps(claim)),
        "assert_": "user",
        "token": change.get("token", token),
        "tags": change.get("tags", "wikivisage"),
    }
    params = {k: v for k, v in params.items() if v is not None}
    s = session() if change.get("session") == "anonymous" else s
    answer = api(server, s=s, method=change.get("method", "POST"), **params)
    assert answer["error"]["code"] == code
    assert server.writes == [] and server.statements(mid) == []


def test_an_anonymous_token_is_useless_for_a_signed_write(fake_commons):
    s = signed_session(fake_commons)
    mid = fake_commons.mid(a_plain_file(fake_commons))
    anonymous = api(fake_commons, action="query", meta="tokens")["query"]["tokens"]["csrftoken"]
    assert anonymous == "+\\"
    assert (
        write(fake_commons, s, anonymous, claim=depicts_claim(mid, "Q76"))["error"]["code"]
        == "badtoken"
    )


def test_tokens_look_like_mediawikis_in_both_formatversions(fake_commons):
    s = signed_session(fake_commons)
    fv1 = api(fake_commons, s=s, action="query", meta="tokens", type="csrf", assert_="user")
    fv2 = api(fake_commons, s=s, action="query", meta="tokens", formatversion=2)
    assert_conforms(real("05-tokens-csrf-fv1.json"), fv1)
    assert_conforms(real("05-tokens-csrf-fv2.json"), fv2)
    assert re.match(r"^[0-9a-f]{40}\+\\$", fv1["query"]["tokens"]["csrftoken"])
    assert fv1["query"]["tokens"] == fv2["query"]["tokens"]
    user = api(
        fake_commons,
        s=s,
        action="query",
        meta="userinfo",
        uiprop="groups|ratelimits",
        formatversion=2,
    )
    assert user["query"]["userinfo"]["name"] == "WikiVisage Tester"
    assert user["query"]["userinfo"]["ratelimits"]["edit"]["user"] == {"hits": 900, "seconds": 180}
    anon = api(fake_commons, action="query", meta="userinfo", formatversion=2)
    assert anon["query"]["userinfo"] == {"id": 0, "name": "127.0.0.1", "anon": True}


def test_assert_user_fails_without_oauth_like_mediawiki(fake_commons):
    answer = api(fake_commons, action="query", meta="tokens", assert_="user")
    assert_conforms(real("07-error-assertuserfailed-wikidata.json"), answer)
    assert answer["error"]["code"] == "assertuserfailed"
    signed = api(fake_commons, s=signed_session(fake_commons), action="query", assert_="user")
    assert "error" not in signed


def test_a_bad_oauth_signature_is_refused(fake_commons):
    s = session()
    token = fake_commons.issue_access_token()
    s.auth = OAuth1(fake_commons.oauth.consumer_key, "wrong secret", token.key, token.secret)
    answer = api(fake_commons, s=s, action="query", meta="userinfo")
    assert answer["error"]["code"] == "mwoauth-invalid-authorization"
    assert "Invalid signature" in answer["error"]["info"]


def test_a_replayed_oauth_request_is_refused(fake_commons):
    s = signed_session(fake_commons)
    prepared = s.prepare_request(
        requests.Request(
            "GET",
            fake_commons.commons_api_url,
            params={"action": "query", "meta": "userinfo", "format": "json", "maxlag": "5"},
        )
    )
    first = s.send(prepared, timeout=10).json()
    replay = s.send(prepared, timeout=10).json()
    assert first["query"]["userinfo"]["name"] == "WikiVisage Tester"
    assert replay["error"]["code"] == "mwoauth-invalid-authorization"


# --- search --------------------------------------------------------------------------------------


def test_haswbstatement_finds_existing_and_newly_written_depicts(fake_commons):
    query = {
        "action": "query",
        "list": "search",
        "srsearch": "haswbstatement:P180=Q76",
        "srnamespace": 6,
    }
    before = api(fake_commons, **query)
    assert_conforms(real("03-search-commons-srnamespace6.json"), before)
    assert_conforms(
        real("03-search-wikidata-list-search.json")["query"]["search"][0],
        before["query"]["search"][0],
    )
    assert [hit["title"] for hit in before["query"]["search"]] == [
        "File:" + obama_file(fake_commons)
    ]
    s = signed_session(fake_commons)
    mid = fake_commons.mid(a_plain_file(fake_commons))
    write(fake_commons, s, csrf(fake_commons, s), claim=depicts_claim(mid, "Q76"))
    hits, cont, calls = [], {}, 0
    while True:
        answer = api(fake_commons, **query, srlimit=1, formatversion=2, **cont)
        calls += 1
        hits += [hit["pageid"] for hit in answer["query"]["search"]]
        assert answer["query"]["searchinfo"]["totalhits"] == 2
        if "continue" not in answer:
            break
        assert answer["continue"]["continue"] == "-||"
        cont = answer["continue"]
    assert calls == 2 and sorted(hits) == sorted(
        [int(mid[1:]), fake_commons.world.file(obama_file(fake_commons)).pageid]
    )


def test_search_can_be_a_generator_for_imageinfo(fake_commons):
    answer = api(
        fake_commons,
        action="query",
        generator="search",
        gsrsearch="haswbstatement:P180=Q76",
        gsrnamespace=6,
        prop="imageinfo",
        iiprop="url|sha1",
        iiurlwidth=500,
        formatversion=2,
    )
    (page,) = answer["query"]["pages"]
    assert page["index"] == 1 and page["imageinfo"][0]["sha1"]


# --- Wikidata ------------------------------------------------------------------------------------


def test_a_human_with_labels_p31_and_p18(fake_commons):
    answer = api(
        fake_commons,
        "wikidata",
        action="wbgetentities",
        ids="Q76",
        languages="en|fr",
        formatversion=2,
    )
    entity = answer["entities"]["Q76"]
    assert_conforms(real("04-wbgetentities-wikidata-item-claims.json"), answer)
    assert entity["labels"]["fr"] == {"language": "fr", "value": "Barack Obama"}
    assert [c["mainsnak"]["datavalue"]["value"]["id"] for c in entity["claims"]["P31"]] == ["Q5"]
    assert entity["claims"]["P31"][0]["mainsnak"]["datatype"] == "wikibase-item"
    assert entity["claims"]["P18"][0]["mainsnak"]["datavalue"]["value"] == obama_file(fake_commons)
    labels = api(
        fake_commons, "wikidata", action="wbgetentities", ids="Q76", props="labels", languages="en"
    )
    assert_conforms(real("04-wbgetentities-wikidata-labels-Q123.json"), labels)
    assert set(labels["entities"]["Q76"]) == {"type", "id", "labels"}


def test_a_non_human_is_not_an_instance_of_q5(fake_commons):
    entity = api(
        fake_commons,
        "wikidata",
        action="wbgetentities",
        ids=fx(fake_commons)["non_human"],
        props="claims",
    )["entities"][fx(fake_commons)["non_human"]]
    assert [c["mainsnak"]["datavalue"]["value"]["id"] for c in entity["claims"]["P31"]] != ["Q5"]


def test_a_redirect_answers_under_the_requested_id_with_the_target(fake_commons):
    redirect = fx(fake_commons)["redirect"]
    answer = api(fake_commons, "wikidata", action="wbgetentities", ids=redirect["from"])
    assert_conforms(real("04-wbgetentities-wikidata-redirect.json"), answer)
    entity = answer["entities"][redirect["from"]]
    assert entity["id"] == entity["title"] == redirect["to"]
    assert entity["redirects"] == {"from": redirect["from"], "to": redirect["to"]}
    refused = api(
        fake_commons, "wikidata", action="wbgetentities", ids=redirect["from"], redirects="no"
    )
    assert refused["entities"][redirect["from"]] == {"id": redirect["from"], "missing": ""}


@pytest.mark.parametrize("which", ["deleted", "absent"])
def test_missing_items_are_marked_missing(fake_commons, which):
    qid = fx(fake_commons)[which]
    answer = api(fake_commons, "wikidata", action="wbgetentities", ids=qid, formatversion=2)
    assert_conforms(real("04-wbgetentities-fv2-missing.json"), answer)
    assert answer["entities"][qid] == {"id": qid, "missing": ""}


def test_a_malformed_id_aborts_the_call_like_wikibase(fake_commons):
    answer = api(fake_commons, "wikidata", action="wbgetentities", ids="Q76|User talk:Mhollo")
    assert_conforms(real("07-error-no-such-entity-with-id-fv1.json"), answer)
    assert answer["error"]["code"] == "no-such-entity"
    assert answer["error"]["id"] == "User talk:Mhollo" and "query" not in answer
    lower = api(fake_commons, "wikidata", action="wbgetentities", ids="q76", props="info")
    assert list(lower["entities"]) == ["Q76"]


def test_labels_fall_back_to_english_when_asked(fake_commons):
    unnamed = next(
        q for slug, q in fx(fake_commons)["people"].items() if slug.startswith("deepface")
    )
    strict = api(
        fake_commons,
        "wikidata",
        action="wbgetentities",
        ids=unnamed,
        props="labels",
        languages="nb",
    )
    assert strict["entities"][unnamed]["labels"] == {}
    fallback = api(
        fake_commons,
        "wikidata",
        action="wbgetentities",
        ids=unnamed,
        props="labels",
        languages="nb",
        languagefallback=1,
    )
    label = fallback["entities"][unnamed]["labels"]["nb"]
    assert label["language"] == "en" and label["for-language"] == "nb" and label["value"]


def test_wbsearchentities_suggests_people_with_continuation(fake_commons):
    by_label = api(
        fake_commons, "wikidata", action="wbsearchentities", search="barack", language="en"
    )
    assert_conforms(
        real("08-wbsearchentities-entityid-match.json")["search"][0] | {"aliases": []},
        by_label["search"][0] | {"aliases": []},
    )
    assert (
        by_label["search"][0]["id"] == "Q76" and by_label["search"][0]["match"]["type"] == "label"
    )
    by_id = api(fake_commons, "wikidata", action="wbsearchentities", search="Q76", language="en")
    assert_conforms(real("08-wbsearchentities-entityid-match.json"), by_id)
    by_alias = api(
        fake_commons, "wikidata", action="wbsearchentities", search="domestic", language="en"
    )
    assert_conforms(real("08-wbsearchentities-abc.json")["search"][0], by_alias["search"][0])
    nothing = api(fake_commons, "wikidata", action="wbsearchentities", search="zzzz", language="en")
    assert_conforms(real("08-wbsearchentities-empty.json"), nothing)
    first = api(
        fake_commons, "wikidata", action="wbsearchentities", search="john", language="en", limit=2
    )
    second = api(
        fake_commons,
        "wikidata",
        action="wbsearchentities",
        search="john",
        language="en",
        limit=2,
        **{"continue": first["search-continue"]},
    )
    assert first["search-continue"] == 2
    assert not {r["id"] for r in first["search"]} & {r["id"] for r in second["search"]}


# --- faults --------------------------------------------------------------------------------------


def test_maxlag_answers_200_with_lag_and_retry_after(fake_commons):
    fake_commons.inject("maxlag", times=1, seconds=2, lag=6.5)
    response = api_response(fake_commons, action="query", meta="tokens")
    assert response.status_code == 200
    assert response.headers["Retry-After"] == "2" and response.headers["X-Database-Lag"] == "6"
    assert_conforms(
        real("07-error-maxlag-wikidata.json"),
        response.json(),
        ignore=frozenset({"queryserviceLag"}),
    )
    assert response.json()["error"]["lag"] == 6.5
    assert "query" in api(fake_commons, action="query", meta="tokens")  # once only


@pytest.mark.parametrize(("kind", "status"), [("http429", 429), ("http503", 503)])
def test_http_errors_come_with_their_status(fake_commons, kind, status):
    fake_commons.inject(kind, times=2)
    for _ in range(2):
        response = api_response(fake_commons, action="query", meta="tokens")
        assert response.status_code == status
    assert ("Retry-After" in response.headers) == (status == 429)
    assert api_response(fake_commons, action="query", meta="tokens").status_code == 200


def test_core_ratelimited_and_wikibase_actionthrottled(fake_commons):
    fake_commons.inject("ratelimited")
    assert api(fake_commons, action="query", meta="tokens")["error"]["code"] == "ratelimited"
    s = signed_session(fake_commons)
    mid = fake_commons.mid(a_plain_file(fake_commons))
    token = csrf(fake_commons, s)
    fake_commons.inject("actionthrottled", action="wbsetclaim")
    answer = write(fake_commons, s, token, claim=depicts_claim(mid, "Q76"))
    assert_conforms(real("07-error-ratelimit-wikibase-failed-save-actionthrottled.json"), answer)
    assert answer["error"]["messages"][0]["name"] == "actionthrottledtext"
    assert fake_commons.statements(mid) == []


def test_an_injected_badtoken_refuses_a_good_token_once(fake_commons):
    s = signed_session(fake_commons)
    mid = fake_commons.mid(a_plain_file(fake_commons))
    token = csrf(fake_commons, s)
    fake_commons.inject("badtoken", action="wbsetclaim")
    refused = write(fake_commons, s, token, claim=depicts_claim(mid, "Q76"))
    assert_conforms(real("07-error-badtoken-fv1.json"), refused)
    assert "claim" in write(fake_commons, s, token, claim=depicts_claim(mid, "Q76"))
    assert len(fake_commons.statements(mid)) == 1


def test_slow_answers_outlast_a_short_timeout(fake_commons):
    fake_commons.inject("slow", seconds=0.6)
    started = time.monotonic()
    with pytest.raises(requests.ReadTimeout):
        session().get(
            fake_commons.commons_api_url,
            params={"action": "query", "format": "json", "maxlag": 5},
            timeout=0.2,
        )
    fake_commons.inject("slow", seconds=0.3)
    assert "batchcomplete" in api(fake_commons, action="query", meta="tokens")
    assert time.monotonic() - started >= 0.3


def test_a_dropped_write_is_applied_and_resending_its_id_does_not_duplicate(fake_commons):
    s = signed_session(fake_commons)
    mid = fake_commons.mid(a_plain_file(fake_commons))
    token, guid = csrf(fake_commons, s), f"{mid}${uuid.uuid4()}"
    fake_commons.inject("drop_after_write")
    assert "query" in api(fake_commons, s=s, action="query", meta="tokens")  # reads pass untouched
    with pytest.raises(requests.ConnectionError):
        write(fake_commons, s, token, claim=depicts_claim(mid, "Q76", guid=guid))
    assert [x["id"] for x in fake_commons.statements(mid, "P180")] == [guid]
    write(fake_commons, s, token, claim=depicts_claim(mid, "Q76", guid=guid))
    assert len(fake_commons.statements(mid, "P180")) == 1 and len(fake_commons.writes) == 2


def test_faults_match_their_action_and_the_upload_server(fake_commons):
    fake_commons.inject("maxlag", times=None, action="wbgetentities")
    assert "query" in api(fake_commons, action="query", meta="tokens")
    for _ in range(3):
        assert api(fake_commons, action="wbgetentities", ids="M1")["error"]["code"] == "maxlag"
    fake_commons.clear_faults()
    assert "entities" in api(fake_commons, action="wbgetentities", ids="M1")
    fake_commons.inject("http503", target="upload")
    url = fake_commons.urls.original(fake_commons.world.file(obama_file(fake_commons)))
    assert requests.get(url, headers={"User-Agent": UA}, timeout=10).status_code == 503
    assert requests.get(url, headers={"User-Agent": UA}, timeout=10).status_code == 200
    assert [f.kind for f in fake_commons.faults.fired] == ["maxlag"] * 3 + ["http503"]


def test_fault_specs_of_the_command_line():
    assert parse_spec("maxlag").__dict__ | {} == parse_spec("maxlag:1").__dict__
    fault = parse_spec("badtoken:*:wbsetclaim")
    assert (fault.kind, fault.remaining, fault.action) == ("badtoken", None, "wbsetclaim")
    assert parse_spec("http429:2:upload").target == "upload"


# --- etiquette -----------------------------------------------------------------------------------


@pytest.mark.fakecommons_no_etiquette
@pytest.mark.parametrize(
    ("user_agent", "maxlag", "problem"),
    [
        ("python-requests/2.32.3", "5", "generic library User-Agent"),
        ("Mozilla/5.0 (X11; Linux x86_64)", "5", "browser User-Agent"),
        ("WikiVisage/0.1 python-requests/2.32", "5", "no contact URL or e-mail"),
        (UA, None, "no maxlag"),
        (UA, "10", "maxlag=10, not 5"),
    ],
)
def test_etiquette_breaches_are_recorded(fake_commons, user_agent, maxlag, problem):
    params = {"action": "query", "meta": "tokens", "format": "json"} | (
        {"maxlag": maxlag} if maxlag else {}
    )
    requests.get(
        fake_commons.commons_api_url, params=params, headers={"User-Agent": user_agent}, timeout=10
    )
    ((request, found),) = fake_commons.etiquette_violations
    assert problem in found and request.user_agent == user_agent
    with pytest.raises(AssertionError, match="etiquette"):
        fake_commons.assert_etiquette()


def test_polite_requests_break_no_etiquette(fake_commons):
    api(fake_commons, action="query", meta="tokens")
    api(fake_commons, "wikidata", action="wbgetentities", ids="Q76")
    requests.get(
        fake_commons.urls.original(fake_commons.world.file(obama_file(fake_commons))),
        headers={"User-Agent": "WikiVisage/0.1 (mailto:team@example.org) python-requests/2"},
        timeout=10,
    )
    assert fake_commons.etiquette_violations == []
    assert [r.site for r in fake_commons.requests] == ["commons", "wikidata", "upload"]
    assert (
        fake_commons.requests[0].params["maxlag"] == "5" and fake_commons.requests[0].status == 200
    )


def test_the_opt_out_marker_is_registered(pytestconfig):
    assert any(NO_ETIQUETTE_MARK in line for line in pytestconfig.getini("markers"))


def test_unknown_parameters_draw_mediawikis_warning(fake_commons):
    answer = api(
        fake_commons,
        action="query",
        list="categorymembers",
        formatversion=2,
        cmtitle="Category:" + fx(fake_commons)["root_category"],
        cmtitles="oops",
    )
    assert answer["warnings"]["main"]["warnings"] == "Unrecognized parameter: cmtitles."
    fv1 = api(fake_commons, action="query", meta="tokens", bogus=1)
    assert fv1["warnings"]["main"] == {"*": "Unrecognized parameter: bogus."}


def test_errors_differ_between_formatversions_as_on_mediawiki(fake_commons):
    fv1 = api_response(fake_commons, action="nonsense")
    fv2 = api(fake_commons, action="nonsense", formatversion=2)
    assert fv1.headers["MediaWiki-API-Error"] == "badvalue"
    assert "*" in fv1.json()["error"] and "docref" in fv2["error"] and fv2["servedby"]


# --- OAuth through social-core -------------------------------------------------------------------


def test_social_cores_mediawiki_backend_logs_in_through_the_stand_in(fake_commons, settings, rf):
    from django.contrib.sessions.backends.signed_cookies import SessionStore
    from social_django.utils import load_backend, load_strategy

    settings.SOCIAL_AUTH_MEDIAWIKI_CALLBACK = "oob"
    request = rf.get("/login/mediawiki/")
    request.session = SessionStore()
    backend = load_backend(
        load_strategy(request), "mediawiki", redirect_uri="http://testserver/complete/mediawiki/"
    )
    authorize_url = backend.auth_url()
    redirect = session().get(authorize_url, allow_redirects=False, timeout=10)
    assert redirect.status_code == 302
    location = redirect.headers["Location"]
    assert location.startswith("http://testserver/complete/mediawiki/?")
    callback = rf.get(location.split("testserver", 1)[1])
    callback.session = request.session
    backend = load_backend(
        load_strategy(callback), "mediawiki", redirect_uri="http://testserver/complete/mediawiki/"
    )
    access_token = backend.access_token(backend.get_unauthorized_token())
    identity = backend.user_data(access_token)
    details = backend.get_user_details(identity)
    assert details["username"] == "WikiVisage Tester" and details["userID"] == "4242"
    assert identity["aud"] == fake_commons.oauth.consumer_key
    signed = session()
    signed.auth = OAuth1(
        fake_commons.oauth.consumer_key,
        fake_commons.oauth.consumer_secret,
        access_token["oauth_token"],
        access_token["oauth_token_secret"],
    )
    userinfo = api(fake_commons, s=signed, action="query", meta="userinfo", assert_="user")
    assert userinfo["query"]["userinfo"]["name"] == "WikiVisage Tester"
    assert fake_commons.requests[-1].user == "WikiVisage Tester"


def test_identify_is_an_hs256_jwt_for_the_consumer(fake_commons):
    token = fake_commons.issue_access_token("WikiVisage Newcomer")
    s = session()
    s.auth = OAuth1(
        fake_commons.oauth.consumer_key, fake_commons.oauth.consumer_secret, token.key, token.secret
    )
    response = s.post(fake_commons.meta_url, params={"title": "Special:OAuth/identify"}, timeout=10)
    claims = jwt.decode(
        response.content,
        fake_commons.oauth.consumer_secret,
        audience=fake_commons.oauth.consumer_key,
        algorithms=["HS256"],
        options={"verify_sub": False},  # an integer, as MediaWiki's central user id
    )
    assert claims["sub"] == 4243
    assert claims["username"] == "WikiVisage Newcomer" and claims["iss"] == fake_commons.base_url
    assert claims["exp"] == claims["iat"] + 100 and claims["nonce"]
    assert claims["groups"] == ["*", "user"] and claims["blocked"] is False


# --- worlds, commands, fixtures ------------------------------------------------------------------


def test_build_writes_a_world_whose_paths_are_relative_to_it(tmp_path):
    target = tmp_path / "worlds" / "faces.json"
    fakecommons_main(
        [
            "build",
            str(target),
            "--manifest",
            str(Path(settings.FACES_DATA_DIR) / "manifest.csv"),
            "--synthetic",
            "3",
            "--max-per-identity",
            "2",
            "--max-others",
            "1",
        ]
    )
    data = json.loads(target.read_text())
    first = next(spec for spec in data["files"].values() if "path" in spec)
    assert not Path(first["path"]).is_absolute()
    world = World.load(target)
    assert len(world.category(data["fixtures"]["synthetic_category"]).files) == 3
    name = next(n for n, spec in data["files"].items() if spec.get("path") == first["path"])
    assert (
        world.file(name).facts().sha1
        == hashlib.sha1((target.parent / first["path"]).read_bytes()).hexdigest()
    )


def test_the_command_line_reads_the_manifest_the_settings_name(monkeypatch, tmp_path):
    expected = Path(settings.FACES_DATA_DIR) / "manifest.csv"
    assert default_manifest().resolve() == expected.resolve()
    monkeypatch.setenv("FACES_DATA_DIR", str(tmp_path))
    assert default_manifest() == tmp_path / "manifest.csv"


def test_page_ids_are_stable_across_worlds(faces_world):
    base = Path(settings.FACES_DATA_DIR)
    one, two = World.from_dict(faces_world, base), World.from_dict(copy.deepcopy(faces_world), base)
    assert {n: p.pageid for n, p in one.files.items()} == {
        n: p.pageid for n, p in two.files.items()
    }
    assert len(
        {p.pageid for p in one.files.values()} | {c.pageid for c in one.categories.values()}
    ) == (len(one.files) + len(one.categories))


def test_the_manifest_world_has_what_tests_need():
    world = build_world_from_manifest(Path(settings.FACES_DATA_DIR) / "manifest.csv")
    fixtures = world["fixtures"]
    assert fixtures["people"]["barack_obama"] == "Q76"
    assert len(fixtures["people"]) == 42 and len(world["files"]) == 410 + 11
    assert all(world["items"][q]["P31"] == ["Q5"] for q in fixtures["people"].values())
    assert world["items"][fixtures["redirect"]["from"]] == {"redirect": "Q76"}


def test_the_fixture_points_settings_at_the_server(fake_commons):
    assert fake_commons.commons_api_url == settings.COMMONS_API_URL
    assert fake_commons.wikidata_api_url == settings.WIKIDATA_API_URL
    assert (
        settings.SOCIAL_AUTH_MEDIAWIKI_URL
        == fake_commons.meta_url
        == fake_commons.base_url + "/meta/w/index.php"
    )
    assert fake_commons.env_lines()[:3] == [
        f"COMMONS_API_URL={fake_commons.commons_api_url}",
        f"WIKIDATA_API_URL={fake_commons.wikidata_api_url}",
        f"SOCIAL_AUTH_MEDIAWIKI_URL={fake_commons.meta_url}",
    ]


def test_python_m_fakecommons_serves_and_prints_the_environment_without_django(tmp_path):
    import os
    import subprocess
    import sys

    world = tmp_path / "w.json"
    fakecommons_main(["build", str(world), "--max-per-identity", "1", "--max-others", "1"])
    command = [
        sys.executable,
        "-m",
        "fakecommons",
        "serve",
        "--world",
        str(world),
        "--port",
        "0",
        "--fault",
        "maxlag:1:query",
    ]
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    process = subprocess.Popen(
        command, cwd=settings.BASE_DIR, env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        line = process.stdout.readline().strip()
        assert line.startswith("COMMONS_API_URL=http://127.0.0.1:")
        url = line.split("=", 1)[1]
        first = session().get(
            url,
            params={"action": "query", "meta": "tokens", "format": "json", "maxlag": 5},
            timeout=10,
        )
        second = session().get(
            url,
            params={"action": "query", "meta": "tokens", "format": "json", "maxlag": 5},
            timeout=10,
        )
        assert first.json()["error"]["code"] == "maxlag" and "query" in second.json()
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_the_fixture_fails_a_rude_test_at_teardown_unless_it_opts_out(tmp_path):
    import os
    import subprocess
    import sys

    (tmp_path / "test_rude.py").write_text(
        "import pytest, requests\n"
        "RUDE = {'action': 'query', 'format': 'json'}\n"
        "def test_rude(fake_commons):\n"
        "    requests.get(fake_commons.commons_api_url, params=RUDE)\n"
        "@pytest.mark.fakecommons_no_etiquette\n"
        "def test_rude_but_exempt(fake_commons):\n"
        "    requests.get(fake_commons.commons_api_url, params=RUDE)\n"
    )
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "-p",
        "fakecommons.pytest_plugin",
        "--ds",
        "wikivisage.settings.test",
        str(tmp_path),
    ]
    env = {**os.environ, "PYTHONPATH": str(settings.BASE_DIR)}
    result = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    # Both tests pass; only the one that did not opt out errors at teardown.
    assert re.search(r"\b2 passed\b.*\b1 error\b", result.stdout), result.stdout[-2000:]
    assert "ERROR at teardown of test_rude " in result.stdout
    assert "ERROR test_rude.py::test_rude -" in result.stdout
    assert "generic library User-Agent" in result.stdout and "no maxlag" in result.stdout
