"""``benchmark_review --project ID --rounds 200``: server time of answer → next face.

Each round is what the classify page sends: one POST of an answer, whose response carries
the next question (chosen by the learner's order, leased to the reviewer). It goes through
the whole Django stack (middleware, session, access check, view, services, selectors, JSON)
with the test client, in this process, against the configured database. Prints p50/p95.

The answers are taken back afterwards (answers, labels, leases and review priorities are
restored) unless ``--keep`` is given, so the same project can be measured again.
"""

from __future__ import annotations

import statistics
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from faces.models import Answer, Face, Label, ReviewLease
from projects.models import Project

VERDICTS = ("yes", "no", "no", "no", "skip")


class Command(BaseCommand):
    help = "Time answer → next-face round trips on a project (see seedproject)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--project", type=int, required=True)
        parser.add_argument("--rounds", type=int, default=200)
        parser.add_argument("--user", help="reviewer's user name (default: the owner)")
        parser.add_argument("--keep", action="store_true", help="keep the answers given")

    def handle(self, *args: Any, **options: Any) -> None:
        project = Project.objects.filter(pk=options["project"]).first()
        if project is None:
            raise CommandError(f"No project {options['project']}.")
        user = _reviewer(project, options["user"])
        faces = Face.objects.current().of_project(project).count()
        self.stdout.write(f"project {project.pk}: {faces} faces, {connection.vendor}")
        # The learner is not measured here: mark a run as queued so answers queue none.
        pending = project.rescore_pending
        Project.objects.filter(pk=project.pk).update(rescore_pending=True)
        answered: dict[int, float | None] = {}  # face → its review priority before the answer
        try:
            measured = _rounds(project, user, options["rounds"], answered)
        finally:
            # Also when a round fails (a 429 from the answer rate limit, say): the answers
            # given so far are taken back all the same.
            Project.objects.filter(pk=project.pk).update(rescore_pending=pending)
            if not options["keep"]:
                _take_back(project, user, answered)
        self._report(measured)

    def _report(self, measured: Measured) -> None:
        if not measured.timings:
            raise CommandError("No question was served: nothing to measure.")
        ms = sorted(t * 1000 for t in measured.timings)
        centiles = statistics.quantiles(ms, n=100, method="inclusive")
        self.stdout.write(
            f"{len(ms)} rounds: p50 {centiles[49]:.1f} ms, p95 {centiles[94]:.1f} ms, "
            f"p99 {centiles[98]:.1f} ms, max {ms[-1]:.1f} ms, mean {statistics.fmean(ms):.1f} ms; "
            f"{statistics.median(measured.queries):.0f} queries per round; this process's CPU "
            f"{statistics.fmean(measured.cpu) * 1000:.1f} ms per round"
        )


@dataclass
class Measured:
    timings: list[float] = field(default_factory=list)  # wall clock, seconds
    # This process's CPU, seconds: what the round costs the web tier, whatever else runs.
    cpu: list[float] = field(default_factory=list)
    queries: list[int] = field(default_factory=list)


def _reviewer(project: Project, username: str | None) -> Any:
    if not username:
        return project.owner
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise CommandError(f"No user named {username!r}.")
    return user


def _client(user: Any) -> Client:
    # Plain HTTP on a made-up host: tell Django it came through the TLS proxy, as in production.
    client = Client(HTTP_HOST="localhost", HTTP_X_FORWARDED_PROTO="https")
    client.force_login(user)
    return client


def _rounds(
    project: Project, user: Any, rounds: int, answered: dict[int, float | None]
) -> Measured:
    """Answer ``rounds`` faces the way the page does, holding one question in reserve;
    ``answered`` records each face answered with its review priority before the answer."""
    client = _client(user)
    answer_url = reverse("projects:answer", args=[project.pk])
    first = client.get(reverse("projects:next", args=[project.pk]), secure=True).json()
    shown = first["question"]
    reserve = (
        client.get(
            reverse("projects:next", args=[project.pk]),
            {"exclude": shown["face"]["id"]},
            secure=True,
        ).json()["question"]
        if shown
        else None
    )
    measured = Measured()
    model = Label.objects.filter(project=project, source=Label.Source.MODEL)
    for number in range(rounds):
        if shown is None:
            break
        answered[shown["face"]["id"]] = (
            model.filter(face_id=shown["face"]["id"]).values_list("priority", flat=True).first()
        )
        body = {
            "face": shown["face"]["id"],
            "verdict": VERDICTS[number % len(VERDICTS)],
            "request_id": str(uuid.uuid4()),
            "exclude": [reserve["face"]["id"]] if reserve else [],
        }
        with CaptureQueriesContext(connection) as captured:
            started, cpu = time.perf_counter(), time.process_time()
            response = client.post(answer_url, body, content_type="application/json", secure=True)
            measured.timings.append(time.perf_counter() - started)
            measured.cpu.append(time.process_time() - cpu)
        if response.status_code != 200:
            raise CommandError(f"round {number}: HTTP {response.status_code} {response.content!r}")
        measured.queries.append(len(captured))
        shown, reserve = reserve, response.json()["next"]
    return measured


def _take_back(project: Project, user: Any, answered: dict[int, float | None]) -> None:
    """Undo the benchmark's answers and give the faces their place in the review order back."""
    faces = list(answered)
    Answer.objects.filter(project=project, user=user, face_id__in=faces).delete()
    Label.objects.filter(project=project, source=Label.Source.HUMAN, face_id__in=faces).delete()
    ReviewLease.objects.filter(project=project, user=user).delete()
    model = Label.objects.filter(project=project, source=Label.Source.MODEL)
    for face_id, priority in answered.items():
        model.filter(face_id=face_id).update(priority=priority)
