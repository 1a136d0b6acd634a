"""The wheel holds the app and nothing that only tests, the demo and benchmarks need.

The offline stand-in (``fakecommons/``), the tests and the benchmarks sit beside the app's
packages; the wheel is built from a copy of the work tree, as pip builds it, and read back.
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path, PurePosixPath

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
APP_PACKAGES = {"core", "wikivisage", "projects", "faces", "faceengine", "commons", "depicts"}
NOT_SHIPPED = {"fakecommons", "tests", "benchmarks"}
FORBIDDEN_IMPORTS = {"pytest", "fakecommons"}
# Local state of the work tree that is no source (and build output that would be stale).
LOCAL = {".git", ".venv", "var", "test-artifacts", "build", "dist", "staticfiles", "node_modules"}


def _no_local_state(folder: str, names: list[str]) -> set[str]:
    skipped = {n for n in names if n == "__pycache__" or n.endswith((".egg-info", "_cache"))}
    return skipped | (LOCAL & set(names) if Path(folder) == ROOT else set())


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    """The wheel pip builds from a copy of the tree (setuptools builds in the source folder)."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    shutil.copytree(ROOT, source, ignore=_no_local_state)
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation"]
    command += ["--no-index", "--disable-pip-version-check", "-q", "-w", str(work), str(source)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    (built,) = work.glob("wikivisage-*.whl")
    return zipfile.ZipFile(built)


def top_level(name: str) -> str:
    return name.split("/", 1)[0]


def imported_roots(tree: ast.AST) -> set[str]:
    """Top-level names of every absolute import, at any depth (functions included), and of
    ``importlib.import_module("…")`` / ``__import__("…")`` with a literal name."""
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call) and _dynamic_import(node):
            roots.add(node.args[0].value.split(".")[0])  # type: ignore[attr-defined]
    return roots


def _dynamic_import(call: ast.Call) -> bool:
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    first = call.args[0] if call.args else None
    return name in {"import_module", "__import__"} and (
        isinstance(first, ast.Constant) and isinstance(first.value, str)
    )


def test_the_wheel_holds_the_app_and_not_the_stand_in_tests_or_benchmarks(wheel):
    packages = {top_level(name) for name in wheel.namelist() if "/" in name}
    assert packages >= APP_PACKAGES, "the wheel lacks part of the app"
    assert not packages & NOT_SHIPPED, f"shipped: {sorted(packages & NOT_SHIPPED)}"


# Evaluation, benchmark, seeding and model-server code is tooling (benchmarks/, issue #24).
TOOLING = re.compile(r"evaluat|benchmark|seed|modelserver", re.IGNORECASE)
# The commands users and operators run, each a thin adapter over a service of the product.
PRODUCT_COMMANDS = {"createproject", "processproject", "setupdemo"}


def tooling_in(names: list[str]) -> set[str]:
    """The modules of ``names`` that are tooling by their name, or are a management command
    that no user or operator runs."""
    modules = [PurePosixPath(name) for name in names if name.endswith(".py")]
    commands = {
        path.as_posix()
        for path in modules
        if path.parent.match("management/commands") and path.stem != "__init__"
        if path.stem not in PRODUCT_COMMANDS
    }
    return commands | {path.as_posix() for path in modules if TOOLING.search(path.stem)}


def test_the_wheel_holds_no_evaluation_benchmark_seeding_or_model_server_code(wheel):
    shipped = tooling_in(wheel.namelist())
    assert not shipped, f"tooling in the wheel (move it to benchmarks/): {shipped}"


def test_the_tooling_check_sees_tooling_modules_and_commands_by_name():
    names = [
        "faces/evaluation.py",
        "faces/detection_benchmark.py",
        "faces/modelserver.py",
        "wikivisage/management/commands/evaluate_learning.py",
        "faces/management/commands/seedproject.py",
        "faces/management/commands/timeit.py",
        "faces/management/commands/processproject.py",
        "faces/management/commands/__init__.py",
        "faces/detection.py",
    ]
    assert tooling_in(names) == set(names[:6])


def test_no_module_of_the_wheel_imports_pytest_or_the_stand_in(wheel):
    modules = [name for name in wheel.namelist() if name.endswith(".py")]
    assert len(modules) > 50, "the wheel holds suspiciously few modules"
    offenders = {
        name: sorted(roots)
        for name in modules
        if (roots := imported_roots(ast.parse(wheel.read(name), name)) & FORBIDDEN_IMPORTS)
    }
    assert not offenders, f"the app imports what it does not ship: {offenders}"


def test_the_import_check_sees_imports_inside_functions_and_by_name():
    source = (
        "import importlib\n"
        "def run():\n"
        "    from fakecommons.server import FakeCommons\n"
        "    return importlib.import_module('pytest')\n"
    )
    assert imported_roots(ast.parse(source)) >= FORBIDDEN_IMPORTS


# --- the locks: what `make install`, the Dockerfile and Toolforge install ----------------------

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
RUNTIME = [Requirement(line) for line in PYPROJECT["project"]["dependencies"]]
DEV = [Requirement(line) for line in PYPROJECT["project"]["optional-dependencies"]["dev"]]
LOCKS = {"requirements.txt": RUNTIME, "requirements-dev.txt": RUNTIME + DEV}
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)")
HASH = re.compile(r"--hash=sha256:[0-9a-f]{64}")
# Imported under another name than the distribution's, which dlib-bin does not record.
IMPORTED_AS = {"dlib": "dlib-bin"}
# Declared and never imported by name: each is loaded another way.
NOT_IMPORTED = {
    "gunicorn": "the web server's command (Procfile, docker-compose.yml)",
    "whitenoise": "a middleware named in the settings",
    "mysqlclient": "Django's MySQL backend imports MySQLdb",
    "setuptools": "pkg_resources, which face_recognition_models imports",
}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(lock: str) -> dict[str, tuple[str, int]]:
    """Each locked package: its version and how many file hashes the lock allows."""
    locked: dict[str, tuple[str, int]] = {}
    name = ""
    for line in (ROOT / lock).read_text().splitlines():
        if match := PIN.match(line):
            name = canonical(match.group(1))
            locked[name] = (match.group(2), 0)
        elif HASH.search(line) and name:
            version, hashes = locked[name]
            locked[name] = (version, hashes + 1)
    return locked


@pytest.mark.parametrize("lock", LOCKS)
def test_the_lock_pins_every_declared_dependency_within_its_range(lock):
    locked = pins(lock)
    assert locked, f"{lock} pins nothing"
    for requirement in LOCKS[lock]:
        name = canonical(requirement.name)
        assert name in locked, f"{lock} lacks {requirement}: run 'make lock'"
        version = locked[name][0]
        assert requirement.specifier.contains(version, prereleases=True), (
            f"{lock} pins {name}=={version}, outside {requirement}: run 'make lock'"
        )


@pytest.mark.parametrize("lock", LOCKS)
def test_every_locked_package_is_pinned_with_the_hashes_of_its_files(lock):
    unhashed = [name for name, (_, hashes) in pins(lock).items() if not hashes]
    assert not unhashed, f"{lock}: no hash for {unhashed}"
    assert "setuptools" in pins(lock), "setuptools is left to whatever the venv starts with"


def test_both_locks_pin_the_packages_they_share_alike():
    app, dev = pins("requirements.txt"), pins("requirements-dev.txt")
    assert set(app) <= set(dev)
    differ = {name: (app[name][0], dev[name][0]) for name in app if app[name][0] != dev[name][0]}
    assert not differ, f"the app's and the dev lock differ: {differ}"


def test_the_install_and_the_image_install_exactly_the_lock():
    makefile = (ROOT / "Makefile").read_text()
    assert "pip install -q --require-hashes -r requirements-dev.txt" in makefile
    assert re.search(r"pip install .*--no-deps .*-e \.", makefile), "the project pulls in deps"
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "pip install --require-hashes -r requirements.txt" in dockerfile


def test_the_app_declares_what_it_imports_and_imports_what_it_declares():
    distributions = importlib.metadata.packages_distributions()
    imported = set()
    for package in APP_PACKAGES:
        for module in (ROOT / package).rglob("*.py"):
            imported |= imported_roots(ast.parse(module.read_bytes(), str(module)))
    third_party = imported - APP_PACKAGES - set(sys.stdlib_module_names)
    used = {
        canonical(IMPORTED_AS.get(root) or distributions.get(root, [root])[0])
        for root in third_party
    }
    declared = {canonical(requirement.name) for requirement in RUNTIME}
    assert not used - declared, f"imported, not declared: {sorted(used - declared)}"
    unused = declared - used - set(NOT_IMPORTED)
    assert not unused, f"declared, never imported: {sorted(unused)}"
