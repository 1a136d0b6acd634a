"""Bad input always gets a clear answer, never a 500: every endpoint a browser or a script can
reach, fed malformed, oversized and wrongly typed values.

``raise_request_exception=False`` makes the test client return the 500 an unhandled error
would give a user, instead of raising it: the status is what is judged.
"""

from __future__ import annotations

import contextlib
import json
import random

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from commons.identifiers import file_reference

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


# Arrays or objects nested deeper than Python's recursion limit: json.loads raises
# RecursionError, not ValueError (a few hundred kilobytes, well under the upload limit).
DEEP_BODIES = ["[" * 100_000, '{"a":' * 100_000]


@pytest.mark.parametrize("body", DEEP_BODIES)
def test_json_nested_beyond_the_recursion_limit_is_refused_with_a_4xx(client, project, body):
    doors = [url for url, _fields in review_posts(project)]
    for url in [*doors, reverse("projects:file-list-check")]:
        response = client.post(url, body, content_type="application/json")
        assert 400 <= response.status_code < 500, (url, response.status_code)


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


# --- lists of files: any Unicode, any CSV ------------------------------------------------

# Digits to str.isdigit() that int() refuses or that are no ASCII number, addresses that
# urlsplit cannot read, surrogates, control and invisible characters, huge numbers.
NASTY_LINES = [
    "²",
    "①",
    "٣",  # an Arabic-Indic digit: int() reads it, Commons never gives such an id
    "12³",
    "https://commons.wikimedia.org/w/index.php?curid=²",
    "https://commons.wikimedia.org/w/index.php?curid=①&title=File:X.jpg",
    "https://commons.wikimedia.org/w/index.php?curid=" + "9" * 5000,
    "9" * 5000,
    "https://[::1",
    "https://commons.wikimedia.org:99999999/wiki/File:X.jpg",
    "https://commons.wikimedia.org/wiki/File:%ED%A0%80.jpg",
    "\u200b",
    "\ufeff\ufeff",
    "File:",
    "File:" + "é" * 200 + ".jpg",
    "Category:" + "\x7f",
    "\U0001f600.jpg",
    "ǅungla.jpg",
    "ß.jpg",
    "ﬃ.jpg",
    "%",
    "File:%%%.jpg",
    "\u2028",
    "a\u0085b.jpg",
]


def _new_list_project(client, text: str):
    data = {"qid": "Q76", "scope": "files", "file_list": text, "distance_threshold": 0.6}
    return client.post(reverse("projects:new"), {**data, "min_answers": 3})


@pytest.mark.parametrize("line", NASTY_LINES)
def test_any_unicode_line_of_a_file_list_gets_an_answer_never_a_500(client, line):
    check = client.post(
        reverse("projects:file-list-check"), {"file_list": line}, content_type="application/json"
    )
    assert check.status_code < 500, (line[:30], check.status_code)
    assert _new_list_project(client, line).status_code < 500


def test_random_unicode_lines_never_give_a_500():
    """A little fuzzing of the one parser every list line goes through."""
    rng = random.Random(20)
    alphabet = "0123456789²①٣:/?=&%#._- FileCategory\u200b\ufeff\ud800é\U0001f600\x00\x7f\n"
    for _attempt in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        for line in (text, "https://commons.wikimedia.org/w/index.php?curid=" + text):
            with contextlib.suppress(ValidationError):
                file_reference(line)


@pytest.mark.parametrize("name", ["list.csv", "list.tsv"])
def test_a_csv_cell_over_the_csv_limit_is_a_message_not_a_500(client, name):
    upload = '"' + "x" * (200 * 1024) + '"\nObama 1.jpg\n'
    check = client.post(
        reverse("projects:file-list-check"),
        {"upload": upload, "name": name},
        content_type="application/json",
    )
    assert check.status_code == 400
    assert "cannot be read" in check.json()["message"]

    file = SimpleUploadedFile(name, upload.encode(), content_type="text/csv")
    data = {"qid": "Q76", "scope": "files", "file_upload": file, "distance_threshold": 0.6}
    response = client.post(reverse("projects:new"), {**data, "min_answers": 3})
    assert response.status_code == 200
    assert "cannot be read" in response.content.decode()


def test_a_huge_member_id_is_a_404_not_a_500(client, project):
    url = reverse("projects:member-remove", args=[project.pk, int(HUGE)])
    response = client.post(url)
    assert response.status_code == 404
