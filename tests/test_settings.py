"""Settings come from the environment and refuse an unsafe production start."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))}
    clean.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_start_without_secret_key_fails_with_a_clear_message():
    result = manage("check", DJANGO_DEBUG="false", DJANGO_SECRET_KEY="")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in result.stderr


def test_check_deploy_passes_with_production_variables():
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="wikivisage.toolforge.org",
    )
    assert result.returncode == 0, result.stderr


def test_debug_mode_runs_without_a_secret_key():
    result = manage("check", DJANGO_DEBUG="true", DJANGO_SECRET_KEY="")
    assert result.returncode == 0, result.stderr


def test_database_and_broker_come_from_the_environment():
    code = (
        "from django.conf import settings as s; "
        "print(s.DATABASES['default']['ENGINE'], s.CELERY_BROKER_URL, "
        "s.CELERY_BROKER_TRANSPORT_OPTIONS.get('global_keyprefix'))"
    )
    result = manage(
        "shell",
        "--no-imports",
        "-c",
        code,
        DJANGO_DEBUG="true",
        DATABASE_URL="mysql://root@127.0.0.1:3306/wikivisage",
        CELERY_BROKER_URL="redis://127.0.0.1:6379/0",
        CELERY_KEY_PREFIX="secret-prefix:",
    )
    assert result.stdout.split() == [
        "django.db.backends.mysql",
        "redis://127.0.0.1:6379/0",
        "secret-prefix:",
    ]


def test_embedded_defaults_need_no_server():
    code = "from django.conf import settings as s; print(s.DATABASES['default']['ENGINE'])"
    result = manage("shell", "--no-imports", "-c", code, DJANGO_DEBUG="true", CELERY_BROKER_URL="")
    assert result.stdout.split()[0] == "django.db.backends.sqlite3"


def test_a_shared_cache_comes_from_the_environment():
    code = "from django.conf import settings as s; print(s.CACHES['default']['BACKEND'])"
    shared = manage(
        "shell",
        "--no-imports",
        "-c",
        code,
        DJANGO_DEBUG="true",
        CACHE_URL="redis://127.0.0.1:6379/1",
    )
    local = manage("shell", "--no-imports", "-c", code, DJANGO_DEBUG="true")
    assert shared.stdout.strip().endswith("RedisCache")
    assert local.stdout.strip().endswith("LocMemCache")
