# The production image of Nexus Job Board. One image runs every process (web, worker, beat,
# Flower, migrations); the command picks which (docker-compose.yml, and the Procfile for the same
# commands outside Docker). The default command is the web process.

FROM python:3.11-slim AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
# Requirements alone first: this layer, the slow one, is rebuilt only when they change.
COPY requirements/ /tmp/requirements/
RUN /opt/venv/bin/pip install --no-cache-dir -r /tmp/requirements/prod.txt


FROM python:3.11-slim

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=jobboard.settings

RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --no-create-home --home-dir /app \
        --shell /usr/sbin/nologin app

WORKDIR /app
COPY --from=builder /opt/venv /opt/venv
# The code stays owned by root: the processes read it, they never write it.
COPY . .

# The static files (admin, Swagger UI, ReDoc) are collected into the image, where whitenoise
# serves them from gunicorn. The settings refuse DEBUG off without a secret key; collectstatic
# needs no real one, so this RUN alone gets a throwaway key that never reaches the image's
# environment. var/ holds the embedded defaults' local state (SQLite, file cache, filesystem
# broker): the app user may create it there for a trial run without the services, so the broker
# folders loading the settings just created as root go, and var/ itself is the app user's.
RUN DJANGO_SECRET_KEY=collectstatic-only-not-a-secret \
        python manage.py collectstatic --noinput --verbosity 0 \
    && rm -rf var/broker \
    && chown app:app var

# Numeric, so that a runtime that checks "not root" (runAsNonRoot) can verify it.
USER 10001:10001

EXPOSE 8000

# Liveness only (/healthz answers without touching the database, cache or broker), with the
# Python the image already has: slim images have no curl.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]

# The Procfile's web command, listening on every interface of the container; gunicorn.conf.py
# puts its control socket (gunicornc) in var/, the app user's.
CMD ["gunicorn", "jobboard.wsgi", "--config", "gunicorn.conf.py", "--bind", "0.0.0.0:8000", "--workers", "2", "--threads", "4"]
