# WikiVisage: one image for the web app (the default command) and every Celery process; see
# docker-compose.yml. It builds from a clean clone (.dockerignore keeps .env, var/, .venv and
# .git out of the context), holds no secret, and runs as an unprivileged user whose only
# writable place is the /data volume.

# --- build: compilers and headers stay in this stage ------------------------------------------
FROM python:3.11-slim-bookworm AS build
# gcc, pkg-config and MariaDB's headers build mysqlclient; gettext compiles the translations.
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc gettext libmariadb-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PATH=/opt/venv/bin:$PATH
RUN python -m venv /opt/venv
WORKDIR /app

# The dependencies before the code, so that a code change does not reinstall them.
# requirements.txt is the lock of pyproject.toml's dependencies (`make lock`): every package,
# setuptools included, at one version, and pip refuses any file whose hash it does not list. dlib
# comes prebuilt from dlib-bin.
# face-recognition-models ships four model files and the app loads two (faceengine.detection: the
# 5-point landmarks and the ResNet; the HOG detector is compiled into dlib). The 68-point
# landmarks (99.7 MB, whose training data's terms exclude commercial use, NOTICE) and the CNN
# detector (0.7 MB) are deleted: the package is data plus four path functions, and nothing
# checks its files. face_recognition itself, which loads both as it is imported and which the
# app never imports (faceengine.detection drives dlib directly), is not installed here.
ARG MODELS=/opt/venv/lib/python3.11/site-packages/face_recognition_models/models
COPY requirements.txt ./
RUN pip install --require-hashes -r requirements.txt \
    && rm $MODELS/shape_predictor_68_face_landmarks.dat $MODELS/mmod_human_face_detector.dat

# The code runs from /app: manage.py, gunicorn and celery import it from the working directory.
COPY manage.py NOTICE ./
COPY core core
COPY wikivisage wikivisage
COPY projects projects
COPY faces faces
COPY faceengine faceengine
COPY commons commons
COPY depicts depicts
COPY templates templates
COPY static static
COPY locale locale

# Translations and static files are made once, here; the containers only read them.
# The settings refuse to start without a secret key when debug is off, so these two commands get
# a throwaway one that exists for this step only (never an ENV line: the image holds no secret).
# WIKIVISAGE_DATA_DIR points at a scratch folder so that nothing is left in /data.
RUN export DJANGO_SECRET_KEY=build-only-throwaway-key WIKIVISAGE_DATA_DIR=/tmp/build-data \
    && python manage.py compilemessages -v0 \
    && python manage.py collectstatic --no-input -v0 \
    && rm -rf /tmp/build-data \
    && python -m compileall -q /app

# --- run ---------------------------------------------------------------------------------------
FROM python:3.11-slim-bookworm
# libmariadb3 is mysqlclient's run-time library; dlib-bin needs only libstdc++, already here.
# The user owns /data and nothing else: /app stays root's and read-only to it.
# The base image's own interpreter keeps the setuptools and wheel it came with (setuptools 65.5
# has known advisories); nothing runs on it (the app runs from /opt/venv), so they go.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libmariadb3 \
    && rm -rf /var/lib/apt/lists/* \
    && python -m pip uninstall -q -y setuptools wheel \
    && useradd --system --uid 10001 --user-group --home-dir /data --no-create-home \
        --shell /usr/sbin/nologin wikivisage \
    && mkdir /data \
    && chown wikivisage:wikivisage /data
COPY --from=build /opt/venv /opt/venv
COPY --from=build /app /app
WORKDIR /app
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=wikivisage.settings \
    DJANGO_STATIC_ROOT=/app/staticfiles \
    WIKIVISAGE_DATA_DIR=/data

# Fails the build when a native library, a module or a model file the app loads is missing.
RUN python -c "import dlib, face_recognition_models, MySQLdb, numpy, PIL" \
    && python -c "from faceengine.detection import load_models; load_models()" \
    && DJANGO_SECRET_KEY=build-only-throwaway-key WIKIVISAGE_DATA_DIR=/tmp/check-data \
        python manage.py check \
    && rm -rf /tmp/check-data

# By number, so that Kubernetes-style runAsNonRoot checks can tell it is not root.
USER 10001:10001
VOLUME /data
EXPOSE 8000

# /health answers 200 anonymously once the database does. The Host header is the first allowed
# host, and X-Forwarded-Proto says https as the TLS proxy in front would: without them Django
# refuses the request (ALLOWED_HOSTS) or redirects it to https (SECURE_SSL_REDIRECT).
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as r; h = (os.environ.get('DJANGO_ALLOWED_HOSTS') or 'localhost').split(',')[0].strip().lstrip('.'); h = h if h not in ('', '*') else 'localhost'; r.urlopen(r.Request('http://127.0.0.1:8000/health', headers={'Host': h, 'X-Forwarded-Proto': 'https', 'Accept': 'application/json'}), timeout=5)"]

# The web app; docker-compose.yml runs the workers, beat and migrations from the same image.
CMD ["sh", "-c", "exec gunicorn wikivisage.wsgi --bind 0.0.0.0:8000 --workers ${WEB_WORKERS:-3} --timeout 30"]
