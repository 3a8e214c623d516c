"""The real services some tests need, and the skip that says how to start each one missing.

Without `DATABASE_URL`, `REDIS_URL` or an AMQP `CELERY_BROKER_URL` the suite runs on SQLite, the
file cache and kombu's filesystem broker, and the tests that need the real thing skip here,
naming the variable and the command that starts the service. CI sets `TESTS_FORBID_SKIPS=1`, so
there a missing service fails the run (tests/conftest.py).

Tests of outages point a service at `free_port()`, where nothing listens (`unreachable_redis`).
"""

from __future__ import annotations

import socket

import pytest
from django.conf import settings
from django.db import connection

POSTGRESQL = "PostgreSQL"
REDIS = "Redis"
RABBITMQ = "RabbitMQ"

_HOW_TO_GET = {
    POSTGRESQL: (
        "DATABASE_URL=postgres://postgres@127.0.0.1:5432/jobboard",
        "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
    ),
    REDIS: (
        "REDIS_URL=redis://127.0.0.1:6379/15",
        "redis-server --daemonize yes --port 6379 --save '' --appendonly no",
    ),
    RABBITMQ: (
        "CELERY_BROKER_URL=amqp://guest:guest@127.0.0.1:5672//",
        "rabbitmq-server -detached",
    ),
}


def _available(service: str) -> bool:
    if service == POSTGRESQL:
        return connection.vendor == "postgresql"
    if service == REDIS:
        return bool(settings.REDIS_URL)
    return settings.CELERY_BROKER_URL.startswith("amqp")


def require(*services: str, why: str) -> None:
    """Skip the calling test unless every one of `services` is configured; `why` says what needs
    them ("end-to-end tests", "a real concurrent race")."""
    missing = [service for service in services if not _available(service)]
    if missing:
        pytest.skip(
            f"{why}: missing "
            + " and ".join(
                f"{service} ({_HOW_TO_GET[service][0]}; start it with '{_HOW_TO_GET[service][1]}')"
                for service in missing
            )
        )


def free_port() -> int:
    """A local TCP port nothing listens on now: for a server a test starts, or a dead service."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def unreachable_redis() -> dict:
    """A `CACHES` setting whose Redis is down: a closed port, one-second timeouts."""
    return {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
            "KEY_PREFIX": "jobboard",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
