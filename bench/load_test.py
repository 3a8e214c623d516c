"""Load test: the whole system under browsing, searching, posting and applying (locust, headless).

Runs the production shape on this machine: gunicorn (`jobboard.wsgi`, several sync workers, DEBUG
off, throttling off as DESIGN.md allows for load tests), a `celery -A worker worker` on the
project's queues, celery-beat, PostgreSQL, RabbitMQ, Redis, and an SMTP server (aiosmtpd) in this
process that stamps every email on arrival. It seeds thousands of jobs and hundreds of seekers and
employers, then runs the scenario of `bench/locustfile.py` for a bounded time at each user count
asked for, and reports per step:

- requests/s and p50/p95/p99 per endpoint once every user has started (the steady state; the
  logins of the ramp are reported on their own), and over the whole step the error rate and the
  number of 5xx answers;
- the CPU each part used (web, worker, beat, locust, the whole machine): the machine is shared,
  and this says how much of it the system under test had;
- outbox lag: the age of the oldest unpublished outbox event, sampled every 0.5 s, and each
  event's own delay from being recorded to being marked published;
- commit-to-inbox latency of each application's email to the employer;

and, over the whole run, that every application produced exactly one email to its job's
employer: none lost, none duplicated, none extra.

Beat runs as in production: its outbox sweep publishes what the web process's immediate relay
could not, so the lag measured is the one users would see; `--no-beat` shows whether the
immediate relay alone keeps up.

Targets: zero 5xx, zero lost or duplicated emails, outbox lag p95 under 5 s at the highest load
the machine sustains (the highest user count whose requests all succeed with an overall p95 under
`--p95-limit-ms`). The exit status is non-zero when a target is missed.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/jobboard_load \\
    REDIS_URL=redis://127.0.0.1:6379/9 CELERY_BROKER_URL=amqp://guest:guest@127.0.0.1:5672// \\
    .venv/bin/python bench/load_test.py [--users 25,50,100,150,200 --duration 60 --spawn-rate 5]

The database named in DATABASE_URL is created if missing and emptied first, the Redis database
in REDIS_URL is flushed and the project's queues on the broker are purged: never point them at
data or a broker other work uses. Locust's CSV files, the status counts and the logs of every
process go to `var/loadtest/` (or `$JOBBOARD_VAR_DIR/loadtest/`).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import re
import resource
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/jobboard_load")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/9")
os.environ.setdefault("CELERY_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//")
os.environ.setdefault("DJANGO_SECRET_KEY", "benchmark-only-key")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jobboard.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ["DJANGO_DEBUG"] = "false"
os.environ["THROTTLE_ENABLED"] = "false"

from bench.notifications import (  # noqa: E402
    EVENT_HEADER,
    Sink,
    start_worker,
    stop_worker,
    wait_for,
)
from bench.seeding import empty_tables, ensure_database, insert_jobs  # noqa: E402
from bench.stats import percentile  # noqa: E402
from tests.services import free_port  # noqa: E402

OUT_DIR = Path(os.environ.get("JOBBOARD_VAR_DIR", ROOT / "var")) / "loadtest"
PASSWORD = "load-Pass-2026"  # noqa: S105 (the seeded accounts' known password)
CATEGORIES = ["Engineering", "Data", "Design", "Product", "Operations", "Security", "Mobile",
              "Marketing", "Sales", "Support"]  # fmt: skip
LAG_P95_TARGET_SECONDS = 5.0
LAG_SAMPLE_SECONDS = 0.5
MESSAGE_ID_HEADER = re.compile(rb"^Message-ID: (\S+)", re.MULTILINE | re.IGNORECASE)
LOGIN_ENDPOINT = "/api/token/"


# --- The SMTP sink and the outbox sampler ---------------------------------------------------


@dataclass(frozen=True)
class Received:
    """One email as the SMTP server accepted it; `arrived` is wall-clock time, comparable with
    the timestamps the web processes write into the database."""

    arrived: float
    event_id: str
    message_id: str
    recipients: tuple[str, ...]


class RecordingSink(Sink):
    """The notification benchmark's sink, also keeping every message's Message-ID and
    recipients, so that a duplicate or a stray email is seen, not only counted."""

    def __init__(self) -> None:
        super().__init__()
        self.received: list[Received] = []

    async def handle_DATA(self, server, session, envelope):
        arrived = time.time()
        event = EVENT_HEADER.search(envelope.content)
        message_id = MESSAGE_ID_HEADER.search(envelope.content)
        record = Received(
            arrived,
            event.group(1).decode() if event else "",
            message_id.group(1).decode() if message_id else "",
            tuple(sorted(address.lower() for address in envelope.rcpt_tos)),
        )
        with self.lock:
            self.received.append(record)
        return await super().handle_DATA(server, session, envelope)

    def snapshot(self) -> list[Received]:
        with self.lock:
            return list(self.received)


class OutboxLagSampler(threading.Thread):
    """Every 0.5 s, the age of the oldest committed event not yet published (0 when none).

    Its own connection in autocommit, so each sample sees what is committed at that moment.
    """

    SQL = (
        "SELECT coalesce(extract(epoch FROM clock_timestamp() - min(occurred_at)), 0), count(*) "
        "FROM core_outboxevent WHERE published_at IS NULL"
    )

    def __init__(self, database_url: str) -> None:
        super().__init__(daemon=True)
        self.database_url = database_url
        self.samples: list[tuple[float, float, int]] = []  # (time, lag seconds, pending events)
        self.stopped = threading.Event()

    def run(self) -> None:
        import psycopg2

        connection = psycopg2.connect(self.database_url)
        connection.autocommit = True
        with connection, connection.cursor() as cursor:
            while not self.stopped.wait(LAG_SAMPLE_SECONDS):
                cursor.execute(self.SQL)
                lag, pending = cursor.fetchone()
                self.samples.append((time.time(), float(lag), pending))
        connection.close()

    def between(self, start: float, end: float) -> list[tuple[float, float, int]]:
        return [sample for sample in self.samples if start <= sample[0] < end]


# --- Seeding ----------------------------------------------------------------------------------


def seed(*, jobs: int, seekers: int, employers: int) -> None:
    """Empty the database and seed categories, accounts with known passwords, and `jobs` jobs
    (5 % closed, the rest open for 20 to 30 more days: none enters the reminder window)."""
    from django.contrib.auth.hashers import make_password
    from django.db import connection, transaction

    from core.accounts.models import Role, User
    from core.jobs.models import Category

    with connection.cursor() as cursor:
        empty_tables(cursor)
    categories = Category.objects.bulk_create(
        Category(name=name, slug=name.lower()) for name in CATEGORIES
    )
    # One PBKDF2 hash for every account: hashing each would take ~0.3 s of CPU apiece.
    password = make_password(PASSWORD)

    def accounts(role: str, prefix: str, count: int) -> list[User]:
        return User.objects.bulk_create(
            User(
                username=f"{prefix}{i}",
                email=f"{prefix}{i}@load.test",
                role=role,
                password=password,
            )
            for i in range(count)
        )

    employer_ids = [user.pk for user in accounts(Role.EMPLOYER, "load_employer", employers)]
    accounts(Role.JOB_SEEKER, "load_seeker", seekers)
    with transaction.atomic(), connection.cursor() as cursor:
        insert_jobs(
            cursor,
            first=1,
            last=jobs,
            employer_id=employer_ids[0],
            category_ids=[category.pk for category in categories],
            closed_sql="g % 20 = 0",
            expires_sql="now() + interval '20 days' + (g % 10) * interval '1 day'",
        )
        # Spread the postings over every employer, so each one has applications to read.
        cursor.execute(
            "UPDATE core_job SET employer_id = (%s::bigint[])[1 + id %% %s]",
            [employer_ids, len(employer_ids)],
        )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE core_job")
        cursor.execute("VACUUM ANALYZE core_user")


def purge_queues() -> None:
    from worker.celery import DEAD_LETTER_QUEUE, app

    with app.connection_for_write() as conn:
        for queue in [*app.conf.task_queues, DEAD_LETTER_QUEUE]:
            bound = queue(conn.default_channel)
            bound.declare()
            bound.purge()


def consumers(queue_name: str) -> int:
    """How many consumers RabbitMQ has on a queue (the worker is ready when it is one)."""
    from worker.celery import app

    with app.connection_for_write() as conn:
        return conn.default_channel.queue_declare(queue=queue_name, passive=True).consumer_count


# --- Processes ----------------------------------------------------------------------------------


def start_process(args: list[str], log_path: Path, env: dict[str, str]) -> subprocess.Popen:
    with log_path.open("ab") as log:
        return subprocess.Popen(
            args,
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def start_gunicorn(port: int, workers: int, env: dict[str, str]) -> subprocess.Popen:
    gunicorn = Path(sys.executable).with_name("gunicorn")
    return start_process(
        [
            str(gunicorn),
            "jobboard.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--log-level",
            "warning",
        ],
        OUT_DIR / "gunicorn.log",
        env,
    )


def start_beat(env: dict[str, str]) -> subprocess.Popen:
    return start_process(
        [sys.executable, "-m", "celery", "-A", "worker", "beat", "--loglevel", "WARNING"],
        OUT_DIR / "beat.log",
        env,
    )


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (loopback only)
            return response.status == 200
    except OSError:
        return False


def process_cpu_ticks() -> dict[int, tuple[int, int]]:
    """Every process's session id and CPU time (user + system, in clock ticks)."""
    processes = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # After "pid (command)": state ppid pgrp session ... utime (12th) stime (13th).
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process exited meanwhile
            continue
        processes[int(stat.parent.name)] = (int(fields[3]), int(fields[11]) + int(fields[12]))
    return processes


def machine_cpu_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, all cores."""
    values = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    total = sum(values[:8])
    idle = values[3] + values[4]  # idle and iowait
    ticks = os.sysconf("SC_CLK_TCK")
    return (total - idle) / ticks, total / ticks


class CpuMeter:
    """CPU used over a step by each of our servers (a session each: gunicorn and its workers,
    the Celery worker and its pool), by the PostgreSQL backends of the load test's database, by
    locust, and by the whole machine: the machine is shared, and this says how much of it the
    system under test had and where its time went."""

    def __init__(self, servers: dict[str, subprocess.Popen]) -> None:
        self.servers = servers
        self.ticks = os.sysconf("SC_CLK_TCK")
        self.start()

    def _backends(self) -> set[int]:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid()"
            )
            return {pid for (pid,) in cursor.fetchall()}

    def _rusage(self) -> tuple[float, float]:
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        own = resource.getrusage(resource.RUSAGE_SELF)
        return children.ru_utime + children.ru_stime, own.ru_utime + own.ru_stime

    def start(self) -> None:
        self.processes = process_cpu_ticks()
        self.machine = machine_cpu_seconds()
        self.rusage = self._rusage()

    def used(self) -> dict[str, float]:
        """CPU seconds used since `start`, by part; "machine total" is the capacity."""
        processes = process_cpu_ticks()

        def seconds(pids) -> float:
            ticks = sum(processes[pid][1] - self.processes.get(pid, (0, 0))[1] for pid in pids)
            return ticks / self.ticks

        used = {
            name: seconds(pid for pid, (session, _) in processes.items() if session == server.pid)
            for name, server in self.servers.items()
        }
        # Backends that closed during the step are missed: a slight undercount.
        used["PostgreSQL"] = seconds(pid for pid in self._backends() if pid in processes)
        children, own = self._rusage()
        used["locust"] = children - self.rusage[0]  # the only child reaped during a step
        used["SMTP sink and sampler"] = own - self.rusage[1]
        busy, total = machine_cpu_seconds()
        used["machine"] = busy - self.machine[0]
        used["machine total"] = total - self.machine[1]
        return used


def log_lines(name: str, pattern: str) -> list[str]:
    path = OUT_DIR / name
    if not path.exists():
        return []
    return [line for line in path.read_text(errors="replace").splitlines() if pattern in line]


# --- One step of load -----------------------------------------------------------------------


@dataclass
class Endpoint:
    method: str
    name: str
    requests: int
    failures: int
    rps: float
    p50: float
    p95: float
    p99: float


@dataclass
class Step:
    users: int
    started: float
    load_ended: float = 0.0
    drained_at: float = 0.0
    drained: bool = False
    endpoints: list[Endpoint] = field(default_factory=list)
    total: Endpoint = field(default_factory=lambda: Endpoint("", "Aggregated", 0, 0, 0, 0, 0, 0))
    statuses: dict[str, Counter] = field(default_factory=dict)
    login_ms: list[float] = field(default_factory=list)
    cpu: dict[str, float] = field(default_factory=dict)  # seconds used during the step
    lag: list[float] = field(default_factory=list)
    pending_max: int = 0
    publish_delays: list[float] = field(default_factory=list)
    inbox: list[float] = field(default_factory=list)
    applications: int = 0
    jobs_posted: int = 0
    locust_problems: list[str] = field(default_factory=list)

    @property
    def server_errors(self) -> int:
        return sum(
            count
            for counter in self.statuses.values()
            for status, count in counter.items()
            if status.startswith("5")
        )

    @property
    def unanswered(self) -> int:
        return sum(counter.get("0", 0) for counter in self.statuses.values())

    @property
    def answered(self) -> int:
        """Requests of the whole step, ramp included (the CSV statistics leave the ramp out)."""
        return sum(sum(counter.values()) for counter in self.statuses.values())

    @property
    def failed(self) -> int:
        """Requests of the whole step not answered with a 2xx."""
        return sum(
            count
            for counter in self.statuses.values()
            for status, count in counter.items()
            if not status.startswith("2")
        )

    @property
    def error_rate(self) -> float:
        return self.failed / self.answered if self.answered else 1.0

    def sustained(self, p95_limit_ms: float) -> bool:
        return (
            self.total.requests > 0
            and self.failed == 0
            and not self.locust_problems
            and self.total.p95 <= p95_limit_ms
        )


def read_stats(prefix: Path) -> tuple[list[Endpoint], Endpoint]:
    endpoints: list[Endpoint] = []
    total = Endpoint("", "Aggregated", 0, 0, 0.0, 0.0, 0.0, 0.0)
    if not Path(f"{prefix}_stats.csv").exists():
        return endpoints, total
    with Path(f"{prefix}_stats.csv").open(newline="") as file:
        for row in csv.DictReader(file):
            endpoint = Endpoint(
                method=row["Type"],
                name=row["Name"],
                requests=int(row["Request Count"]),
                failures=int(row["Failure Count"]),
                rps=float(row["Requests/s"]),
                p50=float(row["50%"] if row["50%"] != "N/A" else 0),
                p95=float(row["95%"] if row["95%"] != "N/A" else 0),
                p99=float(row["99%"] if row["99%"] != "N/A" else 0),
            )
            if row["Name"] == "Aggregated":
                total = endpoint
            else:
                endpoints.append(endpoint)
    return endpoints, total


def run_locust(args: argparse.Namespace, base_url: str, step: Step) -> None:
    prefix = OUT_DIR / f"u{step.users}"
    status_file = Path(f"{prefix}_status.json")
    status_file.unlink(missing_ok=True)
    env = {
        **os.environ,
        "LOAD_SEEKERS": str(args.seekers),
        "LOAD_EMPLOYERS": str(args.employers),
        "LOAD_PASSWORD": PASSWORD,
        "LOAD_STATUS_FILE": str(status_file),
        "PYTHONPATH": str(ROOT),
    }
    log_path = OUT_DIR / f"u{step.users}_locust.log"
    log_path.unlink(missing_ok=True)
    # Statistics restart once every user has started (--reset-stats): the steady state at this
    # many users, without the ramp and its logins (each a PBKDF2 hash, ~0.3 s of CPU).
    run_time = math.ceil(step.users / args.spawn_rate) + args.duration
    command = [
        sys.executable, "-m", "locust", "-f", str(ROOT / "bench" / "locustfile.py"),
        "--headless", "--host", base_url, "--users", str(step.users),
        "--spawn-rate", str(args.spawn_rate), "--run-time", f"{run_time}s", "--reset-stats",
        "--stop-timeout", "10", "--csv", str(prefix), "--only-summary",
        "--loglevel", "WARNING", "--exit-code-on-error", "0",
    ]  # fmt: skip
    locust = start_process(command, log_path, env)
    try:
        locust.wait(timeout=run_time + 120)
    except subprocess.TimeoutExpired:
        stop_worker(locust)
        step.locust_problems.append("locust did not stop in time")
    if locust.returncode:
        step.locust_problems.append(f"locust exited with {locust.returncode}")
    # Exceptions inside a task are not requests: locust logs them; count them as problems.
    errors = [line for line in log_lines(log_path.name, "Traceback")]
    if errors:
        step.locust_problems.append(f"{len(errors)} tracebacks in {log_path.name}")
    step.endpoints, step.total = read_stats(prefix)
    if status_file.exists():
        counts = json.loads(status_file.read_text())
        step.statuses = {key: Counter(value) for key, value in counts["statuses"].items()}
        step.login_ms = counts["login_ms"]
    else:
        step.locust_problems.append("locust wrote no status counts")


def wait_for_drain(sink: RecordingSink, timeout: float) -> bool:
    """Wait until every event is published and every application's email has arrived."""
    from core.outbox.events import APPLICATION_SUBMITTED
    from core.outbox.models import OutboxEvent

    def drained() -> bool:
        if OutboxEvent.objects.filter(published_at__isnull=True).exists():
            return False
        expected = OutboxEvent.objects.filter(event_type=APPLICATION_SUBMITTED).values_list(
            "id", flat=True
        )
        arrived = {record.event_id for record in sink.snapshot()}
        return all(str(event_id) in arrived for event_id in expected)

    # Not `wait_for`'s 10 ms polling: these queries would compete with the drain they wait for.
    deadline = time.monotonic() + timeout
    while not drained():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.25)
    return True


def measure_step(step: Step, sink: RecordingSink, sampler: OutboxLagSampler) -> None:
    """Outbox lag, publish delays and commit-to-inbox latency of the events of this step."""
    from core.outbox.events import APPLICATION_SUBMITTED, JOB_PUBLISHED
    from core.outbox.models import OutboxEvent

    samples = sampler.between(step.started, step.load_ended)
    step.lag = [lag for _, lag, _ in samples]
    step.pending_max = max((pending for _, _, pending in samples), default=0)
    first_arrival: dict[str, float] = {}
    for record in sink.snapshot():
        first_arrival.setdefault(record.event_id, record.arrived)
    events = OutboxEvent.objects.filter(
        occurred_at__gte=datetime.fromtimestamp(step.started, UTC),
        occurred_at__lt=datetime.fromtimestamp(step.drained_at, UTC),
    ).values_list("id", "event_type", "occurred_at", "published_at")
    for event_id, event_type, occurred_at, published_at in events:
        if published_at is not None:
            step.publish_delays.append((published_at - occurred_at).total_seconds())
        if event_type == APPLICATION_SUBMITTED:
            step.applications += 1
            # The event is stamped inside the applying transaction, a moment before its commit:
            # the latency measured is, if anything, slightly longer than commit-to-inbox.
            arrived = first_arrival.get(str(event_id))
            if arrived is not None:
                step.inbox.append(arrived - occurred_at.timestamp())
        elif event_type == JOB_PUBLISHED:
            step.jobs_posted += 1


# --- Exactly one email per application ------------------------------------------------------


@dataclass
class EmailCheck:
    applications: int = 0
    emails: int = 0
    lost: int = 0
    duplicates: int = 0
    extras: int = 0
    wrong_recipient: int = 0
    applications_without_one_event: int = 0
    failed_deliveries: int = 0

    @property
    def clean(self) -> bool:
        return not (
            self.lost
            or self.duplicates
            or self.extras
            or self.wrong_recipient
            or self.applications_without_one_event
            or self.failed_deliveries
        )


def check_emails(sink: RecordingSink) -> EmailCheck:
    """Every application in the database has exactly one email to its job's employer.

    An application maps to its `application.submitted` event (by the payload's application id),
    and the event to the Message-ID its email must carry: the delivery key (event, template,
    recipient) hashed by `tasks.email.message_id_for`.
    """
    from core.applications.models import Application
    from core.outbox.events import APPLICATION_SUBMITTED
    from core.outbox.models import DeliveryStatus, EmailDelivery, OutboxEvent
    from tasks.email import message_id_for

    check = EmailCheck()
    employer_email = dict(Application.objects.values_list("id", "job__employer__email"))
    check.applications = len(employer_email)
    events_of: dict[int, list[str]] = defaultdict(list)
    for event_id, payload in OutboxEvent.objects.filter(
        event_type=APPLICATION_SUBMITTED
    ).values_list("id", "payload"):
        events_of[payload.get("application_id")].append(str(event_id))
    expected: dict[str, str] = {}  # Message-ID -> the employer's address
    for application_id, email in employer_email.items():
        event_ids = events_of.get(application_id, [])
        if len(event_ids) != 1:
            check.applications_without_one_event += 1
        for event_id in event_ids:
            # The template name of tasks.notifications.compose_application_submitted.
            key = f"{event_id}:application_submitted:{email.lower()}"
            expected[message_id_for(key)] = email.lower()
    received = sink.snapshot()
    check.emails = len(received)
    copies = Counter(record.message_id for record in received)
    check.lost = sum(1 for message_id in expected if copies[message_id] == 0)
    check.duplicates = sum(count - 1 for message_id, count in copies.items() if count > 1)
    check.extras = sum(1 for record in received if record.message_id not in expected)
    check.wrong_recipient = sum(
        1
        for record in received
        if record.message_id in expected and record.recipients != (expected[record.message_id],)
    )
    check.failed_deliveries = EmailDelivery.objects.exclude(status=DeliveryStatus.SENT).count()
    return check


# --- Report -----------------------------------------------------------------------------------


def ms(seconds_list: list[float], fraction: float) -> str:
    if not seconds_list:
        return "n/a"
    return f"{percentile(seconds_list, fraction) * 1000:,.0f} ms"


def print_step(step: Step, args: argparse.Namespace) -> None:
    seconds = step.load_ended - step.started
    ramp = math.ceil(step.users / args.spawn_rate)
    print(
        f"\n== {step.users} users: {ramp} s starting them ({args.spawn_rate:g}/s), then "
        f"{args.duration} s measured"
    )
    print(
        f"  {'endpoint':<42} {'requests':>8} {'req/s':>7} {'p50':>7} {'p95':>7} {'p99':>7} "
        f"{'failed':>6}"
    )
    for endpoint in sorted(step.endpoints, key=lambda e: -e.requests):
        print(
            f"  {endpoint.method + ' ' + endpoint.name:<42} {endpoint.requests:>8,} "
            f"{endpoint.rps:>7.1f} {endpoint.p50:>5.0f}ms {endpoint.p95:>5.0f}ms "
            f"{endpoint.p99:>5.0f}ms {endpoint.failures:>6}"
        )
    total = step.total
    print(
        f"  {'all':<42} {total.requests:>8,} {total.rps:>7.1f} {total.p50:>5.0f}ms "
        f"{total.p95:>5.0f}ms {total.p99:>5.0f}ms {total.failures:>6}"
    )
    statuses = Counter()
    for counter in step.statuses.values():
        statuses.update(counter)
    print(
        f"  whole step, ramp included: {step.answered:,} requests, error rate "
        f"{step.error_rate:.3%}; 5xx: {step.server_errors}; no answer: {step.unanswered}; "
        f"statuses {dict(sorted(statuses.items()))}"
    )
    if step.cpu:
        cpu = dict(step.cpu)
        wall = cpu.pop("machine total") / os.cpu_count()
        machine = cpu.pop("machine")
        ours = ", ".join(f"{name} {used / wall:.0%}" for name, used in cpu.items())
        print(
            f"  CPU ({os.cpu_count()} cores = {os.cpu_count() * 100} %): {ours}; the rest of the "
            f"machine (RabbitMQ, Redis, other work) {(machine - sum(cpu.values())) / wall:.0%}; "
            f"web {cpu['web'] / max(step.answered, 1) * 1000:.1f} ms per request"
        )
    logins = [value / 1000 for value in step.login_ms]
    print(
        f"  logins while users started ({len(logins)}): p50 {ms(logins, 0.5)}, p95 "
        f"{ms(logins, 0.95)}, max {ms(logins, 1.0)}"
    )
    for problem in step.locust_problems:
        print(f"  PROBLEM: {problem}")
    print(
        f"  applications {step.applications} ({step.applications / seconds:.1f}/s), "
        f"jobs posted {step.jobs_posted}; drained {'yes' if step.drained else 'NO'} "
        f"{step.drained_at - step.load_ended:.1f} s after the load stopped"
    )
    print(
        f"  outbox lag (oldest unpublished, {len(step.lag)} samples): p50 "
        f"{ms(step.lag, 0.5)}, p95 {ms(step.lag, 0.95)}, max {ms(step.lag, 1.0)}; "
        f"most events waiting at once: {step.pending_max}"
    )
    print(
        f"  recorded-to-published per event ({len(step.publish_delays)}): p50 "
        f"{ms(step.publish_delays, 0.5)}, p95 {ms(step.publish_delays, 0.95)}, max "
        f"{ms(step.publish_delays, 1.0)}"
    )
    print(
        f"  commit-to-inbox ({len(step.inbox)} emails): p50 {ms(step.inbox, 0.5)}, p95 "
        f"{ms(step.inbox, 0.95)}, max {ms(step.inbox, 1.0)}"
    )


def summarise(steps: list[Step], emails: EmailCheck, args: argparse.Namespace) -> int:
    print("\n== summary")
    print(f"  {'users':>5} {'req/s':>7} {'p95':>8} {'p99':>8} {'errors':>7} {'5xx':>4} "
          f"{'lag p95':>8} {'inbox p95':>9} {'sustained':>9}")  # fmt: skip
    for step in steps:
        print(
            f"  {step.users:>5} {step.total.rps:>7.1f} {step.total.p95:>6.0f}ms "
            f"{step.total.p99:>6.0f}ms {step.error_rate:>7.2%} {step.server_errors:>4} "
            f"{ms(step.lag, 0.95):>8} {ms(step.inbox, 0.95):>9} "
            f"{'yes' if step.sustained(args.p95_limit_ms) else 'no':>9}"
        )
    print(
        f"  emails: {emails.emails} for {emails.applications} applications; lost "
        f"{emails.lost}, duplicated {emails.duplicates}, extra {emails.extras}, to the wrong "
        f"address {emails.wrong_recipient}; applications without exactly one event "
        f"{emails.applications_without_one_event}; deliveries not sent "
        f"{emails.failed_deliveries}"
    )
    missed = []
    server_errors = sum(step.server_errors for step in steps)
    if server_errors:
        missed.append(f"{server_errors} 5xx answers")
    if not emails.clean:
        missed.append("emails not exactly once per application")
    if not all(step.drained for step in steps):
        missed.append("the pipeline did not drain after the load")
    sustained = [step for step in steps if step.sustained(args.p95_limit_ms)]
    if not sustained:
        missed.append(
            f"no step sustained (every request answered, overall p95 <= {args.p95_limit_ms:g} ms)"
        )
    else:
        top = max(sustained, key=lambda step: step.users)
        lag_p95 = percentile(top.lag, 0.95) if top.lag else 0.0
        verdict = "met" if lag_p95 < LAG_P95_TARGET_SECONDS else "MISSED"
        print(
            f"  highest load sustained: {top.users} users, {top.total.rps:.1f} req/s "
            f"(p95 {top.total.p95:.0f} ms <= {args.p95_limit_ms:g} ms, no failed request)"
        )
        print(
            f"  outbox lag p95 there: {lag_p95 * 1000:,.0f} ms, target < "
            f"{LAG_P95_TARGET_SECONDS:g} s: {verdict}"
        )
        if verdict == "MISSED":
            missed.append("outbox lag p95")
    for name, pattern in (
        ("gunicorn.log", "WORKER TIMEOUT"),
        ("gunicorn.log", "Traceback"),
        ("worker.log", "ERROR"),
    ):
        if found := log_lines(name, pattern):
            print(f"  {name}: {len(found)} lines with {pattern!r}")
    print(f"  targets: {'all met' if not missed else 'MISSED: ' + '; '.join(missed)}")
    return 1 if missed else 0


# --- Main ---------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--users",
        default="25,50,100,150,200",
        help="simulated users: one step, or a comma-separated ladder of steps",
    )
    parser.add_argument("--duration", type=int, default=60, help="seconds of load per step")
    parser.add_argument("--spawn-rate", type=float, default=5.0, help="users started per second")
    parser.add_argument("--jobs", type=int, default=5000)
    parser.add_argument("--seekers", type=int, default=500)
    parser.add_argument("--employers", type=int, default=100)
    parser.add_argument("--web-workers", type=int, default=4, help="gunicorn sync workers")
    parser.add_argument(
        "--p95-limit-ms",
        type=float,
        default=500.0,
        help="a step is sustained when no request fails and the overall p95 is at most this",
    )
    parser.add_argument("--drain-timeout", type=float, default=120.0)
    parser.add_argument(
        "--no-beat",
        action="store_true",
        help="run without celery-beat: only the web process's immediate relay publishes",
    )
    args = parser.parse_args()
    ladder = [int(users) for users in args.users.split(",")]

    OUT_DIR.mkdir(parents=True, exist_ok=True)
    # Logs, CSVs and status counts of an earlier run must not be read as this run's.
    for old in [*OUT_DIR.glob("*.log"), *OUT_DIR.glob("u*_*.csv"), *OUT_DIR.glob("u*_*.json")]:
        old.unlink()
    ensure_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from aiosmtpd.controller import Controller
    from django.core.cache import cache
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    started = time.monotonic()
    seed(jobs=args.jobs, seekers=args.seekers, employers=args.employers)
    cache.clear()  # FLUSHDB on the load test's own Redis database
    purge_queues()
    print(
        f"seeded {args.jobs:,} jobs, {args.seekers} seekers, {args.employers} employers in "
        f"{time.monotonic() - started:.1f} s"
    )

    sink = RecordingSink()
    smtp_port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    env = {**os.environ, "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}"}
    web_port = free_port()
    base_url = f"http://127.0.0.1:{web_port}"
    servers: dict[str, subprocess.Popen] = {}
    sampler = OutboxLagSampler(os.environ["DATABASE_URL"])
    try:
        servers["worker"] = start_worker(smtp_port, OUT_DIR / "worker.log")
        if not args.no_beat:
            servers["beat"] = start_beat(env)
        servers["web"] = server = start_gunicorn(web_port, args.web_workers, env)
        wait_for(
            lambda: answers(base_url + "/api/categories/") or server.poll() is not None,
            timeout=60,
        )
        if not answers(base_url + "/api/categories/"):
            print("gunicorn does not answer; see var/loadtest/gunicorn.log")
            return 1
        if not wait_for(lambda: consumers("notifications") > 0, timeout=60):
            print("the worker did not consume within 60 s; see var/loadtest/worker.log")
            return 1
        print(
            f"gunicorn {args.web_workers} sync workers, one Celery worker, "
            f"{'no beat' if args.no_beat else 'celery-beat'}; locust {args.duration} s per step, "
            f"users {ladder}"
        )
        sampler.start()
        steps = []
        for users in ladder:
            step = Step(users=users, started=time.time())
            meter = CpuMeter(servers)
            run_locust(args, base_url, step)
            step.load_ended = time.time()
            step.cpu = meter.used()
            step.drained = wait_for_drain(sink, args.drain_timeout)
            step.drained_at = time.time()
            measure_step(step, sink, sampler)
            print_step(step, args)
            steps.append(step)
            if any(process.poll() is not None for process in servers.values()):
                print("a server process exited during the step; see var/loadtest/*.log")
                break
        time.sleep(2)  # a late duplicate would arrive now
        return summarise(steps, check_emails(sink), args)
    finally:
        sampler.stopped.set()
        for process in servers.values():
            stop_worker(process)
        controller.stop()


if __name__ == "__main__":
    sys.exit(main())
