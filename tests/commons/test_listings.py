"""Listings a project may be scoped to, on the offline stand-in: ``list=search`` with the
CirrusSearch operators a scope uses, ``list=allimages`` by uploader, the upload log
(``list=logevents&letype=upload``), each with continuation; and the client's calls that
read them (``commons.listings``), run against the stand-in over loopback."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from commons.client import commons_client
from commons.identifiers import normalise_user
from commons.listings import (
    search_listing,
    search_total,
    upload_log,
    uploads_listing,
    user_has_uploads,
)
from core.retry import RetryPolicy
from fakecommons.media import source_from_spec
from tests.commons.test_fakecommons import api
from tests.commons.test_mwclient import no_api_warnings, site_for  # noqa: F401 (a fixture)

NO_WAIT = RetryPolicy(max_attempts=1)


def jpeg(seed: int, **extra: Any) -> dict[str, Any]:
    return {"generate": {"format": "JPEG", "width": 32, "height": 24, "seed": seed}, **extra}


WORLD: dict[str, Any] = {
    "items": {"Q42": {"labels": {"en": "Douglas Adams"}, "P31": ["Q5"]}},
    "categories": {
        "Douglas Adams": {"files": ["Adams signing.jpg", "Adams in Lyon.jpg", "Adams map.svg"]},
        "Portraits by Ada": {"files": ["Adams in Lyon.jpg", "Someone else.jpg"]},
    },
    "files": {
        "Adams signing.jpg": jpeg(
            1,
            user="Ada Lovelace",
            timestamp="2016-01-01T10:00:00Z",
            depicts=["Q42"],
            captions={"en": "Douglas Adams at a book signing"},
        ),
        "Adams in Lyon.jpg": jpeg(
            2,
            user="Ada Lovelace",
            timestamp="2017-01-01T10:00:00Z",
            wikitext="{{Information|description=Adams in Lyon|source=Flickr}}\n{{Cc-zero}}",
        ),
        "Adams map.svg": {
            "generate": {"format": "SVG", "width": 10, "height": 10},
            "user": "Ada Lovelace",
            "timestamp": "2018-01-01T10:00:00Z",
        },
        "Someone else.jpg": jpeg(3, user="Bo Builder", timestamp="2015-06-01T10:00:00Z"),
    },
}


@pytest.fixture
def fake(make_fake_commons):
    return make_fake_commons(copy.deepcopy(WORLD))


def titles(answer: dict, key: str) -> list[str]:
    return [row["title"] for row in answer["query"][key]]


def search(fake, text: str, **extra) -> list[str]:
    answer = api(fake, action="query", list="search", srsearch=text, srnamespace=6, **extra)
    return titles(answer, "search")


def every_answer(fake, **params) -> list[dict]:
    """Every answer of a continued query, following ``continue`` as a client does."""
    answers, cont = [], {}
    while True:
        answer = api(fake, action="query", formatversion=2, **params, **cont)
        answers.append(answer)
        if "continue" not in answer:
            return answers
        cont = answer["continue"]


# --- list=search: the operators ----------------------------------------------------------


def test_incategory_finds_the_files_directly_in_a_category_in_any_spelling(fake):
    expected = ["File:Adams in Lyon.jpg", "File:Adams map.svg", "File:Adams signing.jpg"]
    assert search(fake, "incategory:Douglas_Adams") == expected
    assert search(fake, 'incategory:"douglas adams"') == expected
    assert search(fake, "incategory:Portraits_by_Ada|Douglas_Adams") == [
        *expected[:2],
        "File:Adams signing.jpg",
        "File:Someone else.jpg",
    ]


def test_insource_reads_the_wikitext_words_phrases_and_regular_expressions(fake):
    assert search(fake, "insource:flickr") == ["File:Adams in Lyon.jpg"]
    assert search(fake, 'insource:"cc-zero"') == ["File:Adams in Lyon.jpg"]
    assert search(fake, "insource:/Cc-[a-z]+/") == ["File:Adams in Lyon.jpg"]
    assert search(fake, "insource:/cc-ZERO/") == []
    assert search(fake, "insource:/cc-ZERO/i") == ["File:Adams in Lyon.jpg"]
    # A page without wikitext of its own reads as the upload form's, categories included.
    assert search(fake, 'insource:"User:Bo Builder"') == ["File:Someone else.jpg"]
    # (Adams in Lyon's own wikitext links no category: incategory finds it, insource not.)
    assert search(fake, 'insource:"Category:Portraits by Ada"') == ["File:Someone else.jpg"]


def test_terms_are_anded_and_a_minus_or_not_negates_one(fake):
    assert search(fake, "incategory:Douglas_Adams haswbstatement:P180=Q42") == [
        "File:Adams signing.jpg"
    ]
    assert search(fake, "incategory:Douglas_Adams -haswbstatement:P180=Q42") == [
        "File:Adams in Lyon.jpg",
        "File:Adams map.svg",
    ]
    assert search(fake, "incategory:Douglas_Adams NOT insource:flickr -intitle:map") == [
        "File:Adams signing.jpg"
    ]
    assert search(fake, "signing") == ["File:Adams signing.jpg"]
    assert search(fake, "book incategory:Douglas_Adams") == ["File:Adams signing.jpg"]


def test_a_search_pages_with_sroffset_and_counts_every_hit(fake):
    answers = every_answer(fake, list="search", srsearch="adams", srnamespace=6, srlimit=2)
    assert [a.get("continue") for a in answers] == [{"sroffset": 2, "continue": "-||"}, None]
    assert {a["query"]["searchinfo"]["totalhits"] for a in answers} == {3}
    assert [t for a in answers for t in titles(a, "search")] == [
        "File:Adams in Lyon.jpg",
        "File:Adams map.svg",
        "File:Adams signing.jpg",
    ]


# --- list=allimages --------------------------------------------------------------------------


def test_allimages_by_user_lists_their_uploads_by_time_with_aicontinue(fake):
    params = {
        "list": "allimages",
        "aiuser": "ada_Lovelace",  # normalised as MediaWiki does: "Ada Lovelace"
        "aisort": "timestamp",
        "aiprop": "timestamp|user",
        "ailimit": 2,
    }
    answers = every_answer(fake, **params)
    assert answers[0]["continue"] == {
        "aicontinue": "20180101100000|Adams_map.svg",
        "continue": "-||",
    }
    rows = [row for answer in answers for row in answer["query"]["allimages"]]
    assert rows[0] == {
        "timestamp": "2016-01-01T10:00:00Z",
        "user": "Ada Lovelace",
        "name": "Adams_signing.jpg",
        "ns": 6,
        "title": "File:Adams signing.jpg",
    }
    assert [row["title"] for row in rows] == [
        "File:Adams signing.jpg",
        "File:Adams in Lyon.jpg",
        "File:Adams map.svg",
    ]
    older = every_answer(fake, **params, aidir="older")
    assert [row["name"] for a in older for row in a["query"]["allimages"]] == [
        "Adams_map.svg",
        "Adams_in_Lyon.jpg",
        "Adams_signing.jpg",
    ]


def test_allimages_refuses_a_user_without_timestamp_sort_and_a_bad_user_name(fake):
    mixed = api(fake, action="query", list="allimages", aiuser="Ada Lovelace")
    assert mixed["error"]["code"] == "invalidparammix"
    bad = api(fake, action="query", list="allimages", aisort="timestamp", aiuser="Ada<3")
    assert bad["error"]["code"] == "baduser"
    nobody = api(fake, action="query", list="allimages", aisort="timestamp", aiuser="Nobody")
    assert nobody["query"]["allimages"] == [] and "continue" not in nobody


def test_allimages_as_a_generator_gives_pages_with_imageinfo(fake):
    answer = api(
        fake,
        action="query",
        generator="allimages",
        gaiuser="Bo Builder",
        gaisort="timestamp",
        prop="imageinfo",
        iiprop="user|sha1",
        formatversion=2,
    )
    (page,) = answer["query"]["pages"]
    assert page["title"] == "File:Someone else.jpg"
    assert page["imageinfo"][0]["user"] == "Bo Builder"


def test_a_new_version_by_someone_else_leaves_the_uploads_and_stays_in_the_log(fake):
    fake.world.upload(
        "Adams signing.jpg",
        source_from_spec(jpeg(9), Path(".")),
        user="Bo Builder",
        timestamp="2019-01-01T10:00:00Z",
    )
    ada = every_answer(fake, list="allimages", aiuser="Ada Lovelace", aisort="timestamp")
    assert "File:Adams signing.jpg" not in titles(ada[0], "allimages")
    info = api(fake, action="query", titles="File:Adams signing.jpg", prop="imageinfo")
    assert next(iter(info["query"]["pages"].values()))["imageinfo"][0]["user"] == "Bo Builder"
    log = every_answer(fake, list="logevents", letype="upload", leuser="Ada Lovelace")
    assert titles(log[0], "logevents") == [
        "File:Adams map.svg",
        "File:Adams in Lyon.jpg",
        "File:Adams signing.jpg",
    ]
    (overwrite,) = every_answer(fake, list="logevents", letype="upload", leuser="Bo_Builder")[0][
        "query"
    ]["logevents"][:1]
    assert overwrite["action"] == "overwrite" and overwrite["title"] == "File:Adams signing.jpg"
    assert overwrite["params"]["img_timestamp"] == "2019-01-01T10:00:00Z"
    assert len(overwrite["params"]["img_sha1"]) == 40


def test_the_upload_log_pages_with_lecontinue_newest_first(fake):
    answers = every_answer(
        fake, list="logevents", letype="upload", leuser="Ada Lovelace", lelimit=2
    )
    assert len(answers) == 2
    stamp, _, logid = answers[0]["continue"]["lecontinue"].partition("|")
    assert stamp == "20160101100000" and logid.isdigit()
    rows = [row for answer in answers for row in answer["query"]["logevents"]]
    assert [row["timestamp"] for row in rows] == [
        "2018-01-01T10:00:00Z",
        "2017-01-01T10:00:00Z",
        "2016-01-01T10:00:00Z",
    ]
    assert set(rows[0]) >= {"logid", "ns", "title", "pageid", "logpage", "params", "type"}
    assert rows[0]["type"] == "upload" and rows[0]["user"] == "Ada Lovelace"
    other = api(fake, action="query", list="logevents", letype="delete", leuser="Ada Lovelace")
    assert other["query"]["logevents"] == []


# --- the client ------------------------------------------------------------------------------

MANY = 520  # past one answer of 500


@pytest.fixture
def many(make_fake_commons):
    """A user with more uploads than one answer lists, all in one category."""
    files = {
        f"Upload {n:03d}.jpg": jpeg(
            n, user="Prolific", timestamp=f"2020-01-01T0{n // 60}:{n % 60:02d}:00Z"
        )
        for n in range(MANY)
    }
    files["Upload sound.ogg"] = {"generate": {"format": "OGG"}, "user": "Prolific"}
    world = {
        "categories": {"Many uploads": {"files": list(files)}},
        "files": files,
    }
    return make_fake_commons(world)


def test_uploads_listing_continues_through_every_answer_and_resumes(many):
    with commons_client(retry=NO_WAIT) as client:
        batches = list(uploads_listing(client, user="Prolific", width=250))
        assert [len(b.files) for b in batches] == [500, MANY - 500]
        assert batches[-1].continuation is None
        assert batches[0].continuation is not None
        assert sum(b.skipped.get("audio", 0) for b in batches) == 1
        resumed = list(
            uploads_listing(client, user="Prolific", start=batches[0].continuation, width=250)
        )
    assert [info.title for info in resumed[0].files] == [info.title for info in batches[1].files]
    titles_seen = [info.title for b in batches for info in b.files]
    assert len(set(titles_seen)) == MANY
    assert all(info.user == "Prolific" and info.thumb_url for b in batches for info in b.files)


def test_search_listing_continues_by_sroffset_and_counts_the_total(many):
    query = 'incategory:"Many uploads"'
    with commons_client(retry=NO_WAIT) as client:
        batches = list(search_listing(client, query=query, width=250))
        total = search_total(client, query=query)
        resumed = list(search_listing(client, query=query, start={"sroffset": "500"}))
    assert total == MANY + 1
    assert [len(b.files) for b in batches] == [500, MANY - 500]
    assert batches[0].continuation == {"sroffset": "500", "continue": "-||"}
    assert [i.pageid for i in resumed[0].files] == [i.pageid for i in batches[1].files]


def test_user_has_uploads_and_the_upload_log(fake):
    with commons_client(retry=NO_WAIT) as client:
        assert user_has_uploads(client, user="Ada Lovelace")
        assert not user_has_uploads(client, user="Nobody Here")
        events = list(upload_log(client, user="Ada Lovelace"))
        first = list(upload_log(client, user="Ada Lovelace", limit=1))
    assert [e.title for e in events] == [
        "File:Adams map.svg",
        "File:Adams in Lyon.jpg",
        "File:Adams signing.jpg",
    ]
    assert first == events[:1]
    assert events[0].action == "upload" and len(events[0].sha1) == 40


@pytest.mark.parametrize(
    ("given", "name"),
    [
        ("Ada Lovelace", "Ada Lovelace"),
        ("User:ada_lovelace", "Ada lovelace"),
        ("  user:Ada  Lovelace ", "Ada Lovelace"),
        ("https://commons.wikimedia.org/wiki/User:Ada_Lovelace", "Ada Lovelace"),
    ],
)
def test_a_user_name_is_normalised_as_mediawiki_does(given, name):
    assert normalise_user(given) == name


@pytest.mark.parametrize("given", ["", "User:", "Ada<3", "a@b", "x" * 256])
def test_a_user_name_no_account_can_have_is_refused(given):
    with pytest.raises(ValidationError):
        normalise_user(given)


# --- a third-party client ------------------------------------------------------------------


@pytest.mark.usefixtures("no_api_warnings")
def test_mwclient_reads_the_search_the_uploads_and_the_upload_log(fake):
    """mwclient, written against real MediaWiki, pages through the new list modules."""
    site = site_for(fake, signed=False)
    found = [hit["title"] for hit in site.search('incategory:"Douglas Adams" -intitle:map', 6)]
    assert found == ["File:Adams in Lyon.jpg", "File:Adams signing.jpg"]
    images = [image.name for image in site.allimages(limit=1)]  # generator=allimages, continued
    assert images == [
        "File:Adams in Lyon.jpg",
        "File:Adams map.svg",
        "File:Adams signing.jpg",
        "File:Someone else.jpg",
    ]
    log = site.logevents(type="upload", user="Ada Lovelace", limit=1)
    assert [event["title"] for event in log] == [
        "File:Adams map.svg",
        "File:Adams in Lyon.jpg",
        "File:Adams signing.jpg",
    ]
