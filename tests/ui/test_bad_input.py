"""Bad input always gets a clear answer, never a 500: every endpoint a browser or a script can
reach, fed malformed, oversized and wrongly typed values.

``raise_request_exception=False`` makes the test client return the 500 an unhandled error
would give a user, instead of raising it: the status is what is judged.
"""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db

HUGE = "9" * 40
GARBAGE_VALUES = [
    "",
    " ",
    "abc",
    "-1",
    "0",
    HUGE,
    "1e309",
    "NaN",
    "null",
    "[]",
    "{}",
    "\x00",
    "é" * 300,
]


@pytest.fixture
def client(owner) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(owner)
    return client


def review_posts(project) -> list[tuple[str, list[str]]]:
    """The review endpoints that need an object with these fields (undo needs none)."""
    pk = project.pk
    return [
        (reverse("projects:answer", args=[pk]), ["face", "verdict", "request_id", "exclude"]),
        (reverse("projects:pick", args=[pk]), ["image", "face", "request_id", "exclude"]),
        (reverse("projects:draw", args=[pk]), ["image", "left", "top", "width", "height"]),
        (reverse("projects:correct", args=[pk]), ["face", "left", "top", "width", "height"]),
    ]


@pytest.mark.parametrize("value", GARBAGE_VALUES)
def test_review_endpoints_refuse_bad_json_values_with_a_4xx(client, project, value):
    for url, fields in review_posts(project):
        body = json.dumps(dict.fromkeys(fields, value))
        response = client.post(url, body, content_type="application/json")
        assert 400 <= response.status_code < 500, (url, value, response.status_code)
    undo = reverse("projects:undo", args=[project.pk])
    body = json.dumps({"exclude": value})
    assert client.post(undo, body, content_type="application/json").status_code < 500


@pytest.mark.parametrize(
    "body", ["", "not json", "[1, 2]", "null", '{"face": {"nested": 1}}', "{" * 1000]
)
def test_review_endpoints_refuse_bodies_that_are_not_an_object(client, project, body):
    for url, _fields in review_posts(project):
        response = client.post(url, body, content_type="application/json")
        assert 400 <= response.status_code < 500, (url, body[:20], response.status_code)


@pytest.mark.parametrize("value", GARBAGE_VALUES)
def test_pages_and_forms_answer_bad_query_and_form_values_without_a_500(client, project, value):
    pk = project.pk
    gets = [
        (reverse("projects:next", args=[pk]), {"exclude": value}),
        (reverse("projects:suggestions", args=[pk]), {"score_min": value, "page": value}),
        (reverse("projects:suggestions", args=[pk]), {"source": value, "score_max": value}),
        (reverse("depicts:states", args=[pk]), {"ids": value}),
        (reverse("projects:detail", args=[pk]), {"page": value}),
    ]
    posts = [
        (reverse("projects:suggestions-approve", args=[pk]), {"face": value, "next": value}),
        (reverse("projects:suggestions-reject", args=[pk]), {"face": value}),
        (reverse("depicts:confirm", args=[pk]), {"edit": value}),
        (reverse("projects:settings", args=[pk]), {"distance_threshold": value, "state": value}),
        (reverse("projects:member-invite", args=[pk]), {"username": value, "role": value}),
    ]
    for url, params in gets:
        status = client.get(url, params).status_code
        assert status < 500, (url, value, status)
    for url, data in posts:
        status = client.post(url, data).status_code
        assert status < 500, (url, value, status)
