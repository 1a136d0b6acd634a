FROM python:3.11-slim-bookworm
RUN apt-get update && apt-get install -y --no-install-recommends \
        pkg-config libmariadb-dev gcc gettext libgl1 libglib2.0-0 \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY wikivisage wikivisage
COPY projects projects
COPY faces faces
COPY commons commons
RUN pip install --no-cache-dir . && pip install --no-cache-dir --no-deps face_recognition==1.3.0
COPY . .
ENV DJANGO_SETTINGS_MODULE=wikivisage.settings PYTHONUNBUFFERED=1
USER nobody
EXPOSE 8000
