"""WikiVisage settings: everything comes from the environment (see .env.example).

With nothing set, the tool runs on an embedded SQLite database and Celery's filesystem
broker under ``var/``, so a fresh clone needs no server. Production sets ``DATABASE_URL``
(MariaDB) and ``CELERY_BROKER_URL`` (Redis) and must set a secret key.

Nothing here touches the disk: the SQLite file's folder is made when the database is first
opened (``wikivisage/sqlite3``), the broker's and beat's folders when Celery first needs them
(``wikivisage/celery.py``). The test suite extends these settings in ``test.py``.
"""

from __future__ import annotations

import os
from pathlib import Path

import environ
import requests
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


def env_bool(name: str, *, default: bool) -> bool:
    """A yes/no variable: true/false, 1/0, yes/no or on/off in any case; empty means the default.

    django-environ reads any other text as False, so a typo such as ``DJANGO_DEBUG=flase``
    would silently mean production: here it stops the start, naming the variable.
    """
    raw = env.str(name, default="")
    value = raw.strip().lower()
    if not value:
        return default
    if value in _TRUE | _FALSE:
        return value in _TRUE
    raise ImproperlyConfigured(
        f"{name}={raw!r} is not a yes/no value: use true/false, 1/0, yes/no or on/off."
    )


VERSION = "0.1.0"
DEBUG = env_bool("DJANGO_DEBUG", default=False)

DATA_DIR = Path(env.str("WIKIVISAGE_DATA_DIR", default=str(BASE_DIR / "var")))
WIKIVISAGE_DATA_DIR = DATA_DIR
FACES_DATA_DIR = Path(env.str("FACES_DATA_DIR", default=str(BASE_DIR.parent / "shared/data/faces")))


# A development-only key: never used when debug is off, except by the test settings.
_DEVELOPMENT_SECRET_KEY = "dev-insecure-wikivisage-key-do-not-use-in-production-0123456789"
# Python runs this package's __init__ (so this file) before any of its submodules: when Django
# was asked for one that extends these settings (wikivisage.settings.test), that one sets the key.
_EXTENDED = os.environ.get("DJANGO_SETTINGS_MODULE", "wikivisage.settings") not in {
    "wikivisage.settings",
    __name__,
}


def _secret_key() -> str:
    key = env.str("DJANGO_SECRET_KEY", default="")
    if key or DEBUG:
        return key or _DEVELOPMENT_SECRET_KEY
    if _EXTENDED:
        return ""
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY is not set. Set it to a long random string "
        "(python -c 'import secrets; print(secrets.token_urlsafe(50))'), "
        "or set DJANGO_DEBUG=true for local development."
    )


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "modeltranslation",  # must precede django.contrib.admin
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "social_django",
    "projects",
    "faces",
    "commons",
    "depicts",
    "wikivisage.health",
    # Last: the site's admin (moderation) replaces the User admin of django.contrib.auth.
    "wikivisage",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files in production, from STATIC_ROOT with hashed, compressed names.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "wikivisage.middleware.ContentSecurityPolicyMiddleware",
    # The site's scripts take a JSON refusal they expect as an answer, not a console error.
    "wikivisage.middleware.ExpectedRefusalMiddleware",
    # A failed or refused Wikimedia login becomes a message on the login page, never a 500.
    "wikivisage.middleware.WikimediaLoginErrorMiddleware",
]

ROOT_URLCONF = "wikivisage.urls"
WSGI_APPLICATION = "wikivisage.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "social_django.context_processors.backends",
                "wikivisage.context_processors.site",
                "projects.context_processors.notifications",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'wikivisage.sqlite3'}")
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.mysql":
    # ToolsDB caps connections per tool: keep them short-lived, and utf8mb4 for every title.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"charset": "utf8mb4", "init_command": "SET sql_mode='STRICT_TRANS_TABLES'"}
    )
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=0)
    DATABASES["default"]["TEST"] = {"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_unicode_ci"}
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web process and the workers share the file: wait for a lock rather than fail,
    # take the write lock when a transaction starts (a read that later writes would
    # otherwise fail at once with "database is locked"), and let readers run beside a writer.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
    # Django's SQLite backend, which also makes the file's folder right before it opens it.
    DATABASES["default"]["ENGINE"] = "wikivisage.sqlite3"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Rate limits and other short-lived state: per process by default; set CACHE_URL
# (e.g. redis://127.0.0.1:6379/1) so that every web process shares them.
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}
if CACHES["default"]["BACKEND"].endswith("RedisCache"):
    CACHES["default"]["KEY_PREFIX"] = env.str("CELERY_KEY_PREFIX", default="wikivisage:")
    # Every request reads the session: from the shared cache, the database only on a miss
    # (written to both). Not with a per-process cache: a logout in one process would leave
    # the session alive in the others' copies.
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
else:
    # Database sessions, their read compiled once per process (wikivisage/sessions.py).
    SESSION_ENGINE = "wikivisage.sessions"

# --- Auth -----------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    # social-core's MediaWiki backend, fixed for the integer user id MediaWiki sends.
    "commons.oauth.MediaWikiOAuth",
    "django.contrib.auth.backends.ModelBackend",
]
SOCIAL_AUTH_PIPELINE = (
    "social_core.pipeline.social_auth.social_details",
    "social_core.pipeline.social_auth.social_uid",
    "social_core.pipeline.social_auth.auth_allowed",
    "social_core.pipeline.social_auth.social_user",
    "social_core.pipeline.user.get_username",
    "social_core.pipeline.user.create_user",
    "social_core.pipeline.social_auth.associate_user",
    # social-auth's load_extra_data, with the access token sealed (Fernet) before it is saved.
    "commons.oauth.load_sealed_extra_data",
    "social_core.pipeline.user.user_details",
)
DEFAULT_EXCEPTION_REPORTER_FILTER = "commons.oauth.TokenSafeExceptionReporterFilter"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "projects:dashboard"
LOGOUT_REDIRECT_URL = "home"

SOCIAL_AUTH_MEDIAWIKI_KEY = env.str("SOCIAL_AUTH_MEDIAWIKI_KEY", default="")
SOCIAL_AUTH_MEDIAWIKI_SECRET = env.str("SOCIAL_AUTH_MEDIAWIKI_SECRET", default="")
SOCIAL_AUTH_MEDIAWIKI_URL = env.str(
    "SOCIAL_AUTH_MEDIAWIKI_URL", default="https://meta.wikimedia.org/w/index.php"
)
SOCIAL_AUTH_MEDIAWIKI_CALLBACK = env.str("SOCIAL_AUTH_MEDIAWIKI_CALLBACK", default="oob")
SOCIAL_AUTH_URL_NAMESPACE = "social"
SOCIAL_AUTH_JSONFIELD_ENABLED = True
SOCIAL_AUTH_LOGIN_ERROR_URL = "login"
_OAUTH_CONFIGURED = bool(SOCIAL_AUTH_MEDIAWIKI_KEY and SOCIAL_AUTH_MEDIAWIKI_SECRET)


def _token_key() -> str:
    """The Fernet key(s) that seal OAuth tokens at rest (commons/oauth.py).

    A Wikimedia login stores a token that edits in the user's name: with OAuth configured,
    the tool refuses to start without a usable key rather than store that token in the clear.
    """
    keys = env.str("WIKIVISAGE_TOKEN_KEY", default="")
    if not _OAUTH_CONFIGURED:
        return keys
    if not keys.strip():
        raise ImproperlyConfigured(
            "SOCIAL_AUTH_MEDIAWIKI_KEY is set but WIKIVISAGE_TOKEN_KEY is not: Wikimedia "
            "tokens would be stored unencrypted. Make a key with python -c 'from "
            "cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'."
        )
    for key in filter(None, (part.strip() for part in keys.split(","))):
        try:
            Fernet(key)
        except ValueError:
            raise ImproperlyConfigured(
                "WIKIVISAGE_TOKEN_KEY holds a key that is not a Fernet key "
                "(32 url-safe base64-encoded bytes)."
            ) from None
    return keys


WIKIVISAGE_TOKEN_KEY = _token_key()

# --- Wikimedia ------------------------------------------------------------------------
COMMONS_API_URL = env.str("COMMONS_API_URL", default="https://commons.wikimedia.org/w/api.php")
WIKIDATA_API_URL = env.str("WIKIDATA_API_URL", default="https://www.wikidata.org/w/api.php")
WIKIVISAGE_TOOL_URL = env.str("WIKIVISAGE_TOOL_URL", default="https://wikivisage.toolforge.org")
WIKIVISAGE_CONTACT = env.str("WIKIVISAGE_CONTACT", default="wikivisage@toolforge.org")
WIKIVISAGE_HTTP_TIMEOUT = env.float("WIKIVISAGE_HTTP_TIMEOUT", default=30.0)
WIKIVISAGE_CHANGE_TAG = env.str("WIKIVISAGE_CHANGE_TAG", default="")
WIKIVISAGE_EDITS_PER_SECOND = env.float("WIKIVISAGE_EDITS_PER_SECOND", default=1.0)
# The request header (as a META key) in which the trusted front proxy appends the client's
# address, for the rate limits of anonymous requests; empty: REMOTE_ADDR. On Toolforge
# HTTP_X_FORWARDED_FOR, of which only the last entry, the one the proxy added, is used (the
# entries left of it come from the client, who can write anything there); see ratelimit.py.
WIKIVISAGE_CLIENT_IP_HEADER = env.str("WIKIVISAGE_CLIENT_IP_HEADER", default="")
# A failed write goes back to the queue and is tried again after this, doubling each time.
WIKIVISAGE_WRITE_RETRY_SECONDS = env.float("WIKIVISAGE_WRITE_RETRY_SECONDS", default=30.0)
# A detect worker that has held an image this long is taken for dead; the image is retaken.
WIKIVISAGE_DETECT_CLAIM_TIMEOUT = env.int("WIKIVISAGE_DETECT_CLAIM_TIMEOUT", default=900)
# A pending image untouched this long lost its task message; the sweep queues it again.
WIKIVISAGE_REQUEUE_PENDING_AFTER = env.int("WIKIVISAGE_REQUEUE_PENDING_AFTER", default=6 * 3600)
# A write worker silent this long is taken for dead (above the write task's 300 s limit).
WIKIVISAGE_WRITE_CLAIM_TIMEOUT = env.int("WIKIVISAGE_WRITE_CLAIM_TIMEOUT", default=600)
WIKIVISAGE_RECRAWL_HOURS = env.float("WIKIVISAGE_RECRAWL_HOURS", default=24.0)
# A file younger than this is not detected yet: many new uploads are deleted within days
# (MachineVision waits 48 h: $wgMachineVisionNewUploadLabelingJobDelay). 0: no wait.
WIKIVISAGE_NEW_UPLOAD_WAIT_HOURS = env.float("WIKIVISAGE_NEW_UPLOAD_WAIT_HOURS", default=48.0)
# Off: files younger than that wait when a crawl first finds them (and files re-uploaded
# since) are never detected while it stays off; older files are processed as ever.
WIKIVISAGE_PROCESS_NEW_UPLOADS = env.bool("WIKIVISAGE_PROCESS_NEW_UPLOADS", default=True)
# What a learner process keeps between re-scorings (faces/services/learner_memory.py).
WIKIVISAGE_LEARNER_MEMORY_MB = env.int("WIKIVISAGE_LEARNER_MEMORY_MB", default=512)
# Bounds of one project: a huge or looping category tree stops at this many files, and the
# search for files that already depict the person adds at most this many.
WIKIVISAGE_MAX_FILES_PER_PROJECT = env.int("WIKIVISAGE_MAX_FILES_PER_PROJECT", default=20_000)
WIKIVISAGE_MAX_BOOTSTRAP_FILES = env.int("WIKIVISAGE_MAX_BOOTSTRAP_FILES", default=2_000)
# All the projects one user owns hold at most this many files together: a user may create
# ten projects a minute, and each may crawl up to the per-project bound.
WIKIVISAGE_MAX_FILES_PER_USER = env.int("WIKIVISAGE_MAX_FILES_PER_USER", default=100_000)
# The least time between two thumbnail downloads of one worker process (0: no pause).
COMMONS_DOWNLOAD_THROTTLE_SECONDS = env.float("COMMONS_DOWNLOAD_THROTTLE_SECONDS", default=0.0)
# The most time one thumbnail download may take in all (seconds), however slowly bytes come.
COMMONS_DOWNLOAD_TIMEOUT = env.float("COMMONS_DOWNLOAD_TIMEOUT", default=120.0)
# Who finds and encodes faces (faces/providers.py): "dlib" in the detect worker's own process,
# or "http", a model service speaking the Open Inference Protocol (KServe V2) at
# WIKIVISAGE_DETECTOR_URL, e.g. `python -m benchmarks.modelserver --port 8600`. A request takes at
# most the timeout (seconds) in all, however slowly the answer comes; connection errors and 5xx
# are tried again RETRIES times, then the image waits, pending, and the task is retried later.
# WIKIVISAGE_DETECTORS lists several, in rank order (e.g. "dlib,http"): each detects every photo,
# their boxes are merged, and the first one encodes every face; empty: WIKIVISAGE_DETECTOR alone.
WIKIVISAGE_DETECTOR = env.str("WIKIVISAGE_DETECTOR", default="dlib")
WIKIVISAGE_DETECTORS = env.list("WIKIVISAGE_DETECTORS", default=[])
WIKIVISAGE_DETECTOR_URL = env.str("WIKIVISAGE_DETECTOR_URL", default="")
WIKIVISAGE_DETECTOR_MODEL = env.str("WIKIVISAGE_DETECTOR_MODEL", default="faces")
WIKIVISAGE_DETECTOR_TIMEOUT = env.float("WIKIVISAGE_DETECTOR_TIMEOUT", default=30.0)
WIKIVISAGE_DETECTOR_RETRIES = env.int("WIKIVISAGE_DETECTOR_RETRIES", default=2)
if "WIKIVISAGE_DETECTOR" in os.environ and WIKIVISAGE_DETECTORS:
    raise ImproperlyConfigured("set WIKIVISAGE_DETECTORS or WIKIVISAGE_DETECTOR, not both")
_detectors = WIKIVISAGE_DETECTORS or [WIKIVISAGE_DETECTOR]
if (
    not set(_detectors) <= {"dlib", "http"}
    or len(set(_detectors)) < len(_detectors)
    or ("http" in _detectors and not WIKIVISAGE_DETECTOR_URL)
):
    raise ImproperlyConfigured(
        f"WIKIVISAGE_DETECTORS lists dlib and http, each once, in rank order (not {_detectors}); "
        "WIKIVISAGE_DETECTOR is one of them; http needs WIKIVISAGE_DETECTOR_URL"
    )


def _user_agent() -> str:
    return (
        f"WikiVisage/{VERSION} ({WIKIVISAGE_TOOL_URL}; {WIKIVISAGE_CONTACT}) "
        f"python-requests/{requests.__version__}"
    )


WIKIVISAGE_USER_AGENT = _user_agent()

# --- E-mail (notifications members asked for) -------------------------------------------
# EMAIL_URL as django-environ reads it, e.g. smtp://mail.tools.wmcloud.org:25 or
# smtp+tls://user:password@host:587; unset: printed by the worker (console), nothing sent.
# The links in an e-mail start with WIKIVISAGE_TOOL_URL.
globals().update(
    {
        name: value
        for name, value in env.email_url("EMAIL_URL", default="consolemail://").items()
        if value not in (None, "")
    }
)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default=f"WikiVisage <{WIKIVISAGE_CONTACT}>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Seconds a worker waits for the mail server before the e-mail task retries later.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)

# --- Celery ---------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="") or "filesystem://"
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="") or None
WIKIVISAGE_BROKER_DIR = Path(env.str("WIKIVISAGE_BROKER_DIR", default="") or DATA_DIR / "broker")


# kombu's filesystem transport cannot wait for a message: a worker that is idle, or whose
# processes are all busy, looks at its folder again after this many seconds. At kombu's 1 s
# the workers idled 70 % of a run (benchmarks/pipeline.py); at 0.02 s 9 % (Redis: 3-6 %),
# and an idle worker costs 2 % of a core (0.01 s: 3 %, for 5 ms less wait per task).
WIKIVISAGE_BROKER_POLL_SECONDS = env.float("WIKIVISAGE_BROKER_POLL_SECONDS", default=0.02)


def _filesystem_broker_options(folder: Path) -> dict[str, object]:
    """kombu's filesystem transport in ``folder`` (wikivisage/celery.py makes the folders)."""
    return {
        "data_folder_in": str(folder / "queue"),
        "data_folder_out": str(folder / "queue"),
        "processed_folder": str(folder / "processed"),
        "store_processed": False,
        "control_folder": str(folder / "control"),
        "polling_interval": WIKIVISAGE_BROKER_POLL_SECONDS,
    }


CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object]
CELERY_BROKER_TRANSPORT: str | None = None
if CELERY_BROKER_URL.startswith("filesystem://"):
    # kombu's filesystem transport, writing each message whole (wikivisage/broker.py).
    CELERY_BROKER_TRANSPORT = "wikivisage.broker:Transport"
    CELERY_BROKER_TRANSPORT_OPTIONS = _filesystem_broker_options(WIKIVISAGE_BROKER_DIR)
else:
    # Toolforge's Redis is shared between tools: every key carries our secret prefix.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "global_keyprefix": env.str("CELERY_KEY_PREFIX", default="wikivisage:"),
        "visibility_timeout": 3600,
    }
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=600)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=540)
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A pool process of a detect worker loads the face models as it starts (faces/tasks.py), about
# 0.5 s; Celery's default wait for a starting process (4 s) is short on a busy machine.
CELERY_WORKER_PROC_ALIVE_TIMEOUT = 30
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    "recrawl-active-projects": {
        "task": "faces.crawl.recrawl_active",
        "schedule": WIKIVISAGE_RECRAWL_HOURS * 3600,
    },
    "reclaim-stale-images": {
        "task": "faces.detect.reclaim",
        "schedule": max(60, WIKIVISAGE_DETECT_CLAIM_TIMEOUT // 3),
    },
    "resume-edits": {"task": "depicts.write.resume", "schedule": 300},
    "learn-reverts": {"task": "depicts.learn.reverts", "schedule": 6 * 3600},
    "learn-pending": {"task": "faces.learn.pending", "schedule": 600},
    # Hourly; each uploader is told at most once a day (wikivisage.uploads.services).
    "uploader-notices": {"task": "wikivisage.default.uploader_notices", "schedule": 3600},
}

# Worker health (/health, /health.json, the admin): beat sends a heartbeat to every queue this
# often, a worker of that queue answers it. A queue with no answer for longer than the stale
# limit has no working worker: /health.json answers 503, and a stalled write queue is reported
# to moderators (admin banner, one mail per stall). Failed tasks are counted per queue over the
# window, then counted again from one.
WIKIVISAGE_HEARTBEAT_SECONDS = env.int("WIKIVISAGE_HEARTBEAT_SECONDS", default=60)
WIKIVISAGE_HEARTBEAT_STALE_SECONDS = env.int("WIKIVISAGE_HEARTBEAT_STALE_SECONDS", default=300)
WIKIVISAGE_FAILURE_WINDOW_SECONDS = env.int("WIKIVISAGE_FAILURE_WINDOW_SECONDS", default=86400)
CELERY_BEAT_SCHEDULE.update(
    {
        f"heartbeat-{queue}": {
            "task": f"health.{queue}.queue_heartbeat",
            "schedule": WIKIVISAGE_HEARTBEAT_SECONDS,
            "args": [queue],
        }
        for queue in ("default", "crawl", "detect", "learn", "write")
    }
)
CELERY_BEAT_SCHEDULE["watch-write-queue"] = {
    "task": "health.default.watch_write_queue",
    "schedule": WIKIVISAGE_HEARTBEAT_SECONDS,
}

# --- i18n -----------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", _("English")),
    ("nb", _("Norwegian Bokmål")),
    ("es", _("Spanish")),
    ("fr", _("French")),
]
MODELTRANSLATION_DEFAULT_LANGUAGE = "en"
MODELTRANSLATION_LANGUAGES = ("en", "nb", "es", "fr")
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "UTC"
USE_TZ = True
# One unambiguous date and time on every page ("7 Dec 2026, 02:43"): wikivisage/formats.
FORMAT_MODULE_PATH = ["wikivisage.formats"]

# --- Static files ---------------------------------------------------------------------
STATIC_URL = "static/"
# Filled by `collectstatic` (the Docker build, Toolforge's build, the journey test) and served
# by WhiteNoise: no web server in front is needed for them.
STATIC_ROOT = Path(env.str("DJANGO_STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        # Hashed names (cached for a year) and gzip/brotli copies, from the manifest that
        # collectstatic writes; development and tests read the source folders instead.
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
# Development serves the source folders as they change; no collectstatic needed.
WHITENOISE_USE_FINDERS = WHITENOISE_AUTOREFRESH = DEBUG
# The admin's translation tabs (django-modeltranslation) load jQuery UI from a CDN by
# default, which is blocked offline and by the Content Security Policy: served from here
# (the setting has no MODELTRANSLATION_ prefix).
JQUERY_UI_URL = "vendor/jquery-ui/jquery-ui.min.js"

# --- Security -------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Read in development too, so that a bad value is caught before it reaches production.
_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
_SECURE_COOKIES = env_bool("DJANGO_SECURE_COOKIES", default=True)
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = _SSL_REDIRECT
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = _SECURE_COOKIES
    SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # At DEBUG these two print access tokens and signed bodies: never let them.
    "loggers": {"oauthlib": {"level": "INFO"}, "requests_oauthlib": {"level": "INFO"}},
}
