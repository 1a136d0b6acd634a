"""`make lint`'s size check (.ci/sizes.py): modules up to 600 lines, functions up to 60."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = """
[tool.setuptools.packages.find]
include = ["app*"]
exclude = ["fakecommons*", "tests*"]
"""


def load_checker():
    spec = importlib.util.spec_from_file_location("ci_sizes", ROOT / ".ci" / "sizes.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


sizes = load_checker()


def function(name: str, lines: int) -> str:
    """A function of exactly ``lines`` lines, its ``def`` included."""
    return f"def {name}():\n" + "    x = 1\n" * (lines - 1)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    for package in ("app", "tests", "fakecommons", "app/migrations"):
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    return tmp_path


def test_the_product_is_within_the_limits_or_known():
    assert sizes.problems(ROOT) == []
    assert sizes.main(["sizes.py", str(ROOT)]) == 0


def test_a_module_over_600_lines_fails(project):
    (project / "app" / "big.py").write_text("x = 1\n" * 600)
    assert sizes.problems(project, known={}) == []
    (project / "app" / "big.py").write_text("x = 1\n" * 601)
    assert sizes.problems(project, known={}) == ["app/big.py: 601 lines (limit 600): split it"]
    assert sizes.main(["sizes.py", str(project)]) == 1


def test_a_function_over_60_lines_fails_methods_and_nested_ones_too(project):
    method = "".join(f"    {line}\n" for line in function("render", 61).splitlines())
    (project / "app" / "views.py").write_text(function("short", 60) + "class Page:\n" + method)
    assert sizes.problems(project, known={}) == [
        "app/views.py::Page.render: 61 lines (limit 60): split it"
    ]


def test_tests_the_stand_in_and_migrations_are_not_checked(project):
    for package in ("tests", "fakecommons", "app/migrations"):
        (project / package / "big.py").write_text(function("long", 700))
    assert sizes.problems(project, known={}) == []


def test_a_known_entry_may_not_grow(project):
    (project / "app" / "big.py").write_text("x = 1\n" * 650)
    assert sizes.problems(project, known={"app/big.py": 650}) == []
    assert sizes.problems(project, known={"app/big.py": 649}) == [
        "app/big.py: 650 lines, grew past its known 649"
    ]


def test_a_known_entry_back_within_the_limit_or_gone_must_leave_the_list(project):
    (project / "app" / "big.py").write_text("x = 1\n" * 600)
    assert sizes.problems(project, known={"app/big.py": 650, "app/gone.py::f": 70}) == [
        "app/big.py: 600 lines, within the limit: drop it from KNOWN",
        "app/gone.py::f: in KNOWN but not found: drop it",
    ]
