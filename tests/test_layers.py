"""`make lint`'s import contracts (pyproject.toml, lint-imports) each fail on the violation
they exist to catch.

The packages are copied to a scratch folder with the project's own configuration; one module
that breaks one rule is added there, and lint-imports must name that contract BROKEN. On the
copy as it is, every contract is kept (so the copy is a faithful one).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
CONTRACTS = [contract["name"] for contract in CONFIG["contracts"]]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"

# For each contract: (module path in the copy, its source, or None to append to a file).
VIOLATIONS = {
    "Layers: site > pending edits > faces > projects > Wikimedia door > face engine > core": {
        "commons/probe_upwards.py": "import projects.models\n"
    },
    "core imports no app of the project": {"core/probe_app.py": "import fakecommons\n"},
    "core's errors and retry policy are Django-free": {"core/errors.py": "import django\n"},
    "Worker health imports no app": {"wikivisage/health/probe_app.py": "import projects\n"},
    "The face engine imports no Django, no task queue and no app": {
        "faceengine/probe_django.py": "import django.db\n"
    },
    "The product never imports the stand-in or the test tools": {
        "faces/probe_standin.py": "import fakecommons.world\n"
    },
    "The product never imports the tooling": {"faces/probe_tooling.py": "import benchmarks\n"},
    "Only the doors to outside services import an HTTP client": {
        "projects/probe_http.py": "import requests\n"
    },
    "No import cycles between the modules of a package": {
        "faces/probe_one.py": "import faces.probe_two\n",
        "faces/probe_two.py": "import faces.probe_one\n",
    },
}


@pytest.fixture(scope="module")
def copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The root packages and pyproject.toml in a scratch folder."""
    target = tmp_path_factory.mktemp("layers")
    skip = shutil.ignore_patterns("__pycache__", "*.pyc", "static", "templates", "locale")
    for package in CONFIG["root_packages"]:
        shutil.copytree(ROOT / package, target / package, ignore=skip)
    shutil.copy(ROOT / "pyproject.toml", target / "pyproject.toml")
    return target


def verdicts(folder: Path) -> dict[str, str]:
    """Each contract's verdict (KEPT or BROKEN) from lint-imports run on ``folder``."""
    env = {**os.environ, "PYTHONPATH": str(folder)}
    run = subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--config", "pyproject.toml"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    # A long name is folded over two lines in the summary; join them back.
    text = re.sub(r"\n(?=\S[^\n]* (?:KEPT|BROKEN))", " ", run.stdout)
    found = {}
    for name in CONTRACTS:
        match = re.search(re.escape(name) + r"\s+(KEPT|BROKEN)", text)
        assert match, f"{name!r} not in lint-imports' report:\n{run.stdout}\n{run.stderr}"
        found[name] = match.group(1)
    return found


def test_the_copy_keeps_every_contract(copy: Path):
    assert set(verdicts(copy).values()) == {"KEPT"}


def test_every_contract_has_a_violation_here():
    assert set(VIOLATIONS) == set(CONTRACTS)


@pytest.mark.parametrize("contract", CONTRACTS)
def test_each_contract_fails_on_its_violation(copy: Path, contract: str):
    added: list[Path] = []
    kept: dict[Path, str] = {}
    try:
        for relative, source in VIOLATIONS[contract].items():
            path = copy / relative
            if path.exists():
                kept[path] = path.read_text()
                path.write_text(kept[path] + "\n" + source)
            else:
                path.write_text(source)
                added.append(path)
        assert verdicts(copy)[contract] == "BROKEN"
    finally:
        for path in added:
            path.unlink()
        for path, text in kept.items():
            path.write_text(text)
    assert verdicts(copy)[contract] == "KEPT"
