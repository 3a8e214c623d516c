"""Real processes for end-to-end tests: an SMTP server (aiosmtpd), Celery workers and beat.

These tests need PostgreSQL (the worker must share the test database) and RabbitMQ. Without them
they skip, naming what is missing; in CI (`TESTS_FORBID_SKIPS=1`) a skip is a failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from django.conf import settings
from django.db import connection
from kombu import Connection

from core import circuit_breakers
from tests import procfile
from tests.services import POSTGRESQL, RABBITMQ, free_port, require
from worker.celery import DEAD_LETTER_QUEUE, app

ROOT = Path(__file__).resolve().parents[2]


def wait_until(predicate: Callable[[], bool], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.05)


@dataclass
class ReceivedEmail:
    received_at: float
    envelope_to: list[str]
    message: EmailMessage

    @property
    def message_id(self) -> str:
        return self.message["Message-ID"]

    def text(self) -> str:
        return self.message.get_body(("plain",)).get_content()

    def html(self) -> str:
        return self.message.get_body(("html",)).get_content()


@dataclass
class SmtpSink:
    """An SMTP server that records what it accepts and refuses what a test tells it to."""

    host: str = "127.0.0.1"
    port: int = 0
    received: list[ReceivedEmail] = field(default_factory=list)
    refuse_next_data: int = 0  # answer 451 to this many DATA commands, then accept
    refuse_recipients: dict[str, str] = field(default_factory=dict)  # address -> SMTP reply
    delay_seconds: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse_recipients:
            return self.refuse_recipients[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            if self.refuse_next_data > 0:
                self.refuse_next_data -= 1
                return "451 4.3.0 Temporarily unable to accept mail, try again later"
        if self.delay_seconds:
            await asyncio.sleep(self.delay_seconds)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.received.append(ReceivedEmail(time.monotonic(), list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    def count(self) -> int:
        with self.lock:
            return len(self.received)

    def reset(self) -> None:
        with self.lock:
            self.received.clear()
            self.refuse_next_data = 0
            self.refuse_recipients.clear()
            self.delay_seconds = 0.0


def require_services() -> None:
    require(POSTGRESQL, RABBITMQ, why="end-to-end tests")


@pytest.fixture(scope="session")
def smtp_sink() -> Iterator[SmtpSink]:
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every command
    sink = SmtpSink(port=free_port())
    controller = Controller(sink, hostname=sink.host, port=sink.port)
    controller.start()
    yield sink
    controller.stop()


def purge_queues() -> None:
    with Connection(settings.CELERY_BROKER_URL) as conn:
        channel = conn.default_channel
        for queue in [*app.conf.task_queues, DEAD_LETTER_QUEUE]:
            bound = queue(channel)
            bound.declare()
            bound.purge()


def dead_letters() -> list[dict]:
    """Every message in the dead-letter queue: its task name and arguments (left in the queue)."""
    found = []
    with Connection(settings.CELERY_BROKER_URL) as conn:
        queue = DEAD_LETTER_QUEUE(conn.default_channel)
        queue.declare()
        messages = []
        while (message := queue.get(no_ack=False)) is not None:
            messages.append(message)
            found.append({"task": message.headers.get("task"), "args": message.decode()[0]})
        for message in messages:
            message.requeue()
    return found


@dataclass
class ProcessHandle:
    process: subprocess.Popen
    log_path: Path
    node: str | None = None  # a worker's node name, as `celery inspect` and Flower show it

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def celery_env(transactional_db, smtp_sink, tmp_path) -> dict[str, str]:
    """Environment of a worker or beat process: the test database, the broker and the sink."""
    require_services()
    db = connection.settings_dict
    database_url = (
        f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{db['NAME']}"
    )
    smtp_sink.reset()
    purge_queues()
    circuit_breakers.close_all()
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "DATABASE_CONN_MAX_AGE": "0",
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "EMAIL_URL": f"smtp://{smtp_sink.host}:{smtp_sink.port}",
        "JOBBOARD_VAR_DIR": str(tmp_path),
        "NOTIFY_RETRY_BASE_SECONDS": "0.2",
        "NOTIFY_RETRY_MAX_SECONDS": "1",
        "NOTIFY_MAX_RETRIES": "3",
        "OUTBOX_SWEEP_SECONDS": "1",
        "PYTHONUNBUFFERED": "1",
    }


@pytest.fixture
def start_celery(celery_env, tmp_path) -> Iterator[Callable[..., ProcessHandle]]:
    """Start the Procfile's worker (or beat); every process is stopped after the test.

    The command is the Procfile's, run by this interpreter; a worker also gets a pool size and a
    node name of its own, and skips gossip and mingle (start-up chatter between workers)."""
    handles: list[ProcessHandle] = []

    def start(
        kind: str = "worker", *, concurrency: int = 2, first: bool = True, **env: str
    ) -> ProcessHandle:
        name = f"{kind}-{uuid.uuid4().hex[:8]}"
        log_path = tmp_path / f"{name}.log"
        program, *args = procfile.argv(kind, {})
        assert program == "celery", f"the Procfile's {kind} is not a celery command"
        node = None
        if kind == "worker":
            node = f"{name}@{socket.gethostname()}"
            args += [
                "--concurrency",
                str(concurrency),
                "--hostname",
                node,
                "--without-gossip",
                "--without-mingle",
            ]
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "celery", *args],
                cwd=ROOT,
                env={**celery_env, **env},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        handle = ProcessHandle(process, log_path, node)
        handles.append(handle)

        def started() -> bool:
            log = handle.log()
            if kind == "worker" and first:
                # Settled once the outbox sweep it runs at start-up has finished.
                return "relay.relay_outbox" in log and "succeeded" in log
            if kind == "worker":  # a further node: its start-up sweep may run on another one
                return " ready." in log
            return "beat: Starting" in log

        wait_until(
            lambda: started() or process.poll() is not None,
            timeout=30,
            what=f"celery {kind} to start",
        )
        if process.poll() is not None:
            pytest.fail(f"celery {kind} exited:\n{handle.log()[-3000:]}")
        return handle

    yield start
    for handle in handles:
        handle.stop()
        # A killed worker's pool processes exit once their task is done; reap the group.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(handle.process.pid, signal.SIGKILL)


@dataclass
class WebHandle:
    base: str
    log_path: Path
    process: subprocess.Popen

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture
def start_web(celery_env, tmp_path) -> Iterator[Callable[..., WebHandle]]:
    """Start the Procfile's web process (gunicorn) on a free port, on the test database and
    broker, with DEBUG off; every server is stopped after the test."""
    servers: list[subprocess.Popen] = []
    (tmp_path / "static").mkdir(exist_ok=True)

    def start(**env: str) -> WebHandle:
        port = free_port()
        log_path = tmp_path / f"web-{port}.log"
        program, *args = procfile.argv("web", {"WEB_HOST": "127.0.0.1", "WEB_PORT": str(port)})
        assert program == "gunicorn", "the Procfile's web is not a gunicorn command"
        # Each server its own control socket: gunicorn's default path is one per user.
        args += ["--control-socket", str(tmp_path / f"gunicorn-{port}.ctl")]
        with log_path.open("wb") as log:
            server = subprocess.Popen(
                [str(Path(sys.executable).with_name("gunicorn")), *args],
                cwd=ROOT,
                env={**celery_env, "DJANGO_DEBUG": "false", **env},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        servers.append(server)
        handle = WebHandle(f"http://127.0.0.1:{port}", log_path, server)

        def up() -> bool:
            try:
                with urllib.request.urlopen(f"{handle.base}/healthz", timeout=5):  # noqa: S310
                    return True
            except OSError:
                return server.poll() is not None

        wait_until(up, timeout=30, what="gunicorn to start")
        if server.poll() is not None:
            pytest.fail(f"gunicorn exited:\n{handle.log()[-3000:]}")
        return handle

    yield start
    for server in servers:
        if server.poll() is None:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)


@contextmanager
def broker_unreachable() -> Iterator[None]:
    """Point this (web) process's publisher at a closed port, as if RabbitMQ were down."""
    saved = (app.conf.broker_write_url, app._pool, app.amqp._producer_pool)
    app.conf.broker_write_url = f"amqp://guest:guest@127.0.0.1:{free_port()}//"
    app._pool = None
    app.amqp._producer_pool = None
    try:
        yield
    finally:
        app.pool.force_close_all()
        app.conf.broker_write_url, app._pool, app.amqp._producer_pool = saved
        circuit_breakers.close_all()
