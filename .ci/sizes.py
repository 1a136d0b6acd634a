"""`make lint`'s size limits: no module of the product over 600 lines, no function over 60.

The product is what the wheel ships (pyproject.toml's ``[tool.setuptools.packages.find]``
include), migrations left out: tests, the offline stand-in and benchmarks are not checked.
A module counts its lines; a function counts from its ``def`` line to its last line (its
decorators left out, its docstring and nested functions in).

``KNOWN`` lists what was over a limit when the check came in, in files other people were
changing at the time. Each entry holds its size then: an entry that grows fails the check, and
so does one that is back within the limit (remove it), so the list can only shrink.

    .venv/bin/python .ci/sizes.py [ROOT]
"""

from __future__ import annotations

import ast
import fnmatch
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 60

# Modules or functions over a limit, each with its size: an entry may only shrink, and goes
# once it is within the limit. Empty since 2026-12-07 (issue #24).
KNOWN: dict[str, int] = {}


@dataclass(frozen=True)
class Size:
    key: str  # "path" or "path::qualified.name"
    lines: int
    limit: int


def product_modules(root: Path) -> Iterator[Path]:
    """Every module of the packages the wheel ships, migrations left out."""
    config = tomllib.loads((root / "pyproject.toml").read_text())
    find = config["tool"]["setuptools"]["packages"]["find"]
    for package in sorted(path for path in root.iterdir() if (path / "__init__.py").exists()):
        name = package.name
        included = any(fnmatch.fnmatch(name, pattern) for pattern in find.get("include", []))
        if included and not any(fnmatch.fnmatch(name, p) for p in find.get("exclude", [])):
            yield from (p for p in sorted(package.rglob("*.py")) if "migrations" not in p.parts)


def sizes(root: Path) -> Iterator[Size]:
    """The size of every product module and function."""
    for path in product_modules(root):
        source = path.read_text()
        key = path.relative_to(root).as_posix()
        yield Size(key, len(source.splitlines()), MAX_MODULE_LINES)
        for name, lines in _functions(ast.parse(source)):
            yield Size(f"{key}::{name}", lines, MAX_FUNCTION_LINES)


def _functions(tree: ast.AST, prefix: str = "") -> Iterator[tuple[str, int]]:
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            name = prefix + node.name
            if not isinstance(node, ast.ClassDef):
                yield name, (node.end_lineno or node.lineno) - node.lineno + 1
            yield from _functions(node, name + ".")


def problems(root: Path, known: dict[str, int] = KNOWN) -> list[str]:
    """What is over a limit and not known; a known entry that grew, or is within the limit
    now, or is gone."""
    found, seen = [], set()
    for size in sizes(root):
        allowed = known.get(size.key)
        seen.add(size.key)
        if allowed is None and size.lines > size.limit:
            found.append(f"{size.key}: {size.lines} lines (limit {size.limit}): split it")
        elif allowed is not None and size.lines > allowed:
            found.append(f"{size.key}: {size.lines} lines, grew past its known {allowed}")
        elif allowed is not None and size.lines <= size.limit:
            found.append(f"{size.key}: {size.lines} lines, within the limit: drop it from KNOWN")
    found += [f"{key}: in KNOWN but not found: drop it" for key in sorted(set(known) - seen)]
    return found


def main(argv: list[str]) -> int:
    root = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent.parent
    found = problems(root)
    for line in found:
        print(line, file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
