"""The seeding and benchmark commands, at a small size."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from benchmarks.commands import benchmark_review, seedproject
from faces.learner_figures import learner_summary
from faces.models import Answer, Face, Label, ReviewLease
from projects.models import Project

pytestmark = pytest.mark.django_db


def seed(faces: int) -> Project:
    out = StringIO()
    call_command(seedproject.Command(), faces=faces, owner="bench", stdout=out, stderr=StringIO())
    return Project.objects.get(pk=int(out.getvalue()))


def test_seedproject_creates_faces_and_the_learners_labels():
    project = seed(120)
    assert Face.objects.current().of_project(project).count() == 120
    model = Label.objects.filter(project=project, source=Label.Source.MODEL)
    assert model.count() == 120 and not model.filter(priority__isnull=True).exists()
    suggested = model.filter(verdict=Label.Verdict.YES).values_list("face__image_id", flat=True)
    assert len(list(suggested)) == len(set(suggested))  # at most one suggestion per photo
    summary = learner_summary(project)
    assert summary is not None and summary.histogram is not None
    assert sum(summary.histogram.unanswered) == 120


def test_benchmark_review_measures_and_takes_its_answers_back():
    project = seed(60)
    priorities = dict(
        Label.objects.filter(project=project, source=Label.Source.MODEL).values_list(
            "face_id", "priority"
        )
    )
    out = StringIO()
    call_command(benchmark_review.Command(), project=project.pk, rounds=20, stdout=out)
    assert "20 rounds: p50" in out.getvalue() and "p95" in out.getvalue()
    assert not Answer.objects.exists() and not ReviewLease.objects.exists()
    assert not Label.objects.filter(source=Label.Source.HUMAN).exists()
    after = dict(
        Label.objects.filter(project=project, source=Label.Source.MODEL).values_list(
            "face_id", "priority"
        )
    )
    assert after == priorities


def test_benchmark_review_takes_its_answers_back_when_a_round_fails(monkeypatch):
    """A round refused on the way (the answer rate limit's 429, say) stops the run, and the
    answers given before it are taken back all the same."""
    project = seed(60)
    real_client = benchmark_review._client

    def failing_after_five(user):
        client = real_client(user)
        post, calls = client.post, []

        def counted(*args, **kwargs):
            calls.append(1)
            response = post(*args, **kwargs)
            response.status_code = 429 if len(calls) > 5 else response.status_code
            return response

        client.post = counted
        return client

    monkeypatch.setattr(benchmark_review, "_client", failing_after_five)
    with pytest.raises(CommandError, match="round 5: HTTP 429"):
        call_command(benchmark_review.Command(), project=project.pk, rounds=20, stdout=StringIO())
    assert not Answer.objects.exists() and not ReviewLease.objects.exists()
    assert not Label.objects.filter(source=Label.Source.HUMAN).exists()
