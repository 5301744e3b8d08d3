# syntax=docker/dockerfile:1
# planbridge: the web service and the sync worker in one image.
#   docker build -t planbridge .
#   docker run -p 8000:8000 planbridge                      # embedded SQLite + embedded worker
#   docker compose up                                         # PostgreSQL, 2 API replicas, 2 workers

ARG PYTHON_VERSION=3.11

# ---- build: install planbridge and its dependencies into a virtualenv --------------------------
FROM python:${PYTHON_VERSION}-slim AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/planbridge
ENV PATH=/opt/planbridge/bin:$PATH

WORKDIR /src
# Dependencies first, from pyproject.toml alone, so a code change does not reinstall them.
COPY pyproject.toml README.md ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt
RUN pip install --upgrade pip setuptools wheel \
    && pip install -r /tmp/requirements.txt

COPY app ./app
COPY connectors ./connectors
COPY sync ./sync
# A regular (non-editable) install: migrations and dashboard templates travel as package data, and
# the connector entry points are registered in the virtualenv.
RUN pip install --no-deps . \
    && python -m compileall -q /opt/planbridge/lib

# ---- runtime: the virtualenv, a non-root user, nothing else -------------------------------------
FROM python:${PYTHON_VERSION}-slim AS runtime

LABEL org.opencontainers.image.title="planbridge" \
      org.opencontainers.image.description="Strategic plans turned into owned action items in Jira, GitHub and Trello." \
      org.opencontainers.image.licenses="Apache-2.0"

RUN groupadd --system --gid 10001 planbridge \
    && useradd --system --uid 10001 --gid planbridge --home-dir /var/lib/planbridge \
       --shell /usr/sbin/nologin planbridge \
    && mkdir -p /var/lib/planbridge \
    && chown planbridge:planbridge /var/lib/planbridge

COPY --from=build /opt/planbridge /opt/planbridge

ENV PATH=/opt/planbridge/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PLANBRIDGE_HOST=0.0.0.0 \
    PLANBRIDGE_PORT=8000 \
    PLANBRIDGE_DATABASE_URL=sqlite:////var/lib/planbridge/planbridge.db

WORKDIR /var/lib/planbridge
# The embedded SQLite database and its key file live here; mount a volume to keep them.
VOLUME ["/var/lib/planbridge"]
USER planbridge:planbridge
EXPOSE 8000

# /healthz answers while the process is up (readiness is /readyz, for the orchestrator's traffic).
# The slim image has no curl: Python's standard library does the request.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PLANBRIDGE_PORT', '8000'), timeout=4)"]

# Exec form: planbridge is PID 1 and gets SIGTERM itself (workers finish their step, then exit).
CMD ["planbridge", "serve"]
