"""The new-project page's "who is depicted here already?": the people a category's files
depict (P180), read from the offline stand-in through the real client, counted per file,
non-humans left out, and offered to pick the person from."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from django.urls import reverse

from commons.client import commons_client, wikidata_client
from commons.depicted import depicted_in_category
from commons.wikidata import humans_among
from core.retry import RetryPolicy

pytestmark = pytest.mark.django_db

NO_WAIT = RetryPolicy(max_attempts=1)


def jpeg(seed: int, **extra: Any) -> dict[str, Any]:
    return {"generate": {"format": "JPEG", "width": 64, "height": 48, "seed": seed}, **extra}


WORLD: dict[str, Any] = {
    "items": {
        "Q42": {"labels": {"en": "Douglas Adams"}, "P31": ["Q5"]},
        "Q7": {"labels": {"en": "Jane Doe"}, "P31": ["Q5"]},
        "Q90": {"labels": {"en": "Paris"}, "P31": ["Q515"]},
        "Q8": {"labels": {"fr": "Sans nom anglais"}, "P31": ["Q5"]},
    },
    "categories": {
        "Book fair 1999": {
            "files": ["Fair 1.jpg", "Fair 2.jpg", "Fair 3.jpg", "Fair 4.jpg", "Fair 5.jpg"],
            "subcats": ["Book fair 1999 by day"],
        },
        "Book fair 1999 by day": {"files": ["Day 1.jpg"]},
        "Empty fair": {"files": []},
    },
    "files": {
        "Fair 1.jpg": jpeg(1, depicts=["Q42", "Q90"]),
        "Fair 2.jpg": jpeg(2, depicts=["Q42", "Q7"]),
        "Fair 3.jpg": jpeg(3, depicts=["Q42", "Q8"]),
        "Fair 4.jpg": jpeg(4, depicts=["Q90"]),
        "Fair 5.jpg": jpeg(5),
        "Day 1.jpg": jpeg(6, depicts=["Q7"]),
    },
}


@pytest.fixture
def fake(make_fake_commons):
    return make_fake_commons(copy.deepcopy(WORLD))


def test_the_items_a_category_s_own_files_depict_are_counted_once_a_file(fake):
    with commons_client(retry=NO_WAIT) as client:
        depicted = depicted_in_category(client, category="Category:Book_fair_1999")
    assert dict(depicted.counts) == {"Q42": 3, "Q90": 2, "Q7": 1, "Q8": 1}  # not its subcategory
    assert (depicted.files, depicted.complete) == (5, True)


def test_a_large_category_is_read_to_a_bound_and_says_so(fake):
    with commons_client(retry=NO_WAIT) as client:
        depicted = depicted_in_category(client, category="Book fair 1999", max_files=2)
    assert (depicted.files, depicted.complete) == (2, False)
    assert sum(depicted.counts.values()) == 4  # Fair 1 and Fair 2 only


def test_only_humans_are_kept_with_a_label_or_their_id(fake):
    with wikidata_client(retry=NO_WAIT) as client:
        humans = humans_among(
            client, qids=["Q42", "Q90", "q7 ", "Q8", "Q999999", "not an id"], languages=["en"]
        )
    # Q8 has no label in the languages asked (nor their fallbacks): its id stands for it.
    assert humans == {"Q42": "Douglas Adams", "Q7": "Jane Doe", "Q8": "Q8"}


def test_the_page_proposes_the_people_most_depicted_first(client_of, owner, fake):
    url = reverse("projects:depicted-people")
    data = client_of(owner).get(url, {"category": "Book fair 1999"}).json()
    assert [(p["qid"], p["files"]) for p in data["people"]] == [("Q42", 3), ("Q7", 1), ("Q8", 1)]
    assert data["people"][0]["text"] == "Douglas Adams (Q42), on 3 files"
    assert data["people"][1]["text"] == "Jane Doe (Q7), on 1 file"
    assert data["message"] == (
        "Already depicted on the 5 files of “Book fair 1999”; pick the person:"
    )


@pytest.mark.parametrize(
    ("category", "says"),
    [
        ("Empty fair", "“Empty fair” holds no file of its own to read."),
        ("Book fair 1999 by day", None),
    ],
)
def test_the_page_says_what_it_read(client_of, owner, fake, category, says):
    data = client_of(owner).get(reverse("projects:depicted-people"), {"category": category}).json()
    if says:
        assert data["message"] == says and data["people"] == []
    else:
        assert [p["qid"] for p in data["people"]] == ["Q7"]


def test_a_category_whose_files_depict_nobody_says_so(client_of, owner, make_fake_commons):
    world = copy.deepcopy(WORLD)
    world["categories"]["Landscapes"] = {"files": ["Fair 4.jpg", "Fair 5.jpg"]}
    make_fake_commons(world)
    data = client_of(owner).get(reverse("projects:depicted-people"), {"category": "Landscapes"})
    assert data.json()["message"] == "No person is depicted on the 2 files of “Landscapes” read."


def test_bad_input_and_an_unreachable_commons_get_a_clear_error(client_of, owner, settings):
    client = client_of(owner)
    url = reverse("projects:depicted-people")
    assert client.get(url).status_code == 400
    settings.COMMONS_API_URL = "http://127.0.0.1:9/w/api.php"  # nothing listens there
    answer = client.get(url, {"category": "Book fair 1999"})
    assert answer.status_code == 503 and "Commons" in answer.json()["message"]


def test_only_a_logged_in_contributor_may_ask(client, fake):
    answer = client.get(reverse("projects:depicted-people"), {"category": "Book fair 1999"})
    assert answer.status_code == 302


def test_the_new_project_page_offers_the_look_up(client_of, owner):
    page = client_of(owner).get(reverse("projects:new")).content.decode()
    assert 'id="depicted-button"' in page and reverse("projects:depicted-people") in page


def test_the_look_up_stops_reading_when_its_budget_is_spent(fake, monkeypatch):
    # A web request's look-up: no wbgetentities starts after the budget; what was read counts.
    monkeypatch.setattr("commons.depicted.IDS_PER_REQUEST", 2)  # 5 files: three batches
    ticks = iter([0.0, 0.5, 5.0])  # the deadline set; the first batch starts; no second
    with commons_client(retry=NO_WAIT) as client:
        depicted = depicted_in_category(
            client, category="Book fair 1999", budget_seconds=3.0, clock=lambda: next(ticks)
        )
    assert (depicted.files, depicted.complete) == (2, False)
    assert sum(depicted.counts.values()) == 4  # Fair 1 and Fair 2
    assert len(fake.api_requests(action="wbgetentities")) == 1
