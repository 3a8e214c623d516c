"""Benchmark: commit-to-inbox latency and backlog drain rate of the notification pipeline.

Runs the real path: PostgreSQL, RabbitMQ, a `celery -A worker worker` process at its default
concurrency, and an SMTP server (aiosmtpd) in this process that stamps each email on arrival.

Phase 1 applies at a steady rate and measures, per application, the time from its transaction's
commit to the employer's email being accepted by the SMTP server (p50/p95/max).
Phase 2 queues a backlog while no worker runs, then starts one and measures how fast it drains.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/jobboard_bench \\
    CELERY_BROKER_URL=amqp://guest:guest@127.0.0.1:5672// \\
    .venv/bin/python bench/notifications.py [--rate 20 --count 200 --backlog 2000]

The database named in DATABASE_URL is created if missing and emptied first: never point it at
data you want to keep.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/jobboard_bench")
os.environ.setdefault("CELERY_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//")
os.environ.setdefault("DJANGO_SECRET_KEY", "benchmark-only-key")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jobboard.settings")
os.environ["THROTTLE_ENABLED"] = "false"

from bench.stats import percentile  # noqa: E402
from tests.services import free_port  # noqa: E402

EVENT_HEADER = re.compile(rb"^X-Jobboard-Event-Id: (\S+)", re.MULTILINE)
P95_TARGET_SECONDS = 1.0
DRAIN_TARGET_PER_SECOND = 100.0


class Sink:
    """SMTP server handler: the arrival time of each email, by the event id in its headers."""

    def __init__(self) -> None:
        self.arrivals: dict[str, float] = {}
        self.duplicates = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        arrived = time.monotonic()
        # A header scan, not a MIME parse: the sink shares this machine's two cores with the
        # system under test, so it should cost as little as a remote SMTP server would.
        match = EVENT_HEADER.search(envelope.content)
        event_id = match.group(1).decode() if match else ""
        with self.lock:
            if event_id in self.arrivals:
                self.duplicates += 1
            else:
                self.arrivals[event_id] = arrived
        return "250 OK"

    def count(self) -> int:
        with self.lock:
            return len(self.arrivals)


def start_worker(smtp_port: int, log_path: Path) -> subprocess.Popen:
    env = {**os.environ, "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}", "LOG_LEVEL": "WARNING"}
    with log_path.open("ab") as log:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "worker",
                "worker",
                "--queues",
                "outbox,notifications,listings,maintenance",
                "--loglevel",
                "WARNING",
                "--without-gossip",
                "--without-mingle",
                "--hostname",
                f"bench-{os.getpid()}@%h",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop_worker(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def wait_for(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=20.0, help="applications per second")
    parser.add_argument("--count", type=int, default=200, help="applications in phase 1")
    parser.add_argument("--backlog", type=int, default=2000, help="emails queued in phase 2")
    args = parser.parse_args()

    from bench.seeding import empty_tables, ensure_database

    ensure_database(os.environ["DATABASE_URL"])
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    import django

    django.setup()
    from aiosmtpd.controller import Controller
    from django.core.management import call_command
    from django.db import connection

    from core.accounts.models import Role, User
    from core.applications import services as application_services
    from core.jobs import services as job_services
    from core.outbox import events
    from tasks import relay
    from worker.celery import DEAD_LETTER_QUEUE, app

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        empty_tables(cursor)
    with app.connection_for_write() as conn:
        for queue in [*app.conf.task_queues, DEAD_LETTER_QUEUE]:
            bound = queue(conn.default_channel)
            bound.declare()
            bound.purge()

    sink = Sink()
    smtp_port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=smtp_port)
    controller.start()

    commits: dict[str, float] = {}

    def stamping_publisher(event_ids):
        # Called by core right after the transaction commits: the commit time of each event.
        now = time.monotonic()
        for event_id in event_ids:
            commits[str(event_id)] = now
        relay.publish_after_commit(event_ids)

    events.set_publisher(stamping_publisher)

    employer = User.objects.create(
        username="bench_employer", email="employer@bench.test", role=Role.EMPLOYER
    )
    category = job_services.create_category(name="Bench", slug="bench")
    job = job_services.create_job(
        employer=employer,
        fields={
            "title": "Benchmark Engineer",
            "description": "Measures things.",
            "company_name": "Bench Ltd",
            "location": "Loopback",
            "employment_type": "full_time",
            "category": category,
        },
    )
    total = args.count + args.backlog
    User.objects.bulk_create(
        User(username=f"seeker{i}", email=f"seeker{i}@bench.test", role=Role.JOB_SEEKER)
        for i in range(total)
    )
    seekers = list(User.objects.filter(role=Role.JOB_SEEKER).order_by("id"))

    def apply(seeker: User) -> None:
        application_services.apply_to_job(
            applicant=seeker,
            job=job,
            cover_letter="I measure end-to-end latency for a living.",
            resume_url="https://example.com/cv.pdf",
        )

    log_path = Path(os.environ.get("JOBBOARD_VAR_DIR", ROOT / "var")) / "bench-worker.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    worker = start_worker(smtp_port, log_path)
    try:
        return run_phases(args, sink, commits, seekers, apply, smtp_port, log_path, worker)
    finally:
        controller.stop()


def run_phases(args, sink, commits, seekers, apply, smtp_port, log_path, worker) -> int:
    total = args.count + args.backlog
    time.sleep(3)  # let the worker connect before the clock starts

    # Phase 1: steady rate, commit-to-inbox latency.
    interval = 1.0 / args.rate
    started = time.monotonic()
    for i, seeker in enumerate(seekers[: args.count]):
        time.sleep(max(0.0, started + i * interval - time.monotonic()))
        apply(seeker)
    offered_rate = args.count / (time.monotonic() - started)
    if not wait_for(lambda: sink.count() >= args.count, timeout=60):
        stop_worker(worker)
        print(f"phase 1: only {sink.count()} of {args.count} emails arrived", file=sys.stderr)
        return 1
    latencies = [sink.arrivals[event_id] - commits[event_id] for event_id in sink.arrivals]
    p50, p95 = percentile(latencies, 0.50), percentile(latencies, 0.95)

    # Phase 2: a backlog queued with no worker running, then drained by one worker.
    stop_worker(worker)
    for seeker in seekers[args.count : total]:
        apply(seeker)
    worker = start_worker(smtp_port, log_path)
    drain_started = time.monotonic()
    drained = wait_for(lambda: sink.count() >= total, timeout=300)
    drain_seconds = time.monotonic() - drain_started
    stop_worker(worker)
    if not drained:
        drained_count = sink.count() - args.count
        print(f"phase 2: only {drained_count} of {args.backlog} drained", file=sys.stderr)
        return 1
    backlog_arrivals = sorted(list(sink.arrivals.values())[args.count :])
    steady_rate = (len(backlog_arrivals) - 1) / (backlog_arrivals[-1] - backlog_arrivals[0])
    overall_rate = args.backlog / drain_seconds

    print(f"phase 1: {args.count} applications at {offered_rate:.1f}/s (asked {args.rate:g}/s)")
    print(
        f"  commit-to-inbox: p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, "
        f"max {max(latencies) * 1000:.0f} ms, mean {statistics.mean(latencies) * 1000:.0f} ms"
    )
    print(
        f"  p95 target {P95_TARGET_SECONDS * 1000:.0f} ms: target/p95 = "
        f"{P95_TARGET_SECONDS / p95:.1f}x"
    )
    print(f"phase 2: backlog of {args.backlog} emails, one worker at default concurrency")
    print(
        f"  drained in {drain_seconds:.1f} s from worker start: {overall_rate:.0f} emails/s "
        f"(steady state, first to last email: {steady_rate:.0f} emails/s)"
    )
    print(
        f"  target {DRAIN_TARGET_PER_SECOND:.0f} emails/s: measured/target = "
        f"{overall_rate / DRAIN_TARGET_PER_SECOND:.2f}x (from start), "
        f"{steady_rate / DRAIN_TARGET_PER_SECOND:.2f}x (steady)"
    )
    print(f"duplicates received: {sink.duplicates}; emails: {sink.count()} of {total}")
    return 0 if sink.duplicates == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
