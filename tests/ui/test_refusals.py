"""Expected refusals: the site's own scripts (``X-Expect-Refusals: 1``) get a JSON refusal as
a 200 with its status in ``X-Refused-Status``; every other client keeps the real status."""

from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

SCRIPT = {"HTTP_X_EXPECT_REFUSALS": "1"}


def test_a_json_refusal_keeps_its_status_for_other_clients(client_of, outsider):
    response = client_of(outsider).get(reverse("projects:person"), {"qid": "dog"})
    assert response.status_code == 400 and "X-Refused-Status" not in response


def test_a_json_refusal_answers_the_pages_script_with_its_status_in_a_header(client_of, outsider):
    response = client_of(outsider).get(reverse("projects:person"), {"qid": "dog"}, **SCRIPT)
    assert response.status_code == 200
    assert response["X-Refused-Status"] == "400"
    assert "X-Expect-Refusals" in response["Vary"]
    assert response.json()["error"] == "invalid"


def test_a_page_that_is_not_json_keeps_its_status(client_of, outsider):
    response = client_of(outsider).get(reverse("projects:detail", args=[999999]), **SCRIPT)
    assert response.status_code == 404 and "X-Refused-Status" not in response
