"""Depicts statements and bootstrap search: parsers on real answers, then real HTTP."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django.conf import settings
from requests_oauthlib import OAuth1

from commons.client import commons_client
from commons.mediainfo import (
    depicts_claim,
    depicts_only,
    fetch_depicts,
    new_statement_id,
    parse_entities,
    pct_region,
    remove_claims,
    set_depicts_claim,
    statement_exists,
)
from commons.search import parse_hits, search_depicting
from core.retry import RetryPolicy

REAL_API = Path(settings.FACES_DATA_DIR).parent / "real-api"


def real_response(name: str) -> dict:
    """The recorded response body of one sample in shared/data/real-api."""
    return json.loads((REAL_API / name).read_text())["response"]


# --- parsers on real answers ---------------------------------------------------------------


def test_depicts_of_a_real_mediainfo_entity():
    statements = parse_entities(real_response("04-wbgetentities-mediainfo-P180-commons.json"))
    depicts = depicts_only(statements[74698470])
    assert [s.qid for s in depicts] == ["Q192465", "Q453406"]
    assert depicts[0].id == "M74698470$c598e90e-44b9-6214-64aa-367e4b2415b6"
    assert depicts[0].rank == "normal"
    assert len(statements[74698470]) > len(depicts)  # other properties are read too


def test_depicts_of_a_real_2025_entity():
    entity = real_response("04-wbgetentities-mediainfo-P180-entity-2025.json")
    statements = parse_entities({"entities": {entity["id"]: entity}})
    assert "Q17199752" in {s.qid for s in depicts_only(statements[566797])}


@pytest.mark.parametrize(
    ("name", "pageid"),
    [
        ("04-wbgetentities-mediainfo-empty-statements-array.json", 65057),
        ("04-wbgetentities-mediainfo-doc-example.json", 83198284),
        ("04-wbgetentities-mediainfo-missing-mid-commons.json", 91629437),
        ("04-wbgetentities-mediainfo-missing-by-title-commons.json", 4215516),
    ],
)
def test_empty_array_and_missing_mediainfo_mean_no_statements(name, pageid):
    assert parse_entities(real_response(name)) == {pageid: []}


def test_statements_under_the_claims_key_are_read_too():
    entity = real_response("04-wbgetentities-mediainfo-P180-commons.json")["entities"]["M74698470"]
    entity = {**entity, "claims": entity.pop("statements")}
    statements = parse_entities({"entities": {"M74698470": entity}})
    assert len(depicts_only(statements[74698470])) == 2


def test_the_written_claim_has_the_shape_of_a_real_p180_statement():
    real = real_response("04-wbgetentities-mediainfo-P180-commons.json")["entities"]["M74698470"]
    real_statement = real["statements"]["P180"][0]
    claim = depicts_claim(statement_id="M74698470$abc", qid="Q192465", region=None)
    assert claim["mainsnak"]["datavalue"] == real_statement["mainsnak"]["datavalue"]
    assert {k: claim[k] for k in ("type", "rank")} == {
        k: real_statement[k] for k in ("type", "rank")
    }
    assert "qualifiers" not in claim


def test_a_region_becomes_a_p2677_pct_qualifier():
    claim = depicts_claim(statement_id="M1$abc", qid="q76", region=(0.1, 0.25, 0.123456, 0.5))
    (snak,) = claim["qualifiers"]["P2677"]
    assert snak["datavalue"] == {"type": "string", "value": "pct:10,25,12.35,50"}
    assert claim["qualifiers-order"] == ["P2677"]
    assert claim["mainsnak"]["datavalue"]["value"]["id"] == "Q76"
    parsed = parse_entities({"entities": {"M1": {"id": "M1", "statements": {"P180": [claim]}}}})
    assert parsed[1][0].region == "pct:10,25,12.35,50"


@pytest.mark.parametrize("region", [(0.5, 0.5, 0.6, 0.1), (-0.1, 0, 0.5, 0.5), (0, 0, 0, 0.5)])
def test_a_box_outside_the_image_is_refused(region):
    with pytest.raises(ValueError, match="inside the image"):
        pct_region(region)


def test_full_image_region():
    assert pct_region((0.0, 0.0, 1.0, 1.0)) == "pct:0,0,100,100"


def test_statement_ids_are_mediainfo_guid_pairs():
    first, second = new_statement_id(42), new_statement_id(42)
    pattern = r"M42\$[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
    assert re.fullmatch(pattern, first)
    assert first != second


def test_search_hits_of_a_real_commons_search():
    (hit,) = parse_hits(real_response("03-search-commons-srnamespace6.json"))
    assert hit.pageid == 60008323
    assert hit.title.startswith("File:Parboiled rice")


# --- reads and writes over real HTTP, against the stand-in ---------------------------------

CROWD = 520  # more files depicting Q76 than one search answer holds (srlimit 500)


def generated(seed: int) -> dict:
    return {"generate": {"format": "JPEG", "seed": seed}}


MEDIA_WORLD = {
    "items": {
        "Q76": {"labels": {"en": "Barack Obama"}, "P31": ["Q5"]},
        "Q42": {"labels": {"en": "Douglas Adams"}, "P31": ["Q5"]},
    },
    "categories": {},
    "files": {
        "Depicted.jpg": {
            **generated(1),
            "depicts": ["Q76", {"item": "Q42", "region": "pct:10,10,20,30", "rank": "preferred"}],
        },
        "Plain.jpg": generated(2),
        "Never edited.jpg": {**generated(3), "mediainfo": False},
        **{f"Crowd {n:03}.jpg": {**generated(10 + n), "depicts": ["Q76"]} for n in range(CROWD)},
    },
    "change_tags": ["wikivisage"],
}


@pytest.fixture
def fake(make_fake_commons):
    return make_fake_commons(MEDIA_WORLD)


@pytest.fixture
def client(fake):
    with commons_client(retry=RetryPolicy(base_delay=0.01)) as client:
        yield client


@pytest.fixture
def writer(fake):
    token = fake.issue_access_token()
    auth = OAuth1(
        settings.SOCIAL_AUTH_MEDIAWIKI_KEY,
        client_secret=settings.SOCIAL_AUTH_MEDIAWIKI_SECRET,
        resource_owner_key=token.key,
        resource_owner_secret=token.secret,
    )
    with commons_client(auth=auth, retry=RetryPolicy(base_delay=0.01)) as client:
        yield client


def pageid_of(fake, name: str) -> int:
    return int(fake.mid(name)[1:])


def write_depicts(fake, writer, name: str, **overrides):
    pageid = pageid_of(fake, name)
    arguments = {
        "pageid": pageid,
        "qid": "Q76",
        "statement_id": new_statement_id(pageid),
        "region": (0.1, 0.2, 0.3, 0.4),
        "summary": "Depicts Barack Obama (face approved in WikiVisage)",
        "tags": (),
        **overrides,
    }
    return set_depicts_claim(writer, **arguments)


def test_existing_depicts_are_read_with_region_and_rank(fake, client):
    names = ["Depicted.jpg", "Plain.jpg", "Never edited.jpg"]
    depicts = fetch_depicts(client, pageids=[pageid_of(fake, n) for n in names])
    on_depicted = depicts[pageid_of(fake, "Depicted.jpg")]
    assert [(s.qid, s.rank, s.region) for s in on_depicted] == [
        ("Q76", "normal", None),
        ("Q42", "preferred", "pct:10,10,20,30"),
    ]
    assert depicts[pageid_of(fake, "Plain.jpg")] == []
    assert depicts[pageid_of(fake, "Never edited.jpg")] == []


def test_a_file_never_edited_comes_back_as_the_real_api_says(fake, client):
    mid = fake.mid("Never edited.jpg")
    response = client.get({"action": "wbgetentities", "ids": mid, "props": "claims"})
    # As in real-api/04-wbgetentities-mediainfo-missing-mid-commons.json.
    assert response["entities"][mid] == {"id": mid, "missing": ""}


def test_depicts_are_read_50_entities_per_request(fake, client):
    pageids = [pageid_of(fake, f"Crowd {n:03}.jpg") for n in range(120)]
    depicts = fetch_depicts(client, pageids=pageids)
    assert all([s.qid for s in depicts[pageid]] == ["Q76"] for pageid in pageids)
    assert [len(r.params["ids"].split("|")) for r in fake.api_requests()] == [50, 50, 20]


def test_a_depicts_write_lands_once_with_its_region_summary_and_tags(fake, writer):
    result = write_depicts(fake, writer, "Plain.jpg", tags=("wikivisage",))
    assert result.created
    assert isinstance(result.revision, int)
    mid = fake.mid("Plain.jpg")
    (statement,) = fake.statements(mid, "P180")
    assert statement["id"] == result.statement_id
    assert statement["mainsnak"]["datavalue"]["value"]["id"] == "Q76"
    assert statement["rank"] == "normal"
    assert statement["qualifiers"]["P2677"][0]["datavalue"]["value"] == "pct:10,20,30,40"
    (write,) = fake.writes_to(mid)
    assert write.summary == "Depicts Barack Obama (face approved in WikiVisage)"
    assert write.tags == ("wikivisage",)
    assert write.user == "WikiVisage Tester"


def test_a_write_without_a_region_has_no_qualifier(fake, writer):
    write_depicts(fake, writer, "Plain.jpg", region=None)
    (statement,) = fake.statements(fake.mid("Plain.jpg"), "P180")
    assert "P2677" not in (statement.get("qualifiers") or {})


def test_a_file_without_mediainfo_gets_its_first_statement(fake, writer, client):
    result = write_depicts(fake, writer, "Never edited.jpg")
    depicts = fetch_depicts(client, pageids=[pageid_of(fake, "Never edited.jpg")])
    assert [s.id for s in depicts[pageid_of(fake, "Never edited.jpg")]] == [result.statement_id]


def test_a_retried_task_finds_its_statement_and_writes_nothing(fake, writer):
    first = write_depicts(fake, writer, "Plain.jpg")
    again = write_depicts(fake, writer, "Plain.jpg", statement_id=first.statement_id)
    assert (first.created, again.created) == (True, False)
    assert len(fake.api_requests(action="wbsetclaim")) == 1
    assert len(fake.statements(fake.mid("Plain.jpg"), "P180")) == 1


def test_a_write_whose_answer_was_lost_is_checked_not_sent_again(fake, writer):
    fake.inject("drop_after_write", action="wbsetclaim")
    result = write_depicts(fake, writer, "Plain.jpg")
    assert result.created
    mid = fake.mid("Plain.jpg")
    assert [s["id"] for s in fake.statements(mid, "P180")] == [result.statement_id]
    assert len(fake.writes_to(mid)) == 1
    actions = [r.action for r in fake.api_requests() if r.action != "query"]
    assert actions == ["wbgetentities", "wbsetclaim", "wbgetentities"]


def test_a_throttled_write_is_retried_without_duplicating(fake, writer):
    fake.inject("actionthrottled", action="wbsetclaim")
    write_depicts(fake, writer, "Plain.jpg")
    assert len(fake.statements(fake.mid("Plain.jpg"), "P180")) == 1
    assert len(fake.api_requests(action="wbsetclaim")) == 2


def test_a_statement_id_of_another_file_is_refused_before_any_request(fake, writer):
    with pytest.raises(ValueError, match="not a statement id"):
        write_depicts(fake, writer, "Plain.jpg", statement_id=new_statement_id(1))
    assert fake.api_requests() == []


def test_removed_statements_are_gone_and_a_second_removal_does_nothing(fake, writer):
    pageid = pageid_of(fake, "Plain.jpg")
    written = write_depicts(fake, writer, "Plain.jpg")
    arguments = {"pageid": pageid, "statement_ids": [written.statement_id], "summary": "undo"}
    assert remove_claims(writer, **arguments) == [written.statement_id]
    assert fake.statements(fake.mid("Plain.jpg"), "P180") == []
    assert remove_claims(writer, **arguments) == []
    assert len(fake.api_requests(action="wbremoveclaims")) == 1
    assert not statement_exists(writer, pageid=pageid, statement_id=written.statement_id)


def test_bootstrap_search_finds_the_files_depicting_a_person(fake, client):
    hits = list(search_depicting(client, qid="Q42"))
    assert [(hit.pageid, hit.title) for hit in hits] == [
        (pageid_of(fake, "Depicted.jpg"), "File:Depicted.jpg")
    ]
    (request,) = fake.api_requests()
    assert request.params["srsearch"] == "haswbstatement:P180=Q42"
    assert request.params["srnamespace"] == "6"


def test_bootstrap_search_follows_continuation(fake, client):
    hits = list(search_depicting(client, qid="q76"))
    assert len(hits) == len({hit.pageid for hit in hits}) == CROWD + 1
    first, second = fake.api_requests()
    assert "sroffset" not in first.params
    assert second.params["sroffset"] == "500"
