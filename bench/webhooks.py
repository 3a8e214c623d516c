"""Benchmark: webhook deliveries/s and event-to-receiver latency, alone and beside a receiver
that hangs every request.

Runs the real path: PostgreSQL, RabbitMQ, a `celery -A worker worker` at its default concurrency
consuming the `outbox` and `webhooks` queues (the emails the applications also cause are left
in their queue: this measures webhooks), and two HTTP receivers in this process (`http.server`
threads) that stamp each request on arrival.

1. Throughput: 1,000 applications committed back to back to one employer's job; deliveries/s
   from the first commit to the 1,000th request received.
2. Latency: 200 applications at a steady rate; p50/p95 from the commit of each event to its
   request at the receiver.
3. The same while a second employer's endpoint, sent as many events at the same rate, never
   answers (every attempt waits for WEBHOOK_TIMEOUT_SECONDS): the healthy p95 again, and its
   ratio to phase 2's (target: within 2x).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/jobboard_bench \\
    CELERY_BROKER_URL=amqp://guest:guest@127.0.0.1:5672// \\
    .venv/bin/python bench/webhooks.py [--count 1000 --steady 200 --rate 20]

The database named in DATABASE_URL is created if missing and emptied first: never point it at
data you want to keep.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/jobboard_bench")
os.environ.setdefault("CELERY_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//")
os.environ.setdefault("DJANGO_SECRET_KEY", "benchmark-only-key")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jobboard.settings")
os.environ["THROTTLE_ENABLED"] = "false"
# The receivers listen on 127.0.0.1 over plain http: what development and tests open.
os.environ["WEBHOOK_ALLOW_HTTP"] = "true"
os.environ["WEBHOOK_ALLOWED_NETWORKS"] = "127.0.0.0/8"

from bench.stats import percentile  # noqa: E402
from tests.webhook_receiver import webhook_receiver  # noqa: E402

P95_RATIO_TARGET = 2.0


def start_worker(log_path: Path) -> subprocess.Popen:
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
                "outbox,webhooks",
                "--loglevel",
                "WARNING",
                "--without-gossip",
                "--without-mingle",
                "--hostname",
                f"bench-webhooks-{os.getpid()}@%h",
            ],
            cwd=ROOT,
            env={**os.environ, "LOG_LEVEL": "WARNING"},
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
    parser.add_argument("--count", type=int, default=1000, help="events in phase 1")
    parser.add_argument("--steady", type=int, default=200, help="events in phases 2 and 3")
    parser.add_argument("--rate", type=float, default=20.0, help="events/s in phases 2 and 3")
    args = parser.parse_args()

    from bench.seeding import empty_tables, ensure_database

    ensure_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from core.accounts.models import Role, User
    from core.applications import services as application_services
    from core.jobs import services as job_services
    from core.outbox import events
    from core.webhooks import services as webhook_services
    from core.webhooks.models import WebhookDelivery
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

    commits: dict[str, float] = {}

    def stamping_publisher(event_ids):
        # Called by core right after the transaction commits: the commit time of each event.
        now = time.monotonic()
        for event_id in event_ids:
            commits[str(event_id)] = now
        relay.publish_after_commit(event_ids)

    events.set_publisher(stamping_publisher)

    category = job_services.create_category(name="Bench", slug="bench")

    def employer_with_job(name: str):
        employer = User.objects.create(
            username=name, email=f"{name}@bench.test", role=Role.EMPLOYER
        )
        job = job_services.create_job(
            employer=employer,
            fields={
                "title": f"{name} engineer",
                "description": "Measures webhooks.",
                "company_name": "Bench Ltd",
                "location": "Loopback",
                "employment_type": "full_time",
                "category": category,
            },
        )
        return employer, job

    healthy_employer, healthy_job = employer_with_job("healthy")
    hung_employer, hung_job = employer_with_job("hung")
    total = args.count + 2 * args.steady
    User.objects.bulk_create(
        User(username=f"seeker{i}", email=f"seeker{i}@bench.test", role=Role.JOB_SEEKER)
        for i in range(total)
    )
    seekers = list(User.objects.filter(role=Role.JOB_SEEKER).order_by("id"))

    def apply(seeker, job) -> None:
        application_services.apply_to_job(
            applicant=seeker, job=job, cover_letter="Latency.", resume_url="https://example.com/cv"
        )

    log_path = Path(os.environ.get("JOBBOARD_VAR_DIR", ROOT / "var")) / "bench-webhooks.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with webhook_receiver() as healthy, webhook_receiver(hang=True) as hung:
        healthy_endpoint = webhook_services.create_endpoint(
            employer=healthy_employer, url=healthy.url, event_types=["application.submitted"]
        )
        hung_endpoint = webhook_services.create_endpoint(
            employer=hung_employer, url=hung.url, event_types=["application.submitted"]
        )
        webhook_services.update_endpoint(endpoint=hung_endpoint, fields={"is_active": False})

        def latencies(requests) -> list[float]:
            by_message = {
                f"msg_{delivery_id.hex}": str(event_id)
                for delivery_id, event_id in WebhookDelivery.objects.filter(
                    endpoint=healthy_endpoint
                ).values_list("id", "event_id")
            }
            return [r.received_at - commits[by_message[r.webhook_id]] for r in requests]

        worker = start_worker(log_path)
        try:
            time.sleep(3)  # let the worker connect before the clock starts

            # Phase 1: a burst of events, deliveries/s.
            first = time.monotonic()
            for seeker in seekers[: args.count]:
                apply(seeker, healthy_job)
            committed = time.monotonic()
            if not wait_for(lambda: healthy.count() >= args.count, timeout=300):
                print(f"phase 1: only {healthy.count()} of {args.count} arrived", file=sys.stderr)
                return 1
            burst = list(healthy.received)
            burst_rate = args.count / (burst[-1].received_at - first)
            burst_latencies = latencies(burst)

            def steady(offset: int, *, with_hung: bool) -> list[float]:
                before = healthy.count()
                interval = 1.0 / args.rate
                started = time.monotonic()
                for i in range(args.steady):
                    time.sleep(max(0.0, started + i * interval - time.monotonic()))
                    apply(seekers[offset + i], healthy_job)
                    if with_hung:
                        apply(seekers[offset + i], hung_job)
                if not wait_for(lambda: healthy.count() >= before + args.steady, timeout=120):
                    raise RuntimeError(f"only {healthy.count() - before} of {args.steady} arrived")
                return latencies(list(healthy.received)[before:])

            # Phase 2: steady rate, the healthy receiver alone.
            alone = steady(args.count, with_hung=False)
            # Phase 3: the same, while the other employer's receiver hangs every request.
            webhook_services.update_endpoint(endpoint=hung_endpoint, fields={"is_active": True})
            beside_hung = steady(args.count + args.steady, with_hung=True)
            hung_requests = hung.count()
        finally:
            stop_worker(worker)

    duplicates = len(healthy.received) - len({r.webhook_id for r in healthy.received})
    p95_alone, p95_beside = percentile(alone, 0.95), percentile(beside_hung, 0.95)
    ms = 1000
    print(
        f"phase 1: {args.count} events committed in {committed - first:.1f} s; delivered at "
        f"{burst_rate:.0f} deliveries/s (first commit to last request)"
    )
    print(
        f"  event-to-receiver under that burst: p50 {percentile(burst_latencies, 0.5) * ms:.0f} ms,"
        f" p95 {percentile(burst_latencies, 0.95) * ms:.0f} ms"
    )
    print(
        f"phase 2: {args.steady} events at {args.rate:g}/s: p50 "
        f"{percentile(alone, 0.5) * ms:.0f} ms, p95 {p95_alone * ms:.0f} ms"
    )
    print(
        f"phase 3: the same beside a receiver that never answers "
        f"(WEBHOOK_TIMEOUT_SECONDS={settings.WEBHOOK_TIMEOUT_SECONDS:g}, {hung_requests} requests "
        f"held): p50 {percentile(beside_hung, 0.5) * ms:.0f} ms, p95 {p95_beside * ms:.0f} ms"
    )
    ratio = p95_beside / p95_alone
    print(
        f"  healthy p95 beside the hung receiver / alone = {ratio:.2f}x "
        f"(target <= {P95_RATIO_TARGET:g}x: {'met' if ratio <= P95_RATIO_TARGET else 'MISSED'})"
    )
    print(f"duplicate webhook-ids at the healthy receiver: {duplicates}")
    return 0 if duplicates == 0 and ratio <= P95_RATIO_TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
