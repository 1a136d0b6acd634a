"""Processes of the journey: each in a session of its own, its output in a log file.

gunicorn, Celery and ``make run`` all start children (honcho even gives each of its own a
session of its own): stopping the first process alone would leave them behind, holding
ports and databases, so a service is stopped as the whole tree of processes below it.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import signal
import socket
import subprocess
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = ROOT / ".venv" / "bin"
COMPOSE_FILE = ROOT / "docker-compose.yml"
_VARIABLE = re.compile(r"\$\{(\w+)(?::-([^}]*))?\}")
_BIND = re.compile(r"--bind\s+\S+")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Service:
    """One running command; ``name`` names its log file."""

    def __init__(
        self,
        name: str,
        args: list[str],
        *,
        env: Mapping[str, str],
        logs: Path,
        cwd: Path = ROOT,
    ) -> None:
        self.name = name
        self.log = logs / f"{name}.log"
        with self.log.open("wb") as output:
            self.popen = subprocess.Popen(
                args,
                cwd=cwd,
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.output().splitlines()[-lines:])

    def wait_for_output(self, text: str, *, timeout: float) -> None:
        """Until ``text`` is in the log; fails at once if the process ended instead."""
        deadline = time.monotonic() + timeout
        while text not in self.output():
            if self.popen.poll() is not None:
                raise AssertionError(f"{self.name} exited ({self.popen.returncode}) early")
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name} did not print {text!r} in {timeout:.0f} s")
            time.sleep(0.2)

    def run_to_completion(self, *, timeout: float) -> None:
        code = self.popen.wait(timeout=timeout)
        assert code == 0, f"{self.name} exited with {code}:\n{self.tail()}"

    def tree(self) -> list[int]:
        """This process and every process below it, wherever their groups and sessions are.

        honcho (``make run``) gives each of its processes a session of its own, so a process
        group does not hold everything a command started; the parent links do.
        """
        return [self.popen.pid, *descendants(self.popen.pid)]

    def interrupt_and_wait(self, *, timeout: float) -> float:
        """Ctrl-C as a terminal sends it (SIGINT to the process group): the seconds until
        every process of the tree is gone. Those still there after ``timeout`` are listed
        in the failure, then killed."""
        tree = self.tree()
        started = time.monotonic()
        os.killpg(self.popen.pid, signal.SIGINT)
        while alive(tree) and time.monotonic() - started < timeout:
            time.sleep(0.1)
            self.popen.poll()  # reaps the first process, which is our child
        survivors = alive(tree)
        if survivors:
            report = listing(survivors)
            kill_groups(survivors)
            raise AssertionError(
                f"{self.name} outlived Ctrl-C by {timeout:.0f} s:\n{report}\n{self.tail(40)}"
            )
        return time.monotonic() - started

    def kill(self) -> None:
        """SIGKILL the whole tree: teardown must never leave a process behind."""
        if self.popen.returncode is not None:
            return  # reaped already: its id may name another process by now
        kill_groups(self.tree())
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=10)


def kill_groups(pids: list[int]) -> None:
    """SIGKILL the process groups of ``pids``, never the test's own."""
    for group in {_group_of(pid) for pid in pids} - {None, os.getpgrp()}:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)


def descendants(pid: int) -> list[int]:
    """The children, grandchildren… of ``pid``, read from /proc."""
    children: dict[int, list[int]] = defaultdict(list)
    for pid_dir in Path("/proc").glob("[0-9]*"):
        parent = _stat_field(int(pid_dir.name), 1)
        if parent is not None:
            children[int(parent)].append(int(pid_dir.name))
    found, todo = [], [pid]
    while todo:
        below = children.get(todo.pop(), [])
        found += below
        todo += below
    return found


def alive(pids: list[int]) -> list[int]:
    """Those of ``pids`` that still run (a zombie waiting to be reaped has stopped)."""
    return [pid for pid in pids if _stat_field(pid, 0) not in (None, "Z")]


def listing(pids: list[int]) -> str:
    """``ps`` lines of ``pids``, for a failure message."""
    if not pids:
        return "(none)"
    table = subprocess.run(
        ["ps", "-o", "pid,pgid,sid,etimes,args", "-p", ",".join(map(str, pids))],
        capture_output=True,
        text=True,
    )
    return table.stdout


def _stat_field(pid: int, index: int) -> str | None:
    """Field ``index`` after the command name of /proc/<pid>/stat (0 state, 1 parent, 2 group)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[index]


def _group_of(pid: int) -> int | None:
    group = _stat_field(pid, 2)
    return int(group) if group is not None else None


def expand(command: str, env: Mapping[str, str]) -> str:
    """``${VAR:-default}`` as Compose expands it: the default when unset or empty."""
    return _VARIABLE.sub(lambda m: env.get(m.group(1)) or (m.group(2) or ""), command)


def compose_commands(env: Mapping[str, str], *, bind: str) -> dict[str, list[str]]:
    """Each service's ``command`` from docker-compose.yml, expanded; web bound to ``bind``."""
    import yaml

    services: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())["services"]
    commands = {}
    for name, service in services.items():
        if "build" not in service:
            continue  # mariadb and redis: this machine runs its own
        command = expand(service["command"], env)
        if name == "web":
            command = _BIND.sub(f"--bind {bind}", command)
        commands[name] = shlex.split(command)
    return commands


def wait_until_answers(
    url: str, *, headers: Mapping[str, str], server: Service, timeout: float
) -> None:
    """Until something answers HTTP at ``url`` (any status: the walk judges the pages);
    fails at once if the ``server`` process ended. A first answer slower than a few seconds
    (a worker still importing on a busy machine) is waited for, not taken for a failure."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            requests.get(url, headers=dict(headers), timeout=5, allow_redirects=False)
            return
        except (requests.ConnectionError, requests.Timeout):
            code = server.popen.poll()
            assert code is None, f"{server.name} exited ({code}) before answering at {url}"
            assert time.monotonic() < deadline, f"nothing answered at {url} in {timeout:.0f} s"
            time.sleep(0.3)


def poll(predicate: Callable[[], Any], *, timeout: float, interval: float = 0.5) -> Any:
    """The first truthy value of ``predicate`` within ``timeout`` seconds, else None."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate() or None
