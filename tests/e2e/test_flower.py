"""Flower, started by the Procfile's command (the one `make run` and docker-compose.yml run),
against a real worker: closed without the credentials of `FLOWER_BASIC_AUTH`, and showing the
worker with them.

Needs PostgreSQL and RabbitMQ, like every end-to-end test (see `require_services`).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from email.message import Message
from pathlib import Path

import pytest

from tests import procfile
from tests.e2e.conftest import ROOT, ProcessHandle, wait_until
from tests.services import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CREDENTIALS = "ops:flower-Test-Pass-7"


def get(url: str, credentials: str | None = None) -> tuple[int, Message, bytes]:
    request = urllib.request.Request(url)  # noqa: S310 (loopback only)
    if credentials is not None:
        token = base64.b64encode(credentials.encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


@pytest.fixture
def start_flower(celery_env, tmp_path) -> Iterator[Callable[..., tuple[str, ProcessHandle]]]:
    """Run the Procfile's flower line through `sh`, as honcho does, with the virtualenv's
    programs first on the PATH (as `make run` puts them); stopped after the test."""
    handles: list[ProcessHandle] = []

    def start(**env: str | None) -> tuple[str, ProcessHandle]:
        """Start Flower with `env` on top of the worker's environment (None: unset)."""
        port = free_port()
        log_path = tmp_path / "flower.log"
        environment = {
            **celery_env,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "FLOWER_HOST": "127.0.0.1",
            "FLOWER_PORT": str(port),
            **env,
        }
        environment = {name: value for name, value in environment.items() if value is not None}
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                ["/bin/sh", "-c", procfile.commands()["flower"]],
                cwd=ROOT,
                env=environment,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        handle = ProcessHandle(process, log_path)
        handles.append(handle)
        base = f"http://127.0.0.1:{port}"

        def answering() -> bool:
            try:
                return get(f"{base}/healthcheck")[0] == 200
            except OSError:
                return False

        wait_until(
            lambda: answering() or process.poll() is not None, timeout=30, what="Flower to start"
        )
        if process.poll() is not None:
            pytest.fail(f"Flower exited:\n{handle.log()[-3000:]}")
        return base, handle

    yield start
    for handle in handles:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(handle.process.pid, signal.SIGTERM)
        handle.stop()


def test_flower_requires_the_configured_credentials_and_shows_the_running_worker(
    start_celery, start_flower
):
    worker = start_celery()
    base, _ = start_flower(FLOWER_BASIC_AUTH=CREDENTIALS)

    status, headers, _ = get(f"{base}/")
    assert status == 401
    assert headers.get("WWW-Authenticate", "").startswith("Basic")  # a browser asks for them
    assert get(f"{base}/api/workers")[0] == 401
    # The Procfile's fallback is admin:admin; the configured credentials replace it.
    assert get(f"{base}/api/workers", "admin:admin")[0] == 401
    assert get(f"{base}/api/workers", CREDENTIALS.replace("7", "8"))[0] == 401

    workers: dict = {}

    def worker_listed() -> bool:
        nonlocal workers
        status, _, body = get(f"{base}/api/workers?refresh=1", CREDENTIALS)
        assert status == 200, body
        workers = json.loads(body)
        return worker.node in workers

    wait_until(worker_listed, timeout=30, what=f"Flower to list {worker.node}")
    queues = {queue["name"] for queue in workers[worker.node]["active_queues"]}
    assert queues == {"outbox", "notifications", "listings", "maintenance", "alerts", "webhooks"}

    status, _, page = get(f"{base}/worker/{worker.node}", CREDENTIALS)
    assert status == 200
    assert worker.node.encode() in page


def test_flower_falls_back_to_the_procfile_credentials_when_none_are_configured(
    start_celery, start_flower
):
    start_celery()
    base, _ = start_flower(FLOWER_BASIC_AUTH=None)

    assert get(f"{base}/api/workers")[0] == 401
    assert get(f"{base}/api/workers", "admin:admin")[0] == 200
