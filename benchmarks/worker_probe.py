"""A Celery worker exactly as ``celery -A wikivisage <args>`` starts it, plus timers.

    python benchmarks/worker_probe.py worker -Q default,crawl,detect,learn,write --concurrency 2

Each pool process appends one line per task to ``$BENCHMARK_TIMINGS/<pid>.tsv``: the task's
name, its wall and CPU seconds, the wall and CPU seconds it spent in detection + encoding (the
``analyse`` of the detector provider the pipeline asks, ``faces.providers``: dlib in process,
or the model service), and when it began and ended (Unix time). Nothing else changes: same
settings, same queues, same code; the pipeline benchmark (benchmarks/pipeline.py) reads the lines.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TIMINGS_VARIABLE = "BENCHMARK_TIMINGS"


class _Clock:
    """This pool process's timers: detection so far, and where the running task started."""

    detect = 0.0
    detect_cpu = 0.0
    started: tuple[float, float, float, float, float] = (0.0, 0.0, 0.0, 0.0, 0.0)


def _time_detection(**kwargs: Any) -> None:
    """In each pool process as it starts: count the seconds spent in detection + encoding."""
    from faces import providers

    for provider in (providers.DlibProvider, providers.HttpProvider):
        provider.analyse = _timed(provider.analyse)  # type: ignore[method-assign]


def _timed(analyse: Any) -> Any:
    def timed(*args: Any, **kwargs: Any) -> Any:
        start, cpu = time.perf_counter(), time.process_time()
        try:
            return analyse(*args, **kwargs)
        finally:
            _Clock.detect += time.perf_counter() - start
            _Clock.detect_cpu += time.process_time() - cpu

    return timed


def _task_started(**kwargs: Any) -> None:
    _Clock.started = (
        time.perf_counter(),
        time.process_time(),
        _Clock.detect,
        _Clock.detect_cpu,
        time.time(),
    )


def _task_finished(task: Any = None, **kwargs: Any) -> None:
    wall, cpu, detect, detect_cpu, began = _Clock.started
    line = (
        f"{getattr(task, 'name', '?')}\t{time.perf_counter() - wall:.6f}\t"
        f"{time.process_time() - cpu:.6f}\t{_Clock.detect - detect:.6f}\t"
        f"{_Clock.detect_cpu - detect_cpu:.6f}\t{began:.6f}\t{time.time():.6f}\n"
    )
    folder = Path(os.environ[TIMINGS_VARIABLE])
    with (folder / f"{os.getpid()}.tsv").open("a", encoding="utf-8") as out:
        out.write(line)


def main(argv: list[str]) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wikivisage.settings")
    from celery import signals

    from wikivisage.celery import app

    signals.worker_process_init.connect(_time_detection, weak=False)
    signals.task_prerun.connect(_task_started, weak=False)
    signals.task_postrun.connect(_task_finished, weak=False)
    app.worker_main(argv)


if __name__ == "__main__":
    main(sys.argv[1:])
