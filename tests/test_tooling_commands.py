"""``python -m benchmarks COMMAND``: the tooling's commands, outside the product, run as
``manage.py`` runs the product's (the same settings, options, help and errors)."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib import import_module
from pathlib import Path

import pytest
from django.core.management.base import BaseCommand

from benchmarks.__main__ import names

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = {
    "audit_statements",
    "benchmark_detection",
    "benchmark_rescore",
    "benchmark_review",
    "evaluate_learning",
    "seedproject",
}


def tooling(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "wikivisage.settings.test"}
    command = [sys.executable, "-m", "benchmarks", *args]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_the_launcher_lists_the_tooling_commands():
    assert set(names()) == COMMANDS
    result = tooling()
    assert result.returncode == 0
    assert all(name in result.stdout for name in COMMANDS)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_tooling_command_is_a_django_command(name):
    module = import_module(f"benchmarks.commands.{name}")
    assert issubclass(module.Command, BaseCommand)


def test_a_tooling_command_gets_its_options_and_says_what_is_wrong(tmp_path):
    result = tooling("evaluate_learning", "--manifest", str(tmp_path / "none.csv"))
    assert result.returncode == 1
    assert f"CommandError: no manifest at {tmp_path / 'none.csv'}" in result.stderr


def test_a_tooling_commands_help_names_the_launcher():
    result = tooling("seedproject", "--help")
    assert result.returncode == 0
    assert result.stdout.startswith("usage: python -m benchmarks seedproject")


def test_an_unknown_command_is_refused():
    result = tooling("benchmark_nothing")
    assert result.returncode == 2
    assert "unknown command: benchmark_nothing" in result.stderr
