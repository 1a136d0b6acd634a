"""Fixtures for the depicts writer's tests: a small Commons world, users logged in through
the stand-in's OAuth, approved faces on its files, and a loop that runs the writer.

Load with ``pytest_plugins = ["tests.depicts.writing"]`` (the stand-in's own plugin is loaded by
the root conftest).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Sequence
from typing import Any
from unittest import mock

import pytest
from cryptography.fernet import Fernet
from django.utils import timezone
from social_django.models import UserSocialAuth

from commons.oauth import PROVIDER, SEALED_FIELD, USERNAME_FIELD, seal_token
from depicts import tasks
from depicts.models import DepictsEdit, WriteThrottle
from depicts.services import approval, sending
from faces.models import Face, Image, ProjectImage
from fakecommons import FakeCommons
from tests.factories import FaceFactory

PERSON, REDIRECT, DELETED, OTHER = "Q76", "Q999", "Q404", "Q42"
FRESH = [f"Obama {number}.jpg" for number in range(1, 7)]
KNOWN = "Obama known.jpg"  # already depicts Q76 on Commons
NEVER_EDITED = "Obama never edited.jpg"  # no structured data yet
TESTER, BLOCKED = "WikiVisage Tester", "WikiVisage Blocked"
CHANGE_TAG = "wikivisage"


def _file(seed: int, **extra: Any) -> dict[str, Any]:
    return {"generate": {"format": "JPEG", "width": 64, "height": 48, "seed": seed}, **extra}


WORLD: dict[str, Any] = {
    "items": {
        PERSON: {"labels": {"en": "Barack Obama", "fr": "Barack Obama"}, "P31": ["Q5"]},
        OTHER: {"labels": {"en": "Douglas Adams"}, "P31": ["Q5"]},
        REDIRECT: {"redirect": PERSON},
        DELETED: {"missing": True},
    },
    "categories": {"Barack Obama": {"files": [*FRESH, KNOWN, NEVER_EDITED], "subcats": []}},
    "files": {
        **{name: _file(seed) for seed, name in enumerate(FRESH, start=1)},
        KNOWN: _file(50, depicts=[PERSON]),
        NEVER_EDITED: _file(51, mediainfo=False),
    },
    "users": {
        TESTER: {"id": 4242, "groups": ["user", "autoconfirmed"]},
        BLOCKED: {"id": 4244, "groups": ["user"], "blocked": True},
    },
    "change_tags": [CHANGE_TAG],
}


@pytest.fixture
def writer_settings(settings):
    """A token key, a fast throttle (the throttle has tests of its own) and the change tag."""
    settings.WIKIVISAGE_TOKEN_KEY = Fernet.generate_key().decode()
    settings.WIKIVISAGE_EDITS_PER_SECOND = 1000
    settings.WIKIVISAGE_CHANGE_TAG = CHANGE_TAG
    return settings


@pytest.fixture
def commons(make_fake_commons, writer_settings) -> FakeCommons:
    return make_fake_commons(copy.deepcopy(WORLD))


def log_in(server: FakeCommons, user, username: str = TESTER) -> None:
    """What a Wikimedia login leaves behind: the user's token, sealed at rest."""
    token = server.issue_access_token(username)
    sealed = seal_token({"oauth_token": token.key, "oauth_token_secret": token.secret})
    # uid is unique per provider; tests let several accounts share one wiki user.
    uid = f"{server.world.users[username].id}-{user.pk}"
    UserSocialAuth.objects.update_or_create(
        user=user,
        provider=PROVIDER,
        defaults={"uid": uid, "extra_data": {SEALED_FIELD: sealed, USERNAME_FIELD: username}},
    )


@pytest.fixture
def sender(commons, owner):
    """The project's owner, logged in through Wikimedia."""
    log_in(commons, owner)
    return owner


def image_of(server: FakeCommons, name: str, project=None, **fields: Any) -> Image:
    """The Image row of a file of the world (same page id), linked to ``project``."""
    page = server.world.file(name)
    pageid = page.pageid if page is not None else fields.pop("pageid")
    image, _created = Image.objects.get_or_create(
        pageid=pageid,
        defaults={"title": f"File:{name}", "width": 64, "height": 48, **fields},
    )
    if project is not None:
        ProjectImage.objects.get_or_create(
            project=project, image=image, defaults={"source": ProjectImage.Source.CATEGORY}
        )
    return image


def face_on(server: FakeCommons, name: str, project, **box: float) -> Face:
    return FaceFactory(image=image_of(server, name, project), index=0, **box)


def approve(server: FakeCommons, project, user, names: Iterable[str]) -> list[DepictsEdit]:
    faces = [face_on(server, name, project) for name in names]
    return approval.edits_approve(project=project, faces=faces, user=user)


def queue(project, user, edits: Sequence[DepictsEdit]) -> list[int]:
    """Confirm the edits as the send page does (their tasks run once the test commits)."""
    sending.edits_queue(project=project, user=user, edit_ids=[edit.pk for edit in edits])
    return [edit.pk for edit in edits]


def queue_only(project, user, edits: Sequence[DepictsEdit]) -> list[int]:
    """Confirm the edits but hand out no task: the test runs the writers itself."""
    with mock.patch.object(sending, "enqueue_writes"):
        return queue(project, user, edits)


def no_sleep(_seconds: float) -> None:
    """Backoff and throttle waits are tested on their own; here they would only slow."""


def send_all(
    edit_ids: Iterable[int],
    *,
    step: Callable[..., sending.SendOutcome] = sending.edit_send,
    max_runs: int = 10,
) -> dict[int, str]:
    """Run the writer on each edit, as the task queue would, until none asks to be retried.

    The queue runs a retried edit ``retry_in`` seconds later; here no time passes, so a pause
    Commons asked for (``ratelimited``, held in the user's throttle row) is over at once.
    """
    states = {}
    for edit_id in edit_ids:
        for _run in range(max_runs):
            outcome = step(edit_id=edit_id, sleep=no_sleep)
            if outcome.retry_in is None:
                break
            WriteThrottle.objects.update(next_allowed_at=timezone.now())
        states[edit_id] = outcome.state
    return states


WRITE_TASKS = {"depicts.write.edit": tasks.write_edit, "depicts.write.revert": tasks.write_revert}


def run_writes(queued: list[Any]) -> None:
    """Run the write tasks the code under test queued (``queued``, tests/conftest.py) as a
    worker would, by their names, a retry at once; until none is left. Other work is dropped."""
    while queued:
        job = queued.pop(0)
        if job.task in WRITE_TASKS:
            WRITE_TASKS[job.task].apply(args=job.args, throw=True)


def depicts(server: FakeCommons, name: str) -> list[str]:
    return server.depicts(server.mid(name))


def setclaims(server: FakeCommons) -> list[Any]:
    return [write for write in server.writes if write.action == "wbsetclaim"]


def worker_env(server: FakeCommons, settings, **extra: str) -> dict[str, str]:
    """What a real worker process needs to reach the stand-in and open the tokens."""
    env = dict(line.split("=", 1) for line in server.env_lines())
    env.update(
        WIKIVISAGE_TOKEN_KEY=settings.WIKIVISAGE_TOKEN_KEY,
        WIKIVISAGE_CHANGE_TAG=settings.WIKIVISAGE_CHANGE_TAG,
        WIKIVISAGE_EDITS_PER_SECOND=str(settings.WIKIVISAGE_EDITS_PER_SECOND),
        # The queue's backoff after a failed write, shortened: the tests wait for it for real.
        WIKIVISAGE_WRITE_RETRY_SECONDS="1",
        **extra,
    )
    return env
