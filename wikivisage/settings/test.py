"""The test suite's settings: the environment's (base.py) and what a test run needs.

pytest-django selects them (pyproject.toml) and exports DJANGO_SETTINGS_MODULE, so a real
Celery worker process started by a test (tests/workers.py) loads them too; that worker is
given this run's database and broker folder (DATABASE_URL, WIKIVISAGE_BROKER_DIR).
"""

import os

from .base import *  # noqa: F403
from .base import (
    _DEVELOPMENT_SECRET_KEY,
    CELERY_BROKER_URL,
    DATA_DIR,
    DATABASES,
    SECRET_KEY,
    STORAGES,
    _filesystem_broker_options,
    env,
)

SECRET_KEY = SECRET_KEY or _DEVELOPMENT_SECRET_KEY

# Tests log users in by the hundred; a slow password hash buys them nothing.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# The test client and the browser tests speak plain HTTP on loopback.
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = False

# The source folders, as they change: no collectstatic before a test run.
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = WHITENOISE_AUTOREFRESH = True

# One database file and one broker folder per test run (this process's id), so that runs side
# by side share neither. A file, not memory, so that a worker process sees the test data.
_RUN = os.getpid()
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / f"test-{_RUN}.sqlite3")}
if not env.str("WIKIVISAGE_BROKER_DIR", default=""):
    WIKIVISAGE_BROKER_DIR = DATA_DIR / f"broker-test-{_RUN}"
    if CELERY_BROKER_URL.startswith("filesystem://"):
        CELERY_BROKER_TRANSPORT_OPTIONS = _filesystem_broker_options(WIKIVISAGE_BROKER_DIR)
