"""The face engine stands alone: every module of it imports without Django, Celery, an app or
an HTTP client."""

from __future__ import annotations

import json
import subprocess
import sys

from django.conf import settings

# What a worker, the model server or a benchmark must not need to load to run the engine.
OUTSIDE_THE_ENGINE = {
    "django",
    "celery",
    "requests",
    "wikivisage",
    "depicts",
    "faces",
    "projects",
    "commons",
}

IMPORT_ALL = """
import json, pkgutil, importlib, sys
import faceengine
names = [m.name for m in pkgutil.walk_packages(faceengine.__path__, "faceengine.")]
for name in names:
    importlib.import_module(name)
print(json.dumps({"modules": names, "loaded": sorted({m.split(".")[0] for m in sys.modules})}))
"""


def test_every_engine_module_imports_without_django_celery_an_app_or_http() -> None:
    # A fresh interpreter: the test process has Django loaded already. Imports that a
    # third-party package makes count too, which import-linter's contract does not see.
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_ALL],
        capture_output=True,
        text=True,
        check=True,
        cwd=settings.BASE_DIR,
    )
    answer = json.loads(result.stdout)
    assert "faceengine.learner.questions" in answer["modules"]
    assert "faceengine.wire" in answer["modules"]
    assert set(answer["loaded"]).isdisjoint(OUTSIDE_THE_ENGINE), answer["loaded"]
