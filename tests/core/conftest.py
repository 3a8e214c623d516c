"""Fixtures of the API tests: a real gunicorn serving the test database over HTTP."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection

from core.jobs import listing_cache
from tests.services import POSTGRESQL, REDIS, free_port, require

ROOT = Path(__file__).resolve().parents[2]


def require_postgres_and_redis() -> None:
    """Skip, naming what to start, unless the test database is PostgreSQL (a server process can
    open it, unlike SQLite's in-memory one) and the cache is Redis (shared by its workers)."""
    require(POSTGRESQL, REDIS, why="tests against a real gunicorn")


@dataclass
class HttpAnswer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body)


@dataclass
class Gunicorn:
    base: str
    access_log: Path

    def post(self, path: str, body: bytes | dict, **headers: str) -> HttpAnswer:
        """POST on a new connection (urllib never reuses one), so any worker may answer."""
        return self.request("POST", path, body, **headers)

    def request(
        self, method: str, path: str, body: bytes | dict | None = None, **headers: str
    ) -> HttpAnswer:
        """Any request, on a new connection (urllib never reuses one): any worker may answer."""
        if body is None:
            data = None
        else:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
        request = urllib.request.Request(  # noqa: S310 (loopback only)
            self.base + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json", **headers},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                return HttpAnswer(response.status, dict(response.headers), response.read())
        except urllib.error.HTTPError as error:
            return HttpAnswer(error.code, dict(error.headers), error.read())

    def pids_that_served(self, path: str, *, requests: int) -> list[str]:
        """The worker process of each of the `requests` requests to `path`.

        A worker logs a request just after answering it, so the last lines may lag a moment.
        """
        deadline = time.monotonic() + 10
        while True:
            pids = [
                line.split()[0]
                for line in self.access_log.read_text().splitlines()
                if f" {path} " in line
            ]
            if len(pids) >= requests or time.monotonic() > deadline:
                return pids
            time.sleep(0.05)


@pytest.fixture
def start_gunicorn(transactional_db, tmp_path) -> Iterator[Callable[..., Gunicorn]]:
    """Start gunicorn on a free port, on this test's database and Redis, throttling as shipped.

    The test database must hold committed rows for the server to see them, hence
    `transactional_db`. Every server is stopped after the test.
    """
    require_postgres_and_redis()
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_DEBUG": "false",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "JOBBOARD_VAR_DIR": str(tmp_path),
        "DATABASE_URL": (
            f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:"
            f"{db['PORT'] or 5432}/{db['NAME']}"
        ),
        "DATABASE_CONN_MAX_AGE": "0",
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
    }
    # Throttling as the app ships it (on, login 5/min, no trusted proxy), whatever the shell
    # running the tests overrides.
    for name in ("THROTTLE_ENABLED", "THROTTLE_RATES", "TRUSTED_PROXY_COUNT"):
        env.pop(name, None)
    (tmp_path / "static").mkdir()
    servers: list[subprocess.Popen] = []

    def start(*args: str, **settings_env: str) -> Gunicorn:
        """gunicorn with `args`; `settings_env` (`TRUSTED_PROXY_COUNT="1"`) sets variables."""
        port = free_port()
        access_log = tmp_path / f"access-{port}.log"
        access_log.touch()
        server = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("gunicorn")),
                "jobboard.wsgi",
                "--bind",
                f"127.0.0.1:{port}",
                "--access-logfile",
                str(access_log),
                "--access-logformat",
                "%(p)s %(m)s %(U)s %(s)s",
                *args,
            ],
            env={**env, **settings_env},
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        servers.append(server)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    server.kill()
                    stderr = server.stderr.read().decode()[-2000:]
                    pytest.fail(f"gunicorn did not start: {stderr}")
                time.sleep(0.2)
        return Gunicorn(base, access_log)

    yield start
    for server in servers:
        server.send_signal(signal.SIGINT)  # quick shutdown: nothing in flight is worth waiting for
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.fixture
def listings_cache_on(settings):
    """The listings cache on, empty, and no copy of an earlier test left in this process."""
    settings.LISTINGS_CACHE_ENABLED = True
    cache.clear()
    listing_cache.forget_local()
    yield
    listing_cache.forget_local()
