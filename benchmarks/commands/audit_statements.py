"""Does the audit of existing statements find the wrong ones? (``faceengine.learner.audit``)

The stand-in's world builder (``fakecommons.build``, ``statements`` and ``wrong_statements``)
gives each person P180 on a share of their photos and puts a share of wrong statements on
files of anybody else; each seed draws another world. For each identity and seed a project
is made through the app's own services on the manifest's photos (as ``evaluate_learning``'s
app path does: faces detected once, the new-project form's defaults, the person's first
photo as their Wikidata image): its files' statements become bootstrap yes answers as the
crawl makes them (``faces.services.bootstrap.bootstrap_yes``), a truthful reviewer answers
what the classify page asks, the learner runs after each answer, and after 1, 3, 5, …
answers the "check existing statements" queue (``depicts.selectors.doubted_statements``,
with the statements a "no" on the classify page contradicted, which the send page offers
for removal) is read and set against the world's truth.

Wrong statements on files with no face found, or with several faces and no region, cannot
be checked (nobody knows which face the statement means): they are counted apart, and count
as missed in the share of wrong statements queued.
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser

from benchmarks.evaluation import dataset, in_app, reviewer
from benchmarks.evaluation.dataset import EvaluationError
from depicts.selectors import SuggestionFilter, contradicted, doubted_statements
from faceengine.learner.evidence import Verdict
from faces.models import Face, Image, ProjectImage
from faces.selectors import question_for
from faces.services.bootstrap import bootstrap_yes
from faces.services.leases import face_serve
from faces.tasks import learn_project
from fakecommons.build import build_world_from_manifest
from projects.models import Project

COUNTS = ("right", "right_queued", "wrong", "wrong_queued", "wrong_unchecked")


class Command(BaseCommand):
    help = (
        "Put wrong P180 statements in a world of the manifest's photos and measure how many "
        "of them (and of the right ones) the audit of existing statements queues after the "
        "contributor's first answers, over every identity and a few seeds."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--manifest", required=True, type=Path, help="the manifest CSV")
        parser.add_argument("--seeds", type=int, default=3, help="worlds drawn (default 3)")
        parser.add_argument("--min-images", type=int, default=4, help="identities with as many")
        parser.add_argument(
            "--share", type=float, default=0.5, help="of a person's photos stated (0.5)"
        )
        parser.add_argument("--wrong", type=float, default=0.1, help="of statements wrong (0.1)")
        parser.add_argument(
            "--answers", default="1,3,5", help="after how many answers to read the queue"
        )
        parser.add_argument("--json", action="store_true", help="the figures as one JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            report = self._measure(options)
        except EvaluationError as error:
            raise CommandError(str(error)) from error
        if options["json"]:
            self.stdout.write(json.dumps(report))
        else:
            self._print(report)

    def _measure(self, options: dict[str, Any]) -> dict[str, Any]:
        manifest: Path = options["manifest"]
        rows = dataset.read_manifest(manifest)
        identities = dataset.targets(rows, "all", options["min_images"])
        checkpoints = sorted({int(value) for value in options["answers"].split(",")})
        table = dataset.faces_of(manifest, rows, notice=self.stderr.write)
        totals: dict[int, dict[str, int]] = {k: dict.fromkeys(COUNTS, 0) for k in checkpoints}
        worst: dict[int, list[tuple[str, int, dict[str, int]]]] = defaultdict(list)
        with in_app.world_in_database(table) as world:
            for seed in range(options["seeds"]):
                commons = _world(manifest, rows, options, seed)
                for identity in identities:
                    scenario = reviewer.build_scenario(
                        rows, table, identity, group_photos="unknown"
                    )
                    counts = _run(world, scenario, commons, identity, checkpoints)
                    for answers, figures in counts.items():
                        for key in COUNTS:
                            totals[answers][key] += figures[key]
                        worst[answers].append((identity, seed, figures))
        return {
            "identities": len(identities),
            "seeds": options["seeds"],
            "share": options["share"],
            "wrong": options["wrong"],
            "after": {str(k): _shares(totals[k]) for k in checkpoints},
            "misses": {str(k): _misses(worst[k]) for k in checkpoints},
        }

    def _print(self, report: dict[str, Any]) -> None:
        self.stdout.write(
            f"{report['identities']} identities x {report['seeds']} seeds; "
            f"{report['share']:.0%} of each person's photos stated, {report['wrong']:.0%} of "
            "statements wrong"
        )
        for answers, figures in report["after"].items():
            self.stdout.write(
                f"  after {answers} answers: wrong statements queued {figures['wrong_queued']}/"
                f"{figures['wrong']} ({figures['wrong_share']:.1%}; "
                f"{figures['wrong_unchecked']} could not be checked), right statements queued "
                f"{figures['right_queued']}/{figures['right']} ({figures['right_share']:.1%})"
            )
            misses = report["misses"][answers]
            if misses:
                self.stdout.write("    missed or wrongly doubted: " + "; ".join(misses[:8]))


@dataclass(frozen=True)
class _Statements:
    """One person's statements in the world, as manifest files: every stated file, and the
    wrong ones among them."""

    stated: set[str]
    wrong: set[str]


def _world(
    manifest: Path, rows: list[dict[str, str]], options: dict[str, Any], seed: int
) -> dict[str, _Statements]:
    """Per identity, the manifest files of the world drawn with ``seed`` that state them."""
    built = build_world_from_manifest(
        manifest, statements=options["share"], wrong_statements=options["wrong"], seed=seed
    )
    base = manifest.resolve().parent
    file_of = {str((base / row["file"]).resolve()): row["file"] for row in rows}
    by_name = {name: file_of.get(str(Path(f["path"]).resolve()), "") for name, f in _files(built)}
    fixtures = built["fixtures"]
    return {
        identity: _Statements(
            {by_name[name] for name in fixtures["statements"][qid]},
            {by_name[name] for name in fixtures["wrong_statements"][qid]},
        )
        for identity, qid in fixtures["people"].items()
    }


def _files(built: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(name, entry) for name, entry in built["files"].items() if "path" in entry]


def _run(
    world: in_app.World,
    scenario: reviewer.Scenario,
    commons: dict[str, _Statements],
    identity: str,
    checkpoints: list[int],
) -> dict[int, dict[str, int]]:
    """One project: the statements as the crawl leaves them, the reviewer's answers, and the
    queue after each checkpoint."""
    truth = commons[identity]
    user = User.objects.create(username=f"evaluation-{uuid.uuid4().hex[:12]}")
    project = _project(world, identity, truth, user)
    images = {image.title: image for image in world.images}
    files = {_file_of(image.title): image for image in images.values()}
    unchecked = len([name for name in truth.wrong if name not in files])
    counts: dict[int, dict[str, int]] = {}
    try:
        with in_app.learner_runs_on_commit():
            learn_project(project.pk)
            answers = questions = 0
            for checkpoint in checkpoints:
                while answers < checkpoint and questions < 10 * checkpoint:
                    face = face_serve(project=project, user=user)
                    if face is None:
                        break
                    action = reviewer.reviewer_action(
                        scenario,
                        world.row_of[face.pk],
                        which=question_for(project=project, face=face).which,
                    )
                    in_app._answer(world, project, user, face, action)
                    answers += action.verdict != Verdict.SKIP
                    questions += 1
                counts[checkpoint] = _queued(project, truth, files, unchecked)
    finally:
        project.delete()
        user.delete()
    return counts


def _project(world: in_app.World, identity: str, truth: _Statements, user: User) -> Project:
    """A project on every photo, its statements recorded and applied as the crawl does."""
    stated_files = truth.stated
    first = min(name for name in stated_files - truth.wrong)  # the person's first photo
    project = Project.objects.create(
        owner=user,
        qid=f"Q{990_000_000 + abs(hash(identity)) % 1_000_000}",
        person_labels={"en": identity},
        person_image=_title(world, first),
        category=in_app.EVALUATION_CATEGORY,
    )
    links = ProjectImage.objects.bulk_create(
        ProjectImage(
            project=project,
            image=image,
            source=ProjectImage.Source.CATEGORY,
            depicts_person=_file_of(image.title) in stated_files,
        )
        for image in world.images
    )
    for link in links:
        if link.depicts_person:
            bootstrap_yes(link.image, [(project.pk, "")])
    return project


def _title(world: in_app.World, name: str) -> str:
    return next((image.title for image in world.images if _file_of(image.title) == name), "")


def _file_of(title: str) -> str:
    """The manifest file of an evaluation image ("File:Evaluation <tag> <file>")."""
    return title.split(" ", 2)[2]


def _queued(
    project: Project, truth: _Statements, files: dict[str, Image], unchecked: int
) -> dict[str, int]:
    queue = doubted_statements(project=project, filters=SuggestionFilter())
    doubted = {_file_of(face.image.title) for face in queue}
    # A doubted face may be asked on the classify page: answered "no" there, it leaves the
    # queue for the send page's proposed removals (depicts.selectors.contradicted).
    doubted |= {_file_of(label.face.image.title) for label in contradicted(project)}
    right = truth.stated - truth.wrong
    return {
        "right": len(right),
        "right_queued": len(right & doubted),
        "wrong": len(truth.wrong),
        "wrong_queued": len(truth.wrong & doubted),
        "wrong_unchecked": unchecked + _unchecked(project, truth, files),
    }


def _unchecked(project: Project, truth: _Statements, files: dict[str, Image]) -> int:
    """Wrong statements on files in the project whose stated face is not known."""
    known = set(
        Face.objects.filter(
            labels__project=project, labels__source="bootstrap", image__in=list(files.values())
        ).values_list("image__title", flat=True)
    )
    return len([name for name in truth.wrong if name in files and files[name].title not in known])


def _shares(totals: dict[str, int]) -> dict[str, Any]:
    return {
        **totals,
        "wrong_share": totals["wrong_queued"] / max(totals["wrong"], 1),
        "right_share": totals["right_queued"] / max(totals["right"], 1),
    }


def _misses(runs: list[tuple[str, int, dict[str, int]]]) -> list[str]:
    return [
        f"{identity} seed {seed}: wrong {f['wrong_queued']}/{f['wrong']}, right "
        f"{f['right_queued']}/{f['right']}"
        for identity, seed, f in runs
        if f["wrong_queued"] < f["wrong"] or f["right_queued"]
    ]
