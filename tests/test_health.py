"""Health probes: `/healthz` answers whenever the process does; `/readyz` names each dependency,
answers 503 when one is down and never hangs on one that does not answer.

"Down" is real: the app is pointed at a closed port (or a socket that accepts and never speaks),
in a gunicorn process of its own or through the settings of this one.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client, override_settings

from core.api import throttling
from jobboard import health
from tests.services import POSTGRESQL, RABBITMQ, REDIS, free_port, require, unreachable_redis

ROOT = Path(__file__).resolve().parent.parent
DEPENDENCIES = {"database", "cache", "broker"}


def fetch(url: str, *, method: str = "GET", host: str | None = None):
    request = urllib.request.Request(url, method=method)  # noqa: S310 (loopback only)
    if host:
        request.add_header("Host", host)
    try:
        with urllib.request.urlopen(request, timeout=20) as response:  # noqa: S310
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


# --- /healthz -------------------------------------------------------------------------------------


def test_healthz_is_200_json_and_never_cached():
    response = Client().get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-store" in response["Cache-Control"]
    assert response["X-Request-ID"]


def test_healthz_answers_head_and_refuses_writes():
    client = Client()

    assert client.head("/healthz").status_code == 200
    assert client.post("/healthz").status_code == 405
    assert client.post("/readyz").status_code == 405


def test_healthz_touches_no_dependency(settings):
    # No database access is allowed in this test (no `db` fixture), and the cache and the broker
    # point at a closed port: the probe still answers.
    settings.CELERY_BROKER_URL = f"amqp://guest:guest@127.0.0.1:{free_port()}//"
    with override_settings(CACHES=unreachable_redis()):
        response = Client().get("/healthz")

    assert response.status_code == 200


def test_probes_answer_whatever_host_name_reaches_the_container(db):
    client = Client(headers={"Host": "10.0.0.7:8000"})

    assert client.get("/api/categories/").status_code == 400  # not an allowed host
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200


def test_probes_are_not_part_of_the_api_schema(db):
    paths = Client().get("/api/docs/swagger.json").json()["paths"]

    assert paths
    assert not [path for path in paths if "healthz" in path or "readyz" in path]


def test_probes_are_not_throttled(db, monkeypatch):
    monkeypatch.setattr(throttling.AnonRateThrottle, "rate", "2/min", raising=False)
    client = Client()

    api = [client.get("/api/categories/").status_code for _ in range(3)]
    probes = [client.get(path).status_code for path in ["/healthz", "/readyz"] * 3]

    assert api == [200, 200, 429]  # the API is throttled at this rate...
    assert probes == [200] * 6  # ...the probes are not


# --- /readyz in this process --------------------------------------------------------------------


def test_readyz_is_200_naming_each_dependency_when_all_answer(db):
    response = Client().get("/readyz")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == DEPENDENCIES
    for name, check in body["checks"].items():
        assert check["status"] == "ok", name
        assert isinstance(check["latency_ms"], float), name
    assert "no-store" in response["Cache-Control"]


def test_readyz_checks_the_real_postgresql_redis_and_rabbitmq(db):
    require(POSTGRESQL, REDIS, RABBITMQ, why="readiness against the real services")

    response = Client().get("/readyz")

    assert response.status_code == 200, response.content
    assert {name: check["status"] for name, check in response.json()["checks"].items()} == {
        "database": "ok",
        "cache": "ok",
        "broker": "ok",
    }


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP port that accepts connections and never says a word (a hung dependency)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    for sock in accepted:
        sock.close()
    server.close()


def test_readyz_answers_within_its_timeout_when_the_broker_hangs(db, settings, silent_server):
    settings.HEALTH_CHECK_TIMEOUT_SECONDS = 0.5
    settings.CELERY_BROKER_URL = f"amqp://guest:guest@127.0.0.1:{silent_server}//"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {}

    started = time.monotonic()
    response = Client().get("/readyz")
    elapsed = time.monotonic() - started

    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["broker"]["status"] == "error"
    assert checks["database"]["status"] == "ok"
    assert checks["cache"]["status"] == "ok"
    assert elapsed < 1.5, f"the probe took {elapsed:.2f}s"


def test_a_check_that_never_returns_is_reported_as_a_timeout():
    release = threading.Event()
    started = time.monotonic()

    report = health.run_checks(
        {"stuck": lambda timeout: release.wait(30), "fine": lambda timeout: None}, 0.3
    )
    elapsed = time.monotonic() - started
    release.set()

    assert report["stuck"] == {"status": "error", "latency_ms": 300.0, "error": "timeout"}
    assert report["fine"]["status"] == "ok"
    assert elapsed < 1.0


def test_readyz_is_503_when_the_cache_is_unreachable(db):
    with override_settings(CACHES=unreachable_redis()):
        response = Client().get("/readyz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["cache"]["status"] == "error"
    assert body["checks"]["cache"]["error"]
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["broker"]["status"] == "ok"


# --- /readyz of a gunicorn process with one dependency at a closed port --------------------------


def services_env(tmp_path: Path) -> dict[str, str]:
    """Environment for an app process using the services this test run uses (or the embedded
    defaults when it runs without them)."""
    env = {
        **os.environ,
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": "health-test-key-not-secret",
        # Not the probes' host name: they must answer anyway.
        "DJANGO_ALLOWED_HOSTS": "jobs.example.com",
        "JOBBOARD_VAR_DIR": str(tmp_path),
        "LOG_FORMAT": "json",
        "HEALTH_CHECK_TIMEOUT_SECONDS": "3",
    }
    (tmp_path / "static").mkdir(exist_ok=True)
    db = connection.settings_dict
    if connection.vendor == "postgresql":
        env["DATABASE_URL"] = (
            f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:"
            f"{db['PORT'] or 5432}/{db['NAME']}"
        )
    else:
        env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    if not settings.CELERY_BROKER_URL.startswith("amqp"):
        env.pop("CELERY_BROKER_URL", None)
    return env


@pytest.fixture
def start_app(db, tmp_path) -> Iterator:
    servers: list[subprocess.Popen] = []

    def start(**overrides: str) -> tuple[str, Path]:
        port = free_port()
        log_path = tmp_path / f"gunicorn-{port}.log"
        gunicorn = Path(sys.executable).with_name("gunicorn")
        with log_path.open("wb") as log:
            server = subprocess.Popen(
                [str(gunicorn), "jobboard.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
                env={**services_env(tmp_path), **overrides},
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        servers.append(server)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if fetch(f"{base}/healthz")[0] == 200:
                    return base, log_path
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"gunicorn did not start:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.2)

    yield start
    for server in servers:
        server.terminate()
        server.wait(timeout=10)


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("down", "setting"),
    [
        ("database", "DATABASE_URL=postgres://postgres@127.0.0.1:{port}/jobboard"),
        ("cache", "REDIS_URL=redis://127.0.0.1:{port}/0"),
        ("broker", "CELERY_BROKER_URL=amqp://guest:guest@127.0.0.1:{port}//"),
    ],
)
def test_readyz_is_503_naming_the_dependency_that_is_down(start_app, down, setting):
    name, _, url = setting.partition("=")
    base, log_path = start_app(**{name: url.format(port=free_port())})

    started = time.monotonic()
    status, headers, body = fetch(f"{base}/readyz", host="localhost")
    elapsed = time.monotonic() - started

    assert status == 503, body
    report = json.loads(body)
    assert report["status"] == "unavailable"
    assert set(report["checks"]) == DEPENDENCIES
    assert report["checks"][down]["status"] == "error"
    assert report["checks"][down]["error"]
    for other in DEPENDENCIES - {down}:
        assert report["checks"][other]["status"] == "ok", report
    assert elapsed < 5

    # The same process is alive, and says so.
    assert fetch(f"{base}/healthz", host="localhost")[0] == 200

    # Its JSON log names the failure under the probe's request id.
    lines = [json.loads(line) for line in log_path.read_text().splitlines() if line.startswith("{")]
    probe_lines = [line for line in lines if line["request_id"] == headers["X-Request-ID"]]
    assert any(line.get("dependency") == down for line in probe_lines), probe_lines
    assert any(
        line["logger"] == "jobboard.request" and line["status"] == 503 for line in probe_lines
    ), probe_lines
