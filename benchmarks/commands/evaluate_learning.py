"""How many answers a contributor needs: a truthful reviewer on a labelled manifest.

``--path app`` (the default) drives the app's own services and database with the project's
default settings and counts what the suggestion grid shows (``benchmarks.evaluation.in_app``);
``--path simulation`` runs the same reviewer against the learner in memory
(``benchmarks.evaluation.reviewer``), much faster, and agrees with the app.

``--people N --groups G`` measures groups of people instead: each group is N identities drawn
from those with at least ``--min-images`` photos (a fixed draw per group number, as
``benchmarks/people.py`` draws), their photos mixed with the manifest's unnamed ones; the
reviewer answers the group's "who is this?" until every person is on target
(``benchmarks.evaluation.in_app_people``, or ``people`` on the simulation path), and each
person alone on the same photos; printed beside each other with their ratio.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from benchmarks.evaluation import dataset, in_app, in_app_people, people, reviewer
from benchmarks.evaluation.dataset import EvaluationError
from benchmarks.evaluation.people import GroupRun
from benchmarks.evaluation.reviewer import Category, ProjectSettings, Run, Scenario, Start

PATHS = ("app", "simulation")


class Command(BaseCommand):
    help = (
        "Simulate a reviewer who answers truthfully on the images of a manifest (CSV with "
        "columns file and identity, paths relative to the CSV) and report how many answers "
        "are needed until human yes answers, statements already on Commons and the grid's "
        "suggestions reach 95%% recall at 99%% precision, how many until the first "
        "suggestion, and how the learner's estimated precision of its suggestions compares "
        "with the real one. Each identity is the person in turn, starting from their "
        "Wikidata image (P18) among their photos or from one photo with an existing "
        "statement; each seed starts from another of their photos. Faces of group photos "
        "(identity 'multi') are not named by the manifest: the reviewer skips them and they "
        "are left out of precision and recall, unless --group-photos no. Detected faces are "
        "cached beside the CSV, or under WIKIVISAGE_DATA_DIR when that folder is read-only."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        _manifest_arguments(parser)
        _project_arguments(parser, ProjectSettings.defaults())
        _truth_arguments(parser)
        _group_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            self._evaluate(options)
        except EvaluationError as error:
            raise CommandError(str(error)) from error

    def _evaluate(self, options: dict[str, Any]) -> None:
        manifest: Path = options["manifest"]
        rows = dataset.read_manifest(manifest)
        identities = dataset.targets(rows, options["target"], options["min_images"])
        starts = _starts(options["start"], groups=options["people"] > 0)
        thresholds = _thresholds(options["threshold"])
        if options["min_answers"] < 1 or options["answers"] < 1:
            raise EvaluationError("--min-answers and --answers must be at least 1")
        category = Category(options["category"])
        if category == Category.OWN and options["path"] != "simulation":
            raise EvaluationError("--category own runs on --path simulation only")
        if options["people"]:
            _group_options_check(options, len(identities))
            table = self._faces(manifest, rows, options["encodings"])
            self._groups(rows, table, identities, starts, thresholds, options)
            return
        table = self._faces(manifest, rows, options["encodings"])
        scenarios = self._scenarios(rows, table, identities, options["group_photos"], category)
        for threshold in thresholds:
            project = ProjectSettings(threshold, options["min_answers"])
            for start in starts:
                runs = self._runs(scenarios, table, start, project, options)
                report = {
                    "path": options["path"],
                    "start": start.value,
                    "category": category.value,
                    "distance_threshold": threshold,
                    "min_answers": project.min_answers,
                    "identities": len(scenarios),
                    "faces": int(table.files.size),
                    "seeds": options["seeds"],
                    **reviewer.summarise(runs, at_most=options["answers"]),
                    "per_identity": _per_identity(runs),
                }
                self._print(report, options["json"])

    def _runs(
        self,
        scenarios: list[Scenario],
        table: dataset.FaceTable,
        start: Start,
        project: ProjectSettings,
        options: dict[str, Any],
    ) -> list[Run]:
        limits = {"at_least": options["keep_going"], "at_most": options["answers"]}
        jobs = [(s, seed) for s in scenarios for seed in range(options["seeds"])]
        if options["path"] == "simulation":
            return [
                reviewer.simulate(s, start=start, seed=seed, project=project, **limits)
                for s, seed in jobs
            ]
        with in_app.world_in_database(table) as world:
            return [
                in_app.run_in_app(
                    world, s, start=start, seed=seed, project_settings=project, **limits
                )
                for s, seed in jobs
            ]

    def _groups(
        self,
        rows: list[dict[str, str]],
        table: dataset.FaceTable,
        identities: list[str],
        starts: list[Start],
        thresholds: list[float],
        options: dict[str, Any],
    ) -> None:
        """Each group, start and seed: together beside alone, then the medians."""
        for threshold in thresholds:
            project = ProjectSettings(threshold, options["min_answers"])
            for start in starts:
                head = {
                    "path": options["path"],
                    "start": start.value,
                    "people": options["people"],
                    "distance_threshold": threshold,
                    "min_answers": project.min_answers,
                }
                if not options["json"]:
                    self.stdout.write(_group_heading(head))
                lines = []
                for number in range(options["groups"]):
                    chosen = people.group_draw(identities, options["people"], number)
                    category = people.group_category(rows, table, chosen)
                    for run in self._group_runs(rows, category, chosen, start, project, options):
                        line = _group_line(number, int(category.files.size), run)
                        lines.append((line, run))
                        if not options["json"]:
                            self.stdout.write(_group_text(line), ending="\n")
                            self.stdout.flush()
                summary = people.group_summary([run for _line, run in lines])
                if options["json"]:
                    report = {**head, "runs": [line for line, _run in lines], **summary}
                    self.stdout.write(json.dumps(report))
                else:
                    self.stdout.write(_group_summary_text(summary))

    def _group_runs(
        self,
        rows: list[dict[str, str]],
        category: dataset.FaceTable,
        chosen: list[str],
        start: Start,
        project: ProjectSettings,
        options: dict[str, Any],
    ) -> Iterator[GroupRun]:
        # From nothing there is no portrait to start from: every seed would run the same.
        seeds = range(options["seeds"] if start == Start.PORTRAIT else 1)
        at_most = options["answers"]
        if options["path"] == "simulation":
            for seed in seeds:
                yield people.simulate_group(
                    rows, category, chosen, seed=seed, project=project, at_most=at_most,
                    start=start,
                )  # fmt: skip
            return
        scenarios = [
            reviewer.build_scenario(rows, category, person, group_photos="unknown")
            for person in chosen
        ]
        with in_app.world_in_database(category) as world:
            for seed in seeds:
                yield in_app_people.run_group_in_app(
                    world, scenarios, start=start, seed=seed, project_settings=project,
                    at_most=at_most,
                )  # fmt: skip

    def _scenarios(
        self,
        rows: list[dict[str, str]],
        table: dataset.FaceTable,
        identities: list[str],
        truth: str,
        category: Category,
    ) -> list[Scenario]:
        scenarios = []
        for identity in identities:
            faces = table
            if category == Category.OWN:
                faces = reviewer.category_of(rows, table, identity)
            scenario = reviewer.build_scenario(rows, faces, identity, group_photos=truth)
            if scenario.targets:
                scenarios.append(scenario)
            else:
                self.stderr.write(f"{identity}: no face detected in its images, left out")
        if not scenarios:
            raise EvaluationError("no identity has a detected face")
        return scenarios

    def _faces(
        self, manifest: Path, rows: list[dict[str, str]], given: Path | None
    ) -> dataset.FaceTable:
        if given is not None:
            table = dataset.load_precomputed(given, rows)
            return table.restricted_to({row["file"] for row in rows})
        return dataset.faces_of(manifest, rows, notice=self.stderr.write)

    def _print(self, report: dict[str, Any], as_json: bool) -> None:
        if as_json:
            self.stdout.write(json.dumps(report))
            return
        to_target, first = report["answers_to_target"], report["first_suggestion"]
        precision = report["suggestion_precision"]
        self.stdout.write(
            f"{report['path']} path, start from {report['start']}, category "
            f"{report['category']}, distance threshold "
            f"{report['distance_threshold']}, {report['min_answers']} answers before "
            f"suggestions: {report['runs']} runs over {report['identities']} identities, "
            f"{report['faces']} faces"
        )
        self.stdout.write(
            f"  answers to 95% recall at 99% precision: median {to_target['median']}  "
            f"mean {to_target['mean']}  max {to_target['max']}  "
            f"(never within the run: {to_target['never']}); questions, skips included: "
            f"median {report['questions_to_target']['median']}  "
            f"max {report['questions_to_target']['max']}"
        )
        self.stdout.write(
            f"  answers to the first suggestion: median {first['median']}  max {first['max']}"
            f"  (never: {first['never']})"
        )
        self.stdout.write(
            f"  precision of the suggestions over {precision['moments']} moments: estimated "
            f"{precision['estimated']}  real {precision['real']}  mean gap "
            f"{precision['mean_gap']}"
        )
        worst = sorted(report["per_identity"].items(), key=_slowest)[:5]
        self.stdout.write(
            "  slowest identities (answers per seed): "
            + ", ".join(f"{name} {answers}" for name, answers in worst)
        )


def _starts(given: str | None, *, groups: bool) -> list[Start]:
    """The starts asked for; by default portrait and statement, for groups portrait."""
    if given is None:
        given = Start.PORTRAIT if groups else f"{Start.PORTRAIT},{Start.STATEMENT}"
    try:
        starts = [Start(name.strip()) for name in given.split(",") if name.strip()]
    except ValueError as error:
        raise EvaluationError(f"--start: {error}; use portrait, statement or nothing") from None
    if groups and Start.STATEMENT in starts:
        raise EvaluationError("--start: a group starts from portrait or nothing")
    return starts


def _group_options_check(options: dict[str, Any], candidates: int) -> None:
    if options["target"] != "all":
        raise EvaluationError("--people draws each group itself: leave out --target")
    if options["category"] != Category.WHOLE:
        raise EvaluationError(
            "--people: a group's category is its people's photos and the "
            "unnamed ones; leave out --category"
        )
    if not 2 <= options["people"] <= candidates:
        raise EvaluationError(
            f"--people: from 2 to the {candidates} identities with --min-images photos"
        )
    if options["groups"] < 1:
        raise EvaluationError("--groups must be at least 1")


def _group_line(number: int, faces: int, run: GroupRun) -> dict[str, Any]:
    return {
        "group": number,
        "seed": run.seed,
        "people": list(run.people),
        "faces": faces,
        "together": run.answers_to_target,
        "questions": run.questions,
        "reached": run.reached_at,
        "alone": run.alone,
        "alone_total": run.alone_total,
        "ratio": None if run.ratio is None else round(run.ratio, 2),
    }


def _group_heading(head: dict[str, Any]) -> str:
    return (
        f"{head['path']} path, groups of {head['people']} people, start from "
        f"{head['start']}, distance threshold {head['distance_threshold']}, "
        f"{head['min_answers']} answers before suggestions"
    )


def _group_text(line: dict[str, Any]) -> str:
    alone = ", ".join(str(answers) for answers in line["alone"].values())
    reached = ", ".join(str(answers) for answers in line["reached"].values())
    ratio = "" if line["ratio"] is None else f", ratio {line['ratio']:.2f}"
    return (
        f"group {line['group']} seed {line['seed']}: {', '.join(line['people'])} "
        f"({line['faces']} faces): together {line['together']} answers "
        f"({line['questions']} questions; each on target after {reached}), "
        f"alone {line['alone_total']} ({alone}){ratio}"
    )


def _group_summary_text(summary: dict[str, Any]) -> str:
    if not summary["reached"]:
        return "no run reached the target both together and alone"
    return (
        f"median together {summary['together']}, alone {summary['alone']}; ratio median "
        f"{summary['ratio']:.2f}, worst {summary['worst']:.2f} ({summary['reached']} runs "
        "reached the target together and alone)"
    )


def _thresholds(given: str) -> list[float]:
    try:
        values = [float(value) for value in given.split(",") if value.strip()]
    except ValueError:
        raise EvaluationError(f"--threshold: not a number list: {given!r}") from None
    if not values or any(not 0.1 <= value <= 1.2 for value in values):
        raise EvaluationError("--threshold: each value must lie between 0.1 and 1.2")
    return values


def _slowest(item: tuple[str, list[int | None]]) -> float:
    return -max(float("inf") if answers is None else answers for answers in item[1])


def _per_identity(runs: list[Run]) -> dict[str, list[int | None]]:
    table: dict[str, list[int | None]] = {}
    for run in runs:
        table.setdefault(run.identity, []).append(run.answers_to_target)
    return table


def _manifest_arguments(parser: CommandParser) -> None:
    """Which manifest, which identities, which path and how projects start."""
    parser.add_argument("--manifest", required=True, type=Path, help="the manifest CSV")
    parser.add_argument(
        "--target",
        default="all",
        help="identity taken as the person; several separated by commas; 'all' (the "
        "default) for every identity with at least --min-images images",
    )
    parser.add_argument("--min-images", type=int, default=4, help="for --target all")
    parser.add_argument(
        "--path",
        choices=PATHS,
        default="app",
        help="app: through the app's services and database (default); simulation: the "
        "learner in memory",
    )
    parser.add_argument(
        "--start",
        help="how projects start, comma-separated: portrait (P18 among the photos), "
        "statement (one existing depicts statement), nothing (default portrait,statement; "
        "with --people portrait, and statement is refused)",
    )


def _project_arguments(parser: CommandParser, defaults: ProjectSettings) -> None:
    """The project's settings and how long each run goes on."""
    parser.add_argument("--seeds", type=int, default=1, help="runs per identity and start")
    parser.add_argument(
        "--threshold",
        default=str(defaults.distance_threshold),
        help="the project's distance threshold; several separated by commas "
        f"(default {defaults.distance_threshold})",
    )
    parser.add_argument(
        "--min-answers",
        type=int,
        default=defaults.min_answers,
        help=f"the project's answers before suggestions (default {defaults.min_answers})",
    )
    parser.add_argument(
        "--answers",
        type=int,
        default=100,
        help="most answers per run; a run that has not reached the target by then "
        "counts this many (default 100)",
    )
    parser.add_argument(
        "--keep-going",
        type=int,
        default=10,
        help="answers a run goes on to after reaching the target, so the estimates are "
        "judged past the first suggestions too (default 10)",
    )


def _truth_arguments(parser: CommandParser) -> None:
    """What the reviewer takes as true, the faces, and the output."""
    parser.add_argument(
        "--group-photos",
        choices=["unknown", "no"],
        default="unknown",
        help="truth for faces of 'multi' images: unknown (skipped) or no",
    )
    parser.add_argument(
        "--category",
        choices=[c.value for c in Category],
        default=Category.WHOLE,
        help="whole: each identity's category is the whole manifest (default); own: "
        "their photos and the unnamed ones only, as a category of the person holds "
        "mostly them (simulation path only)",
    )
    parser.add_argument(
        "--encodings",
        type=Path,
        help="precomputed faces (npz with image_file, encoding, box_trbl, as "
        "reference_encodings.npz) instead of running detection",
    )
    parser.add_argument(
        "--json", action="store_true", help="one JSON object per threshold and start"
    )


def _group_arguments(parser: CommandParser) -> None:
    """Groups of people instead of one person at a time."""
    parser.add_argument(
        "--people",
        type=int,
        default=0,
        help="measure groups of this many people (drawn from the identities with at least "
        "--min-images photos) answered together, beside each of them alone",
    )
    parser.add_argument(
        "--groups", type=int, default=5, help="with --people: how many groups (default 5)"
    )
