"""An answer round (answer.json, whose response carries the next face) costs the same
whatever the project's size: the same queries, and no query that reads the whole project.

Issue #22 (50 contributors on 2 cores) and #23 (answer → next face at 1M faces): the work
of a round must not grow with the project. SQLite counts the work of its statements (the
virtual machine's steps, ``set_progress_handler``), so a scan shows as work that grows.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from benchmarks.commands import seedproject
from benchmarks.commands.benchmark_review import _client
from faces.models import Face, Image
from projects.models import Project

pytestmark = pytest.mark.django_db

ROUNDS = 6
# VM steps between two calls of the progress handler: a unit of work, about a row read.
STEP = 100


def seed(faces: int) -> Project:
    out = StringIO()
    call_command(seedproject.Command(), faces=faces, owner="bench", stdout=out, stderr=StringIO())
    project = Project.objects.get(pk=int(out.getvalue()))
    Project.objects.filter(pk=project.pk).update(rescore_pending=True)  # no learner run
    return project


@contextmanager
def sqlite_work() -> Iterator[list[int]]:
    """Counts SQLite's virtual machine steps (in units of STEP) while the block runs; on
    another database, nothing."""
    if connection.vendor != "sqlite":
        yield [0]
        return
    connection.ensure_connection()
    raw: Any = connection.connection
    counted = [0]

    def tick() -> int:
        counted[0] += 1
        return 0  # go on

    raw.set_progress_handler(tick, STEP)
    try:
        yield counted
    finally:
        raw.set_progress_handler(None, STEP)


def answer_rounds(project: Project) -> tuple[list[int], list[int]]:
    """Queries and SQLite work of each of ROUNDS answers, as the classify page sends them."""
    client = _client(project.owner)
    url = reverse("projects:answer", args=[project.pk])
    shown = client.get(reverse("projects:next", args=[project.pk]), secure=True).json()
    question = shown["question"]
    queries, work = [], []
    for number in range(ROUNDS):
        body = {
            "face": question["face"]["id"],
            "verdict": ("yes", "no")[number % 2],
            "request_id": str(uuid.uuid4()),
            "exclude": [],
        }
        with CaptureQueriesContext(connection) as captured, sqlite_work() as steps:
            response = client.post(url, body, content_type="application/json", secure=True)
        assert response.status_code == 200, response.content
        queries.append(len(captured))
        work.append(steps[0])
        question = response.json()["next"]
    return queries, work


@pytest.mark.skipif(connection.vendor != "sqlite", reason="counts SQLite's own work")
def test_an_answer_round_does_the_same_work_in_a_small_and_a_large_project():
    small_queries, small_work = answer_rounds(seed(60))
    large_queries, large_work = answer_rounds(seed(3000))
    assert small_queries == large_queries
    # A round reads a few rows through indexes; reading every face of the project (one
    # scan of 3000 faces is some 300 units here) would show at once.
    assert max(large_work) < 2 * max(small_work) + 50, (small_work, large_work)


@pytest.mark.django_db(transaction=True)  # as in production: no test transaction around
def test_an_answer_round_takes_a_fixed_number_of_queries():
    queries, _work = answer_rounds(seed(60))
    # The session, the user, the project, the face (its place in the project is read with
    # it: the service trusts that read); the answer's transaction (answer, label, identical
    # files, review order, lease: no savepoint, and no request id read before it, a repeat
    # fails its unique key); the flag read; the next face (skips, held: the reviewer's
    # leases only, the priority order and its check, the face, its lease: one INSERT, no
    # transaction around it; the question: the photo's faces, their labels). 25 before
    # issue #22's second pass: savepoints, the repeat read, the place read twice. Issue #23
    # prepared the reads once per process (core.prepared): the same 20 statements.
    assert queries == [queries[0]] * ROUNDS
    assert queries[0] == 20, queries


def test_an_answer_on_a_file_with_an_identical_copy_still_answers_the_copy():
    project = seed(60)
    face = Face.objects.current().of_project(project).order_by("pk").first()
    assert face is not None
    twin_image = Image.objects.filter(project_links__project=project).exclude(pk=face.image_id)
    twin = twin_image.order_by("pk").first()
    assert twin is not None
    # An identical file: same SHA1, the same boxes (faces.services.detect._copies).
    Image.objects.filter(pk=twin.pk).update(sha1=face.image.sha1)
    Face.objects.filter(image=twin).delete()
    copy = Face.objects.create(
        image=twin,
        index=0,
        left=face.left,
        top=face.top,
        width=face.width,
        height=face.height,
        encoding=face.encoding,
    )
    client = _client(project.owner)
    response = client.post(
        reverse("projects:answer", args=[project.pk]),
        {"face": face.pk, "verdict": "yes", "request_id": str(uuid.uuid4()), "exclude": []},
        content_type="application/json",
        secure=True,
    )
    assert response.status_code == 200, response.content
    human = project.labels.filter(source="human").values_list("face_id", "verdict")
    assert set(human) == {(face.pk, "yes"), (copy.pk, "yes")}
