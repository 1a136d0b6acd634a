"""evaluate_learning's groups of people through the app (``benchmarks.evaluation.in_app_people``):
one "who is this?" answer is one step in every person's project, each project ends up with
the truth, and the command sets the group beside its people alone as the simulation does."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command

from benchmarks.commands import evaluate_learning
from benchmarks.evaluation import dataset, in_app, in_app_people, reviewer
from benchmarks.evaluation.reviewer import ProjectSettings, Start
from faces.models import Answer, Label
from projects.models import Project, ProjectGroup
from tests.test_evaluation import (
    REFERENCE,
    TINY_IDENTITIES,
    tiny_manifest,
    tiny_scenarios,
    tiny_set,
)


def run_groups(*args: str) -> str:
    out = io.StringIO()
    call_command(
        evaluate_learning.Command(), *args, "--encodings", str(REFERENCE),
        stdout=out, stderr=io.StringIO(),
    )  # fmt: skip
    return out.getvalue()


def human_labels(project: Project, verdict: str) -> list[int]:
    labels = Label.objects.filter(project=project, source=Label.Source.HUMAN, verdict=verdict)
    return list(labels.values_list("face_id", flat=True))


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("start", [Start.PORTRAIT, Start.NOTHING])
def test_each_answer_of_the_group_is_one_step_in_every_project_and_tells_the_truth(start):
    table = dataset.load_precomputed(REFERENCE).restricted_to({name for name, _ in tiny_set()})
    scenarios = tiny_scenarios()
    with (
        in_app.world_in_database(table) as world,
        in_app_people.group_in_database(
            world, scenarios, start=start, seed=0, project_settings=ProjectSettings.defaults()
        ) as group,
    ):
        # On past the target until every face was asked: the couple's two faces too.
        together = in_app_people.drive_group(world, group, at_most=30, at_least=30)
        assert together.answers_to_target is not None
        assert together.answers == 18
        assert set(together.reached) == set(TINY_IDENTITIES)
        steps = Answer.objects.filter(project__in=group.projects)
        answered = steps.exclude(verdict=Label.Verdict.SKIP)
        # One timestamp a step, one answer in each of the three projects.
        assert answered.values("created_at").distinct().count() == together.answers
        assert answered.count() == 3 * together.answers
        skipped = steps.filter(verdict=Label.Verdict.SKIP).values("created_at").distinct()
        assert skipped.count() == together.questions - together.answers == 2
        for project, scenario in zip(group.projects, scenarios, strict=True):
            yes = [world.row_of[face] for face in human_labels(project, Label.Verdict.YES)]
            no = [world.row_of[face] for face in human_labels(project, Label.Verdict.NO)]
            assert len(yes) + len(no) == together.answers
            assert (scenario.truth[yes] == reviewer.PERSON).all()
            assert (scenario.truth[no] == reviewer.OTHER).all()
    assert not ProjectGroup.objects.exists() and not Project.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_evaluate_learning_sets_a_group_beside_its_people_alone_as_the_simulation_does(
    tmp_path,
):
    manifest = tiny_manifest(tmp_path, tiny_set())
    common = ["--manifest", str(manifest), "--people", "3", "--groups", "1", "--answers", "20"]
    text = run_groups(*common).splitlines()
    assert text[0].startswith("app path, groups of 3 people, start from portrait")
    assert text[1].startswith(f"group 0 seed 0: {', '.join(sorted(TINY_IDENTITIES))} (20 faces)")
    assert " together " in text[1] and ", alone " in text[1] and ", ratio " in text[1]
    assert text[-1].startswith("median together ")
    [app] = [json.loads(line) for line in run_groups(*common, "--json").splitlines()]
    [memory] = [
        json.loads(line)
        for line in run_groups(*common, "--json", "--path", "simulation").splitlines()
    ]
    assert app["path"] == "app" and memory["path"] == "simulation"
    assert app["runs"] == memory["runs"]
    run = app["runs"][0]
    assert app["ratio"] == pytest.approx(run["together"] / run["alone_total"], abs=0.005)
    assert not ProjectGroup.objects.exists() and not Project.objects.exists()


def test_evaluate_learning_refuses_a_group_that_starts_from_a_statement(tmp_path):
    manifest = tiny_manifest(tmp_path, tiny_set())
    with pytest.raises(Exception, match="portrait or nothing"):
        run_groups("--manifest", str(manifest), "--people", "3", "--start", "statement")
