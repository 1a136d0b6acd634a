"""Settings come from the environment and refuse an unsafe production start."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet

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
