"""File titles as MediaWiki normalises them: the app's reading of a list of files, the
stand-in's lookups and upload URLs, the lookup of titles and page ids in batches, and the
bounded size estimate of a category tree."""

from __future__ import annotations

import itertools

import pytest
from django.core.exceptions import ValidationError

from commons.categories import estimate_files
from commons.client import commons_client
from commons.files import Lookup, download_thumbnail, resolve_files
from commons.identifiers import (
    FileRef,
    file_reference,
    normalise_category,
    normalise_file_title,
)
from core.retry import RetryPolicy
from fakecommons.world import normal_name

NO_WAIT = RetryPolicy(max_attempts=2, base_delay=0.0, max_delay=0.0)


def client():
    return commons_client(retry=NO_WAIT, sleep=lambda seconds: None)


def jpeg(seed: int) -> dict:
    return {"generate": {"format": "JPEG", "width": 1200, "height": 900, "seed": seed}}


# --- the app's normalisation ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "title"),
    [
        ("Obama 1.jpg", "File:Obama 1.jpg"),
        ("obama_1.jpg", "File:Obama 1.jpg"),
        ("file:obama  1.jpg", "File:Obama 1.jpg"),
        ("FILE:_Obama_1.jpg_", "File:Obama 1.jpg"),
        ("Image:Obama 1.jpg", "File:Obama 1.jpg"),
        ("File:élan.png", "File:Élan.png"),
        ("File:a:b.jpg", "File:A:b.jpg"),  # a colon inside a file name is allowed
    ],
)
def test_file_titles_are_normalised_as_mediawiki_does(given, title):
    assert normalise_file_title(given) == title


@pytest.mark.parametrize(
    ("line", "ref"),
    [
        ("Obama_1.jpg", FileRef(title="File:Obama 1.jpg")),
        ("  123456 ", FileRef(pageid=123456)),
        ("https://commons.wikimedia.org/wiki/File:Obama_1.jpg", FileRef(title="File:Obama 1.jpg")),
        ("https://commons.m.wikimedia.org/wiki/File%3A%C3%89lan.png#top", FileRef("File:Élan.png")),
        (
            "https://commons.wikimedia.org/w/index.php?title=File:Obama_1.jpg&oldid=5",
            FileRef(title="File:Obama 1.jpg"),
        ),
        ("https://commons.wikimedia.org/w/index.php?curid=77", FileRef(pageid=77)),
    ],
)
def test_a_line_names_a_file_by_title_page_id_or_address(line, ref):
    assert file_reference(line) == ref


@pytest.mark.parametrize(
    ("line", "code"),
    [
        ("Category:Barack Obama", "not_file"),
        ("User:Somebody", "not_file"),
        ("A [bracketed] name.jpg", "invalid"),
        ("File:", "invalid"),
        ("x" * 300 + ".jpg", "invalid"),
        ("0", "invalid"),
        ("https://en.wikipedia.org/wiki/File:X.jpg", "not_commons"),
        ("https://commons.wikimedia.org/wiki/Main_Page", "invalid"),
        ("https://commons.wikimedia.org/wiki/Category:X", "not_file"),
    ],
)
def test_a_line_that_names_no_file_is_refused(line, code):
    with pytest.raises(ValidationError) as refused:
        file_reference(line)
    assert refused.value.code == code


@pytest.mark.parametrize(
    "given", ["Barack Obama", "barack_Obama", "Category:Barack_Obama", " category: Barack  Obama "]
)
def test_category_names_share_the_normalisation(given):
    assert normalise_category(given) == "Barack Obama"


@pytest.mark.parametrize(
    "given",
    ["Obama_1.jpg", "obama 1.jpg", " Obama__1.jpg ", "Obama 1.jpg", "\u200fObama 1\u202c.jpg"],
)
def test_the_stand_in_normalises_names_as_the_app_does(given):
    assert "File:" + normal_name(given) == normalise_file_title(given) == "File:Obama 1.jpg"


# --- the stand-in --------------------------------------------------------------------------

UNDERSCORE_WORLD = {
    "items": {"Q76": {"labels": {"en": "Barack Obama"}, "P31": ["Q5"]}},
    "categories": {"Barack_Obama": {"files": ["Obama_at_the_lectern.jpg"], "subcats": []}},
    "files": {"Obama_at_the_lectern.jpg": jpeg(1), "obama portrait.jpg": jpeg(2)},
}


@pytest.fixture
def underscores(make_fake_commons):
    return make_fake_commons(UNDERSCORE_WORLD)


def test_a_world_name_with_underscores_is_listed_and_served_under_its_normal_title(underscores):
    with client() as api:
        (listed,) = api.get(
            {"action": "query", "list": "categorymembers", "cmtitle": "Category:Barack Obama"}
        )["query"]["categorymembers"]
        (found,) = resolve_files(api, refs=[FileRef(pageid=listed["pageid"])], width=500)
        thumbnail = download_thumbnail(api, info=found.info)
        original = api.download(found.info.url, max_bytes=10_000_000)

    assert listed["title"] == "File:Obama at the lectern.jpg"
    assert found.info.title == "File:Obama at the lectern.jpg"
    assert "/Obama_at_the_lectern.jpg" in found.info.url
    assert thumbnail[:2] == original[:2] == b"\xff\xd8"


def test_the_stand_in_says_how_it_normalised_a_title(underscores):
    with client() as api:
        query = api.get({"action": "query", "titles": "file:obama_portrait.jpg|File:Nothing"})[
            "query"
        ]

    assert query["normalized"] == [
        {"fromencoded": False, "from": "file:obama_portrait.jpg", "to": "File:Obama portrait.jpg"}
    ]
    titles = {page["title"]: "missing" in page for page in query["pages"]}
    assert titles == {"File:Obama portrait.jpg": False, "File:Nothing": True}


# --- looking a list up ---------------------------------------------------------------------


LOOKUP_WORLD = {
    "items": {},
    "categories": {"People": {"files": ["Person 0.jpg"], "subcats": []}},
    "files": {
        **{f"Person {n}.jpg": jpeg(n) for n in range(60)},
        "Drawing.svg": {"generate": {"format": "SVG", "width": 100, "height": 100}},
    },
    "redirects": {"Old_name of person 5.jpg": "Person 5.jpg"},  # a file renamed since
}


@pytest.fixture
def lookup(make_fake_commons):
    return make_fake_commons(LOOKUP_WORLD)


def test_titles_the_api_normalises_are_followed_to_their_page(lookup):
    # Built by hand, not normalised: the answer's "normalized" entries must lead to the pages.
    refs = [FileRef(title="File:person_1.jpg"), FileRef(title="file:Person_2.jpg")]
    with client() as api:
        found = resolve_files(api, refs=refs, width=500)
    assert [(f.lookup, f.title) for f in found] == [
        (Lookup.FOUND, "File:Person 1.jpg"),
        (Lookup.FOUND, "File:Person 2.jpg"),
    ]


def test_a_renamed_file_is_found_under_its_new_title(lookup):
    with client() as api:
        (found,) = resolve_files(api, refs=[FileRef(title="File:old_name of person 5.jpg")])
    assert (found.lookup, found.title) == (Lookup.FOUND, "File:Person 5.jpg")
    assert found.info.pageid == lookup.world.file("Person 5.jpg").pageid


def test_each_line_gets_what_commons_said_of_it(lookup):
    category = lookup.world.category("People").pageid
    refs = [
        FileRef(title="File:Person 3.jpg"),
        FileRef(title="File:Nobody.jpg"),
        FileRef(title="File:Drawing.svg"),
        FileRef(pageid=category),
        FileRef(pageid=999_999_999),
        FileRef(title="File:Person 3.jpg"),
    ]
    with client() as api:
        found = resolve_files(api, refs=refs, width=500)
    assert [f.lookup for f in found] == [
        Lookup.FOUND,
        Lookup.MISSING,
        Lookup.NOT_IMAGE,
        Lookup.NOT_FILE,
        Lookup.MISSING,
        Lookup.FOUND,
    ]
    assert found[2].info.mime == "image/svg+xml"
    assert found[3].title == "Category:People"


def test_titles_and_page_ids_are_asked_fifty_at_a_time(lookup):
    names = [f"File:Person {n}.jpg" for n in range(60)]
    pageids = [lookup.world.file(name[5:]).pageid for name in names[:55]]
    refs = [FileRef(title=name) for name in names] + [FileRef(pageid=p) for p in pageids]

    with client() as api:
        found = resolve_files(api, refs=refs, width=500)

    assert all(f.lookup == Lookup.FOUND for f in found)
    asked = [r.params for r in lookup.api_requests(action="query")]
    assert [len(p.get("titles", p.get("pageids", "")).split("|")) for p in asked] == [
        50,
        10,
        50,
        5,
    ]


# --- the size estimate ---------------------------------------------------------------------

# Root (2 files) → A (3) → B (4) → Root again; A → C (1); B → D (5), four levels down.
TREE = {
    "Root": (2, ["A"]),
    "A": (3, ["B", "C"]),
    "B": (4, ["Root", "D"]),
    "C": (1, []),
    "D": (5, []),
}


def tree_world() -> dict:
    counter = itertools.count()
    categories, files = {}, {}
    for name, (count, subcats) in TREE.items():
        names = [f"{name} {next(counter)}.jpg" for _ in range(count)]
        files.update({file: jpeg(len(files) + n) for n, file in enumerate(names)})
        categories[name] = {"files": names, "subcats": subcats}
    return {"items": {}, "categories": categories, "files": files}


@pytest.fixture
def tree(make_fake_commons):
    return make_fake_commons(tree_world())


@pytest.mark.parametrize(
    ("depth", "files", "categories"), [(0, 2, 1), (1, 5, 2), (2, 10, 4), (3, 15, 5), (9, 15, 5)]
)
def test_the_estimate_adds_the_files_of_each_category_within_the_depth_once(
    tree, depth, files, categories
):
    with client() as api:
        estimate = estimate_files(api, category="root", max_depth=depth)
    assert (estimate.files, estimate.categories, estimate.complete) == (files, categories, True)
    assert estimate.root.title == "Root"


def test_the_estimate_stops_at_its_request_budget_and_says_so(tree):
    with client() as api:
        estimate = estimate_files(api, category="Root", max_depth=9, max_requests=2)
    assert (estimate.files, estimate.complete) == (5, False)
    assert len(tree.api_requests(action="query")) == 2


def test_the_estimate_stops_at_its_time_budget_and_says_so(tree):
    moments = iter([0.0, 0.5, 5.0, 5.0, 5.0])  # the second level starts after the budget
    with client() as api:
        estimate = estimate_files(
            api, category="Root", max_depth=9, budget_seconds=3.0, clock=lambda: next(moments)
        )
    assert (estimate.files, estimate.complete) == (5, False)


def test_the_estimate_of_a_missing_category_says_it_does_not_exist(tree):
    with client() as api:
        estimate = estimate_files(api, category="Nowhere", max_depth=2)
    assert not estimate.root.exists
    assert estimate.files == 0
