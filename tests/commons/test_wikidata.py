"""Wikidata look-ups: parsers on real answers, then the real client over real HTTP."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError

from commons.client import wikidata_client
from commons.types import Person, PersonHit
from commons.wikidata import (
    PersonNotFound,
    get_people,
    get_person,
    label_languages,
    parse_person,
    parse_search,
    search_people,
)

REAL_API = Path(settings.FACES_DATA_DIR).parent / "real-api"


def real_response(name: str) -> dict:
    """The recorded response body of one sample in shared/data/real-api."""
    return json.loads((REAL_API / name).read_text())["response"]


# --- parsers on real answers ---------------------------------------------------------------


def test_a_real_human_with_label_and_description():
    person = parse_person(
        real_response("04-wbgetentities-fv2-item-Q42.json"), qid="Q42", languages=["nb", "en"]
    )
    assert person.qid == "Q42"
    assert person.is_human
    assert (person.label, person.label_language) == ("Douglas Adams", "en")
    assert person.description == "English writer and humorist"
    assert person.redirected_from is None


def test_label_follows_the_users_languages_in_order():
    response = real_response("04-wbgetentities-wikidata-Q6-missing-Q42-P31.json")
    person = parse_person(response, qid="Q42", languages=["ko", "nb", "en"])
    assert (person.label, person.label_language) == ("더글러스 애덤스", "ko")
    person = parse_person(response, qid="Q42", languages=["xx", "nb"])
    assert person.label_language == "nb"


def test_a_real_non_human_item_without_labels():
    person = parse_person(
        real_response("04-wbgetentities-wikidata-item-claims.json"),
        qid="Q3235026",
        languages=["en"],
    )
    assert not person.is_human
    assert person.label is None
    assert person.image is None


def test_a_real_redirect_gives_the_target_and_remembers_the_source():
    person = parse_person(
        real_response("04-wbgetentities-wikidata-redirect.json"), qid="Q32063953", languages=["fr"]
    )
    assert person.qid == "Q1040"
    assert person.redirected_from == "Q32063953"
    assert (person.label, person.label_language) == ("Karlsruhe", "fr")


@pytest.mark.parametrize(
    ("name", "qid"),
    [
        ("04-wbgetentities-fv2-missing.json", "Q10908976"),
        ("04-wbgetentities-wikidata-Q6-missing-Q42-P31.json", "Q6"),
    ],
)
def test_a_real_missing_item_is_person_not_found(name, qid):
    with pytest.raises(PersonNotFound) as caught:
        parse_person(real_response(name), qid=qid, languages=["en"])
    assert caught.value.qid == qid


def test_the_image_is_the_bare_file_name_of_p18():
    person = parse_person(
        real_response("04-wbgetentities-fv2-item-P18-claims.json"), qid="Q857243", languages=["en"]
    )
    assert person.image == "Gujo Gifu Japan.jpg"


def test_real_search_suggestions():
    hits = parse_search(real_response("08-wbsearchentities-abc.json"))
    assert hits[0].qid == "Q169889"
    assert hits[0].label == "American Broadcasting Company"
    assert hits[0].description == "American broadcast television network"
    (hit,) = parse_search(real_response("08-wbsearchentities-entityid-match.json"))
    assert (hit.qid, hit.label) == ("Q192465", "Chick Corea")
    assert parse_search(real_response("08-wbsearchentities-empty.json")) == []


def test_fallback_languages_come_after_the_users_own():
    assert label_languages(["nb", "en", "nb"]) == ["nb", "en", "mul"]


@pytest.mark.parametrize("bad", ["Q0", "P31", "42", "Q42|Q43", "Obama", ""])
def test_a_malformed_id_never_reaches_the_api(bad):
    with pytest.raises(ValidationError):
        get_person(None, qid=bad, languages=["en"])  # type: ignore[arg-type]


# --- look-ups over real HTTP, against the stand-in -----------------------------------------

PEOPLE_WORLD = {
    "items": {
        "Q76": {
            "labels": {"en": "Barack Obama", "fr": "Barack Obama"},
            "descriptions": {"en": "44th president of the United States"},
            "P31": ["Q5"],
            "P18": "President Barack Obama.jpg",
        },
        "Q42": {"labels": {"en": "Douglas Adams", "nb": "Douglas Adams"}, "P31": ["Q5"]},
        "Q144": {"labels": {"en": "dog"}, "P31": ["Q55983715"]},
        "Q999": {"redirect": "Q76"},
        "Q13": {"missing": True},
    },
    "categories": {},
    "files": {},
}


@pytest.fixture
def fake(make_fake_commons):
    return make_fake_commons(PEOPLE_WORLD)


@pytest.fixture
def client(fake):
    with wikidata_client() as client:
        yield client


def test_a_human_with_label_description_and_image(fake, client):
    person = get_person(client, qid="Q76", languages=["fr"])
    assert person == Person(
        qid="Q76",
        label="Barack Obama",
        label_language="fr",
        description="44th president of the United States",
        is_human=True,
        image="President Barack Obama.jpg",
        redirected_from=None,
        labels={"fr": "Barack Obama", "mul": "Barack Obama", "en": "Barack Obama"},
    )
    (request,) = fake.api_requests(site="wikidata")
    assert request.params["ids"] == "Q76"
    assert fake.api_requests(site="commons") == []


def test_a_label_missing_in_the_users_language_falls_back(client):
    person = get_person(client, qid="Q76", languages=["nb"])
    assert (person.label, person.label_language) == ("Barack Obama", "en")


def test_a_non_human_is_reported_as_such(client):
    person = get_person(client, qid="Q144", languages=["en"])
    assert not person.is_human
    assert person.label == "dog"


def test_a_redirect_is_followed_to_the_item_to_store(client):
    person = get_person(client, qid="Q999", languages=["en"])
    assert person.qid == "Q76"
    assert person.redirected_from == "Q999"
    assert person.is_human


@pytest.mark.parametrize("qid", ["Q13", "Q189999003"])
def test_a_deleted_or_unknown_item_is_person_not_found(client, qid):
    with pytest.raises(PersonNotFound) as caught:
        get_person(client, qid=qid, languages=["en"])
    assert caught.value.qid == qid


def test_many_people_are_read_in_one_request_each_as_one_person_is(fake, client):
    people = get_people(client, qids=["Q42", "q999", "Q144", "Q13", "Q189999003"], languages=["en"])
    assert list(people) == ["Q42", "Q999", "Q144", "Q13", "Q189999003"]
    assert people["Q42"] == get_person(client, qid="Q42", languages=["en"])
    assert (people["Q999"].qid, people["Q999"].redirected_from) == ("Q76", "Q999")
    assert not people["Q144"].is_human and people["Q144"].label == "dog"
    assert people["Q13"] is None and people["Q189999003"] is None  # deleted, unknown
    first, _single = fake.api_requests(site="wikidata")
    assert first.params["ids"] == "Q42|Q999|Q144|Q13|Q189999003"


def test_a_malformed_id_sends_no_request(fake, client):
    with pytest.raises(ValidationError):
        get_person(client, qid="Q76|Q42", languages=["en"])
    assert fake.api_requests() == []


def test_person_search_suggests_items(fake, client):
    hits = search_people(client, text="Douglas", language="nb", limit=5)
    assert hits[0] == PersonHit(qid="Q42", label="Douglas Adams", description="")
    (request,) = fake.api_requests(site="wikidata")
    assert (request.params["language"], request.params["limit"]) == ("nb", "5")


def test_an_empty_search_sends_no_request(fake, client):
    assert search_people(client, text="  ", language="en") == []
    assert fake.api_requests() == []


def test_person_carries_a_label_for_every_requested_language(fake_commons):
    with wikidata_client() as client:
        person = get_person(client, qid="Q76", languages=["fr", "nb", "en"])
    assert person.labels["en"] == "Barack Obama"
    assert set(person.labels) <= {"fr", "nb", "en", "es", "mul"}
