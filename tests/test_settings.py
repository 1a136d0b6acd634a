"""Settings come from the environment and refuse an unsafe production start."""

from __future__ import annotations

import os
import re
import secrets
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from tests.workers import celery_worker, wait_for
from wikivisage.health.models import Heartbeat
from wikivisage.settings.base import env_bool

ROOT = Path(__file__).resolve().parent.parent


def manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``manage.py`` as production runs it: the default settings module, not the test one that
    pytest-django exports to this process's environment."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))}
    clean["DJANGO_SETTINGS_MODULE"] = "wikivisage.settings"
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


def test_the_embedded_broker_looks_for_messages_often(tmp_path):
    """kombu's filesystem transport polls: at its own 1 s a worker idled between tasks."""
    code = (
        "from django.conf import settings as s; "
        "print(s.CELERY_BROKER_TRANSPORT_OPTIONS['polling_interval'])"
    )
    embedded = {"DJANGO_DEBUG": "true", "CELERY_BROKER_URL": ""}
    default = manage("shell", "--no-imports", "-c", code, **embedded)
    assert default.returncode == 0, default.stderr
    assert float(default.stdout) <= 0.05
    tuned = manage(
        "shell", "--no-imports", "-c", code, WIKIVISAGE_BROKER_POLL_SECONDS="0.5", **embedded
    )
    assert float(tuned.stdout) == 0.5


def test_embedded_defaults_need_no_server():
    code = "from django.db import connection; print(connection.vendor)"
    result = manage("shell", "--no-imports", "-c", code, DJANGO_DEBUG="true", CELERY_BROKER_URL="")
    assert result.stdout.split()[0] == "sqlite"


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


OAUTH = {
    "SOCIAL_AUTH_MEDIAWIKI_KEY": "consumer-key",
    "SOCIAL_AUTH_MEDIAWIKI_SECRET": "consumer-secret",
}
PRODUCTION = {
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
    "DJANGO_ALLOWED_HOSTS": "wikivisage.toolforge.org",
}


def test_oauth_without_a_token_key_refuses_to_start():
    result = manage("check", "--deploy", **PRODUCTION, **OAUTH, WIKIVISAGE_TOKEN_KEY="")
    assert result.returncode != 0
    assert "WIKIVISAGE_TOKEN_KEY is not" in result.stderr


def test_a_token_key_that_is_not_a_fernet_key_is_refused():
    result = manage("check", **PRODUCTION, **OAUTH, WIKIVISAGE_TOKEN_KEY="not-a-key")
    assert result.returncode != 0
    assert "not a Fernet key" in result.stderr


def test_oauth_with_a_token_key_passes_check_deploy():
    key = Fernet.generate_key().decode()
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        **PRODUCTION,
        **OAUTH,
        WIKIVISAGE_TOKEN_KEY=f"{key},{Fernet.generate_key().decode()}",
    )
    assert result.returncode == 0, result.stderr


PAGE_ASSETS = """
import re
from django.test import Client
client = Client()
page = client.get('/login/', secure=True, HTTP_HOST='wikivisage.toolforge.org')
assert page.status_code == 200, page.status_code
html = page.content.decode()
assets = re.findall(r'(?:href|src)="(/static/[^"]+)"', html)
assert any(a.endswith('.css') for a in assets) and any(a.endswith('.js') for a in assets), assets
for asset in assets:
    answer = client.get(asset, secure=True, HTTP_HOST='wikivisage.toolforge.org')
    body = b''.join(answer.streaming_content) if answer.streaming else answer.content
    print(answer.status_code, len(body), asset)
"""


def test_production_settings_serve_every_css_and_js_of_a_page(tmp_path):
    """Static files come from collectstatic's folder through WhiteNoise, hashed names included."""
    env = {**PRODUCTION, "DJANGO_STATIC_ROOT": str(tmp_path / "static")}
    collected = manage("collectstatic", "--no-input", "-v0", **env)
    assert collected.returncode == 0, collected.stderr
    result = manage("shell", "--no-imports", "-c", PAGE_ASSETS, **env)
    assert result.returncode == 0, result.stderr
    lines = [line.split() for line in result.stdout.splitlines()]
    assert lines, result.stdout
    for status, size, asset in lines:
        assert (status, int(size) > 0) == ("200", True), asset
        assert re.search(r"\.[0-9a-f]{12}\.(css|js|svg)$", asset), f"{asset}: not a hashed name"


# --- yes/no variables ------------------------------------------------------------------------

YES = ["true", "1", "yes", "on", "TRUE", "Yes", " on "]
NO = ["false", "0", "no", "off", "FALSE", "No", " off "]
YES_NO_VARIABLES = [
    "DJANGO_DEBUG",
    "DJANGO_SECURE_SSL_REDIRECT",
    "DJANGO_SECURE_COOKIES",
]


@pytest.mark.parametrize(("raw", "value"), [(raw, True) for raw in YES] + [(r, False) for r in NO])
def test_a_yes_no_variable_takes_the_usual_spellings_in_any_case(monkeypatch, raw, value):
    monkeypatch.setenv("WIKIVISAGE_TEST_SWITCH", raw)
    assert env_bool("WIKIVISAGE_TEST_SWITCH", default=not value) is value


@pytest.mark.parametrize("default", [True, False])
def test_an_empty_yes_no_variable_means_its_default(monkeypatch, default):
    monkeypatch.setenv("WIKIVISAGE_TEST_SWITCH", "")
    assert env_bool("WIKIVISAGE_TEST_SWITCH", default=default) is default


@pytest.mark.parametrize("name", YES_NO_VARIABLES)
def test_a_yes_no_variable_with_any_other_value_stops_the_start_naming_it(name):
    """``DJANGO_DEBUG=flase`` must not quietly mean production (nor anything else)."""
    result = manage("check", **{"DJANGO_DEBUG": "true", name: "flase"})
    assert result.returncode != 0
    assert f"{name}='flase' is not a yes/no value" in result.stderr


# --- the test settings -----------------------------------------------------------------------

TEST_SETTINGS = """
from django.conf import settings as s
print(bool(s.SECRET_KEY), s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, s.PASSWORD_HASHERS[0])
print(s.DATABASES['default']['TEST']['NAME'], s.WIKIVISAGE_BROKER_DIR)
"""


def test_test_settings_need_no_secret_and_speak_http_even_with_debug_off(tmp_path):
    data = tmp_path / "data"
    result = manage(
        "shell",
        "--no-imports",
        "-c",
        TEST_SETTINGS,
        DJANGO_SETTINGS_MODULE="wikivisage.settings.test",
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY="",
        WIKIVISAGE_DATA_DIR=str(data),
        WIKIVISAGE_BROKER_DIR="",
        CELERY_BROKER_URL="",
    )
    assert result.returncode == 0, result.stderr
    first, second = (line.split() for line in result.stdout.splitlines())
    assert first == ["True", "False", "False", "django.contrib.auth.hashers.MD5PasswordHasher"]
    database, broker = (Path(name) for name in second)
    # One per run: the same process id names both, so that runs side by side share neither.
    assert re.fullmatch(r"test-\d+\.sqlite3", database.name) and database.parent == data
    assert broker.name == f"broker-test-{database.stem.removeprefix('test-')}"


# --- folders are made where they are needed, never at import --------------------------------


def fresh_data_folder(tmp_path: Path) -> dict[str, str]:
    """The embedded defaults (SQLite, filesystem broker) in a data folder not made yet."""
    return {
        "DJANGO_DEBUG": "true",
        "WIKIVISAGE_DATA_DIR": str(tmp_path / "data"),
        "WIKIVISAGE_BROKER_DIR": "",
        "CELERY_BROKER_URL": "",
    }


@pytest.mark.parametrize("module", ["wikivisage.settings", "wikivisage.settings.test"])
def test_loading_the_settings_makes_no_folder(tmp_path, module):
    env = fresh_data_folder(tmp_path)
    result = manage("check", DJANGO_SETTINGS_MODULE=module, **env)
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "data").exists()


SEND_A_PING = "from wikivisage.health.services import heartbeat_send; print(heartbeat_send().token)"


def answered(database: Path, token: str) -> bool:
    with sqlite3.connect(database) as db:
        table = Heartbeat._meta.db_table
        query = f"SELECT answered_at FROM {table} WHERE token = ?"
        row = db.execute(query, (token.replace("-", ""),)).fetchone()
    return bool(row and row[0])


@pytest.mark.worker
def test_a_fresh_data_folder_is_made_by_migrate_the_sender_and_the_worker(tmp_path):
    """migrate makes the SQLite file's folder; the first message sent makes the broker's,
    and a worker started afterwards on the same folders runs it."""
    env = fresh_data_folder(tmp_path)
    data = tmp_path / "data"
    migrated = manage("migrate", "--no-input", "-v0", **env)
    assert migrated.returncode == 0, migrated.stderr
    assert (data / "wikivisage.sqlite3").exists()
    assert not (data / "broker").exists()  # nothing was sent

    sent = manage("shell", "--no-imports", "-c", SEND_A_PING, **env)
    assert sent.returncode == 0, sent.stderr
    assert len(list((data / "broker" / "queue").iterdir())) == 1, sent.stderr

    database = data / "wikivisage.sqlite3"
    worker_env = {
        **env,
        "DJANGO_SETTINGS_MODULE": "wikivisage.settings",
        "DATABASE_URL": f"sqlite:///{database}",
    }
    with celery_worker(extra_env=worker_env, purge=False) as worker:
        token = sent.stdout.strip()
        assert wait_for(lambda: answered(database, token)), "".join(worker.output[-30:])
