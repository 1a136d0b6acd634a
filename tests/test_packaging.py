"""The wheel holds the app and nothing that only tests, the demo and benchmarks need.

The offline stand-in (``fakecommons/``), the tests and the benchmarks sit beside the app's
packages; the wheel is built from a copy of the work tree, as pip builds it, and read back.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APP_PACKAGES = {"wikivisage", "projects", "faces", "commons", "depicts"}
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
