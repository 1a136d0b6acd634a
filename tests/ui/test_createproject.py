"""``createproject`` follows the same rules as the new-project page (one service for both)."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from projects.models import Project
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def create(**options: str) -> str:
    out = StringIO()
    call_command("createproject", stdout=out, stderr=StringIO(), **options)
    return out.getvalue().strip()


def test_a_project_is_created_for_a_human_and_an_existing_category(fake_commons, queued):
    UserFactory(username="alice")
    project = Project.objects.get(pk=int(create(qid="Q76", category="Barack Obama", owner="alice")))
    assert (project.qid, project.category, project.owner.username) == (
        "Q76",
        "Barack Obama",
        "alice",
    )


@pytest.mark.parametrize(
    ("qid", "category", "refusal"),
    [
        ("Q144", "Barack Obama", "is not a human"),
        ("Q76", "No such category at all", "There is no category"),
    ],
)
def test_what_the_page_refuses_the_command_refuses(fake_commons, qid, category, refusal):
    UserFactory(username="alice")
    with pytest.raises(CommandError, match=refusal):
        create(qid=qid, category=category, owner="alice")
    assert not Project.objects.exists()


def test_an_unknown_owner_is_refused(fake_commons):
    with pytest.raises(CommandError, match="No user named"):
        create(qid="Q76", category="Barack Obama", owner="nobody")
