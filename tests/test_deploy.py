"""The deployment files agree with each other, and the image holds the app and no secret.

Dockerfile, .dockerignore, docker-compose.yml, requirements.txt, Procfile and jobs.yaml are read
the way Docker, Compose, Toolforge's build service and its jobs framework read them. No Docker
engine and no network are needed.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import tomllib
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.conf import settings
from django.test import Client
from django.urls import resolve
from packaging.requirements import Requirement

from wikivisage.celery import QUEUES
from wikivisage.health.views import health

ROOT = Path(__file__).resolve().parent.parent
APP_SERVICES = {"migrate", "web", "worker", "detect", "writer", "beat"}
TOOL_IMAGE = "tool-wikivisage/tool-wikivisage:latest"
PRODUCT = ("wikivisage", "projects", "faces", "faceengine", "commons", "depicts")
FACE_RECOGNITION = re.compile(r"face[-_]recognition(?![-_]models)", re.IGNORECASE)
SENSITIVE = [
    ".env",
    ".env.production",
    "var/wikivisage.sqlite3",
    "var/demo/token.key",
    "var/broker/queue/message",
    ".venv/bin/python",
    ".git/config",
    "test-artifacts/journey/screen.png",
    "staticfiles/staticfiles.json",
    "faces/__pycache__/models.cpython-311.pyc",
    "db.sqlite3",
    "node_modules/left-pad/index.js",
]


# --- reading the files ------------------------------------------------------------------


def dockerignore_patterns() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    """A .dockerignore pattern as Docker's matcher reads it: ``**`` spans folders, ``*`` not."""
    parts = re.split(r"(\*\*/|\*\*|\*|\?)", pattern.strip("/"))
    wildcards = {"**/": "(?:.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}
    return re.compile("".join(wildcards.get(part, re.escape(part)) for part in parts))


def ignored(path: str) -> bool:
    """Whether Docker leaves ``path`` out of the context: the last matching pattern decides,
    and a path is out when it or one of its folders matches."""
    parents = Path(path).parts
    candidates = ["/".join(parents[: n + 1]) for n in range(len(parents))]
    verdict = False
    for pattern in dockerignore_patterns():
        negated = pattern.startswith("!")
        regex = _pattern_regex(pattern.lstrip("!"))
        if any(regex.fullmatch(candidate) for candidate in candidates):
            verdict = not negated
    return verdict


def dockerfile_stages() -> list[list[tuple[str, str]]]:
    """Instructions as (KEYWORD, arguments), continuation lines joined, one list per stage."""
    text = (ROOT / "Dockerfile").read_text()
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    stages: list[list[tuple[str, str]]] = []
    for line in filter(str.strip, joined.splitlines()):
        keyword, _, arguments = line.strip().partition(" ")
        if keyword.upper() == "FROM":
            stages.append([])
        stages[-1].append((keyword.upper(), " ".join(arguments.split())))
    return stages


def instructions(keyword: str, stage: int | None = None) -> list[str]:
    stages = dockerfile_stages()
    chosen = stages if stage is None else [stages[stage]]
    return [arguments for each in chosen for kw, arguments in each if kw == keyword]


def context_copy_sources() -> list[str]:
    """What the COPY instructions take from the build context (not from another stage)."""
    sources = []
    for arguments in instructions("COPY"):
        words = shlex.split(arguments)
        if any(word.startswith("--from") for word in words):
            continue
        sources += [word for word in words[:-1] if not word.startswith("--")]
    return sources


def exec_form(arguments: str) -> list[str]:
    """The JSON array of an exec-form instruction (Docker reads it as strict JSON)."""
    return json.loads(arguments[arguments.index("[") :])


def image_healthcheck() -> list[str]:
    """The Dockerfile's HEALTHCHECK as a Compose ``test``: ``["CMD", ...]``."""
    (arguments,) = instructions("HEALTHCHECK")
    assert " CMD [" in f" {arguments}", "HEALTHCHECK must use the exec form"
    return ["CMD", *exec_form(arguments)]


def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def app_services() -> dict[str, dict[str, Any]]:
    """The services that run the project's image (mariadb and redis are not ours)."""
    return {name: s for name, s in compose()["services"].items() if "build" in s}


def procfile() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    entries = [line.partition(":") for line in lines if line.strip() and line[0] != "#"]
    return {name.strip(): command.strip() for name, _, command in entries}


def jobs() -> list[dict[str, Any]]:
    return yaml.safe_load((ROOT / "jobs.yaml").read_text())


def queues_of(command: str) -> list[str]:
    words = shlex.split(command)
    return words[words.index("-Q") + 1].split(",") if "-Q" in words else []


def node_name(command: str) -> str:
    """The worker's node name prefix from ``-n prefix@%h``."""
    words = shlex.split(command)
    return words[words.index("-n") + 1].split("@")[0]


def binary_bytes(quantity: str) -> int:
    """``1g`` (Compose) and ``1Gi`` (Kubernetes) alike, in bytes."""
    match = re.fullmatch(r"(\d+)([kmg])i?", quantity.lower())
    assert match, f"not a memory size: {quantity}"
    return int(match.group(1)) * 1024 ** ("kmg".index(match.group(2)) + 1)


def requirement_lines() -> list[str]:
    """The pins of the lock (``name==version``), without their hashes and comments."""
    lines = (ROOT / "requirements.txt").read_text().splitlines()
    return [line.split()[0] for line in lines if re.match(r"[A-Za-z0-9]", line)]


def requirement_set(lines: list[str]) -> set[tuple[str, str, frozenset[str]]]:
    requirements = [Requirement(line) for line in lines]
    return {
        (r.name.lower().replace("_", "-"), str(r.specifier), frozenset(r.extras))
        for r in requirements
    }


# --- .dockerignore and what the image takes from the context -----------------------------


@pytest.mark.parametrize("path", SENSITIVE)
def test_secrets_local_data_and_caches_stay_out_of_the_build_context(path):
    assert ignored(path), f"{path} would be sent to the Docker build"


def test_the_source_the_image_needs_is_in_the_build_context():
    assert not ignored("requirements.txt")
    assert not ignored("wikivisage/settings/base.py")
    assert not ignored("locale/nb/LC_MESSAGES/django.po")


@pytest.mark.parametrize("path", ["fakecommons/server.py", "tests/conftest.py", "benchmarks"])
def test_what_only_tests_the_demo_and_benchmarks_need_stays_out_of_the_image(path):
    assert ignored(path), f"{path} would be sent to the Docker build"


def test_dockerfile_copies_named_folders_never_the_whole_context():
    sources = context_copy_sources()
    assert sources, "the Dockerfile copies nothing"
    for source in sources:
        assert source.strip("./") and "*" not in source, f"COPY {source} takes the whole context"
        assert not ignored(source), f"COPY {source} names something .dockerignore leaves out"


def local_parts_of_the_app() -> set[str]:
    """Top-level files and folders of this repository that the settings load from."""
    modules = [*settings.INSTALLED_APPS, settings.ROOT_URLCONF, settings.WSGI_APPLICATION]
    packages = {name.split(".")[0] for name in modules if (ROOT / name.split(".")[0]).is_dir()}
    folders = [*settings.TEMPLATES[0]["DIRS"], *settings.STATICFILES_DIRS, *settings.LOCALE_PATHS]
    relative = {Path(folder).relative_to(settings.BASE_DIR).parts[0] for folder in folders}
    return packages | relative | {"manage.py"}


def test_dockerfile_copies_every_part_of_the_app():
    copied = {source.strip("/") for source in context_copy_sources()}
    assert local_parts_of_the_app() <= copied, "the image would lack part of the app"


# --- the image -------------------------------------------------------------------------------


def test_image_runs_as_an_unprivileged_user_who_owns_only_the_data_volume():
    final = len(dockerfile_stages()) - 1
    setup = " ".join(instructions("RUN", final))
    created = re.search(r"useradd .*--uid (\d+) .*? (\w+)(?: |$)", setup)
    assert created, "no user is created"
    uid, name = created.groups()
    assert int(uid) != 0
    assert instructions("USER", final)[-1] in {name, uid, f"{uid}:{uid}"}
    assert f"chown {name}:{name} /data" in setup
    assert "/app" not in setup.split("chown", 1)[1], "the app folder must stay root's"
    assert instructions("VOLUME", final) == ["/data"]
    assert "WIKIVISAGE_DATA_DIR=/data" in " ".join(instructions("ENV", final))


def test_the_image_installs_dlib_prebuilt_and_not_face_recognition_which_nothing_imports():
    pip_commands = [command for run in instructions("RUN") for command in run.split("&&")]
    installs = [command for command in pip_commands if "pip install" in command]
    assert any("requirements.txt" in command for command in installs)
    assert not any(FACE_RECOGNITION.search(command) for command in installs)
    required = {name for name, _, _ in requirement_set(requirement_lines())}
    assert {"dlib-bin", "face-recognition-models"} <= required
    assert not {"dlib", "face-recognition"} & required, "pip would compile dlib from source"
    product = [path for name in PRODUCT for path in (ROOT / name).rglob("*.py")]
    imports = re.compile(r"^\s*(from|import) face_recognition\b(?!_models)", re.M)
    assert not [path for path in product if imports.search(path.read_text())]


def test_the_image_drops_the_model_files_the_app_never_loads():
    """The 68-point landmarks (99.7 MB) and the CNN detector are deleted; the build checks
    that the app's own models still load."""
    build = " ".join(instructions("RUN", 0))
    for unused in ("shape_predictor_68_face_landmarks.dat", "mmod_human_face_detector.dat"):
        assert re.search(rf"\brm [^&]*\$MODELS/{re.escape(unused)}", build)
    loaders = (ROOT / "faceengine" / "detection.py").read_text() + (
        ROOT / "faceengine" / "resnet.py"
    ).read_text()
    assert "pose_predictor_model_location" not in loaders
    assert "cnn_face_detector_model_location" not in loaders
    assert "load_models()" in " ".join(instructions("RUN", len(dockerfile_stages()) - 1))
    assert "NOTICE" in " ".join(instructions("COPY"))


def test_translations_and_static_files_are_made_at_build_with_a_throwaway_key():
    build_steps = " ".join(instructions("RUN"))
    assert "manage.py compilemessages" in build_steps
    assert "manage.py collectstatic --no-input" in build_steps
    assert "DJANGO_SECRET_KEY=" in build_steps
    declared = " ".join(instructions("ENV") + instructions("ARG"))
    assert not re.search(r"SECRET|PASSWORD|TOKEN|_KEY\b", declared), "the image would hold it"


def test_the_build_step_collects_static_files_with_the_settings_as_they_are(tmp_path):
    """The Dockerfile's own collectstatic command, its throwaway key and nothing else set."""
    step = next(run for run in instructions("RUN") if "collectstatic" in run)
    exported = dict(word.split("=", 1) for word in shlex.split(step.split("&&")[0]) if "=" in word)
    command = next(c for c in step.split("&&") if "collectstatic" in c)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "WIKIVISAGE_"))}
    env.update(exported, WIKIVISAGE_DATA_DIR=str(tmp_path / "data"), DJANGO_DEBUG="false")
    env["DJANGO_STATIC_ROOT"] = str(tmp_path / "static")
    args = shlex.split(command.replace("python", sys.executable, 1))
    result = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "static" / "staticfiles.json").exists(), "no manifest for WhiteNoise"


@pytest.mark.django_db
def test_healthcheck_asks_an_anonymous_page_that_answers():
    test = image_healthcheck()
    assert test[:3] == ["CMD", "python", "-c"]
    compile(test[3], "HEALTHCHECK", "exec")
    url = re.search(r"http://127\.0\.0\.1:8000(/[^'\"]*)", test[3])
    assert url and resolve(url.group(1)).func is health
    assert Client().get(url.group(1), HTTP_ACCEPT="application/json").status_code == 200


def test_default_command_is_the_compose_web_command():
    command = exec_form(instructions("CMD")[-1])
    assert command[:2] == ["sh", "-c"] and command[2].startswith("exec ")
    assert command[2].removeprefix("exec ") == app_services()["web"]["command"]


def test_python_version_is_the_same_for_docker_and_toolforge():
    base = re.search(r"python:(\d+\.\d+)", instructions("FROM")[-1])
    assert base and (ROOT / ".python-version").read_text().strip() == base.group(1)


# --- docker compose --------------------------------------------------------------------------


def test_app_services_run_one_image_with_one_data_volume():
    services = app_services()
    assert set(services) == APP_SERVICES
    assert len({(str(s["build"]), s["image"]) for s in services.values()}) == 1
    for name, service in services.items():
        assert "data:/data" in service["volumes"], name
        assert service["env_file"] == [{"path": ".env", "required": False}], name
    assert "data" in compose()["volumes"]


def test_every_app_service_has_a_healthcheck():
    for name, service in app_services().items():
        check = service.get("healthcheck", {})
        if name == "migrate":
            assert check.get("disable") is True, "the image's web check must not judge migrate"
        else:
            assert check.get("test"), f"{name} has no healthcheck"
            assert not re.search(r"(?<!\$)\$(?!\$)", " ".join(check["test"])), (
                f"{name}: a single $ is interpolated by Compose on the host; write $$"
            )


def test_web_healthcheck_is_the_images():
    assert app_services()["web"]["healthcheck"]["test"] == image_healthcheck()


def test_worker_healthchecks_ping_their_own_node():
    for name, service in app_services().items():
        if " worker " in service["command"]:
            ping = " ".join(service["healthcheck"]["test"])
            assert f"inspect ping -d {node_name(service['command'])}@$$HOSTNAME" in ping, name


def test_beat_healthcheck_watches_the_schedule_file_of_the_settings():
    check = " ".join(app_services()["beat"]["healthcheck"]["test"])
    schedule = Path(settings.CELERY_BEAT_SCHEDULE_FILENAME).name
    assert f"'/data/{schedule}*'" in check
    limit = re.search(r"> (\d+)\)", check)
    assert limit, "the check must compare the file's age with a number of seconds"
    stale_after = int(limit.group(1))
    shortest = min(entry["schedule"] for entry in settings.CELERY_BEAT_SCHEDULE.values())
    assert stale_after > shortest + 180, "beat syncs its file 3 min after a task at the latest"


def test_workers_take_every_queue_exactly_once():
    taken = Counter(q for s in app_services().values() for q in queues_of(s["command"]))
    assert taken == Counter(QUEUES)


def test_web_workers_and_beat_start_after_the_migrations():
    services = app_services()
    assert services["migrate"]["restart"] == "no"
    for name in APP_SERVICES - {"migrate"}:
        condition = services[name]["depends_on"]["migrate"]["condition"]
        assert condition == "service_completed_successfully", name


# --- Toolforge -------------------------------------------------------------------------------


def test_requirements_txt_locks_every_pyproject_dependency():
    """Toolforge installs requirements.txt alone; tests/test_packaging.py checks the versions."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    declared = {name for name, _, _ in requirement_set(pyproject["project"]["dependencies"])}
    locked = {name for name, _, _ in requirement_set(requirement_lines())}
    assert declared <= locked, f"not in requirements.txt: {sorted(declared - locked)}"


def test_procfile_runs_the_compose_commands():
    processes, services = procfile(), app_services()
    assert set(processes) == APP_SERVICES
    for name in APP_SERVICES - {"web"}:
        assert processes[name] == services[name]["command"], name
    port_bound = "--bind 0.0.0.0:${PORT:-8000}"
    web = processes["web"].replace(port_bound, "--bind 0.0.0.0:8000")
    assert port_bound in processes["web"] and web == services["web"]["command"]


def test_jobs_run_the_procfile_processes_with_compose_memory():
    loaded, services = jobs(), app_services()
    assert loaded[0]["name"] == "migrate", "migrations first"
    assert {job["name"] for job in loaded} == set(procfile()) - {"web"}
    for job in loaded:
        assert job["command"] == job["name"] and job["image"] == TOOL_IMAGE
        assert job.get("continuous", False) is (job["name"] != "migrate"), job["name"]
        assert isinstance(job["cpu"], str), "the jobs API takes cpu as a string"
        limit = services[job["name"]].get("mem_limit")
        assert limit is None or binary_bytes(job["mem"]) == binary_bytes(limit), job["name"]
    assert next(job for job in loaded if job["name"] == "migrate")["wait"] is True
