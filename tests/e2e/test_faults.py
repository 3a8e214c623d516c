"""Faults of PostgreSQL, Redis, RabbitMQ and the SMTP server, tried from outside as an operator
would: nothing lost, nothing hung, everything back by itself.

The stack is the production one, twice over where it scales out: two gunicorn instances (the
Procfile's web command) and two Celery worker nodes, one beat, on one database and one broker.
Each dependency is reached through a TCP fault proxy (tests/faultproxy.py). While a stream of
job seekers applies four times a second, alternating between the two web instances, one
dependency first refuses connections for 8 s (a restart), then, once the stream is healthy again,
accepts them and never answers for 8 s (a hang, a partition). Throughout:

- every request answers within `REQUEST_BOUND_SECONDS`, with 201, or 503 with `Retry-After`
  while the fault lasts; never a 500, never a hang;
- `/healthz` of both instances answers within 3 s, and `/readyz` names the dependency down;
- once the fault ends, applications succeed again with nothing restarted, and every committed
  application is emailed to its employer exactly once, the delivery log matching the inbox.

Each phase prints its figures (requests by status, the longest request, the time from the
fault's end to the first success, emails expected / received / duplicated):
`pytest tests/e2e/test_faults.py -s`.
"""

from __future__ import annotations

import collections
import json
import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.db import connection

from core.accounts.models import Role
from core.api.accounts import session_refresh_token
from core.applications.models import Application
from core.outbox import events
from core.outbox.models import DeliveryStatus, EmailDelivery, OutboxEvent
from tests.e2e.conftest import SmtpSink, wait_until
from tests.e2e.test_pipeline import make_open_job
from tests.factories import make_user
from tests.faultproxy import FaultProxy
from tests.services import require

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# The stated bound: a database wait is cut at DATABASE_REQUEST_TIMEOUT (5 s), a publish at
# CELERY_BROKER_PUBLISH_TIMEOUT (1 s, three socket operations), a cache call at 1 s. Everything a
# request does on top of its slowest dependency fits in the rest.
REQUEST_BOUND_SECONDS = 6.5
HEALTHZ_BOUND_SECONDS = 3.0
# After a fault ends, how soon every request succeeds again: a request that met the fault, then
# the circuit of a process that timed out on a hung database (DATABASE_CIRCUIT_SECONDS).
RECOVERY_SECONDS = REQUEST_BOUND_SECONDS + 2.0
FAULT_SECONDS = 8.0
APPLICATIONS_PER_SECOND = 4.0
# Emails due after a fault arrive within this (a worker's query cut by the statement bound, a
# retry's backoff, the outbox sweep).
EMAIL_DEADLINE_SECONDS = 90.0
SEEKERS = 400

DEPENDENCIES = ("database", "cache", "broker", "smtp")


# --- the stack --------------------------------------------------------------------------------


def _through(url: str, proxy: FaultProxy) -> str:
    """`url` with its host and port replaced by the proxy's."""
    parts = urlsplit(url)
    credentials = parts.netloc.rpartition("@")[0]
    netloc = f"{credentials}@{proxy.address}" if credentials else proxy.address
    return urlunsplit(parts._replace(netloc=netloc))


@dataclass
class Stack:
    webs: list
    workers: list
    beat: object
    proxies: dict[str, FaultProxy]
    start_worker: Callable


@pytest.fixture
def stack(start_celery, start_web, smtp_sink: SmtpSink) -> Iterator[Stack]:
    require_every_service()
    db = connection.settings_dict
    broker = urlsplit(settings.CELERY_BROKER_URL)
    redis = urlsplit(settings.REDIS_URL)
    proxies = {
        "database": FaultProxy(int(db["PORT"] or 5432), db["HOST"] or "127.0.0.1"),
        "cache": FaultProxy(redis.port or 6379, redis.hostname or "127.0.0.1"),
        "broker": FaultProxy(broker.port or 5672, broker.hostname or "127.0.0.1"),
        "smtp": FaultProxy(smtp_sink.port, smtp_sink.host),
    }
    env = {
        "DATABASE_URL": (
            f"postgres://{db['USER'] or 'postgres'}@{proxies['database'].address}/{db['NAME']}"
        ),
        # Persistent connections, as production runs: a fault must not leave one broken.
        "DATABASE_CONN_MAX_AGE": "60",
        "REDIS_URL": _through(settings.REDIS_URL, proxies["cache"]),
        "CELERY_BROKER_URL": _through(settings.CELERY_BROKER_URL, proxies["broker"]),
        "EMAIL_URL": f"smtp://{proxies['smtp'].address}",
        # Enough retries to outlast a fault of FAULT_SECONDS with the backoff's jitter at its
        # shortest (0.5 + 1 + 2 + 2 + ... s); production's defaults wait far longer.
        "NOTIFY_MAX_RETRIES": "10",
        "NOTIFY_RETRY_BASE_SECONDS": "1",
        "NOTIFY_RETRY_MAX_SECONDS": "4",
        "THROTTLE_RATES": "apply=1000/hour",
    }

    def start_worker(first: bool = False):
        return start_celery("worker", first=first, **env)

    workers = [start_worker(first=True), start_worker()]
    beat = start_celery("beat", **env)
    webs = [start_web(**env), start_web(**env)]
    yield Stack(webs, workers, beat, proxies, start_worker)
    for proxy in proxies.values():
        proxy.close()


def require_every_service() -> None:
    from tests.services import POSTGRESQL, RABBITMQ, REDIS

    require(POSTGRESQL, REDIS, RABBITMQ, why="fault tests of the whole stack")


# --- traffic ----------------------------------------------------------------------------------


@dataclass
class Answer:
    started: float
    ended: float
    status: int | None  # None: no HTTP answer at all (connection refused or reset)
    headers: dict[str, str] = field(default_factory=dict)
    body: dict | None = None
    error: str = ""
    # Sent again to the next instance after its first got no answer (the instance died).
    resent: bool = False

    @property
    def seconds(self) -> float:
        return self.ended - self.started


def _request(method: str, url: str, body: dict | None = None, **headers: str) -> Answer:
    started = time.monotonic()
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(  # noqa: S310 (loopback only)
        url, data=data, method=method, headers={"Content-Type": "application/json", **headers}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            status, answer_headers, raw = response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        status, answer_headers, raw = error.code, dict(error.headers), error.read()
    except OSError as error:
        return Answer(started, time.monotonic(), None, error=f"{type(error).__name__}: {error}")
    try:
        parsed = json.loads(raw) if raw else None
    except ValueError:
        parsed = {"raw": raw[:200].decode(errors="replace")}
    return Answer(started, time.monotonic(), status, answer_headers, parsed)


class ApplicationStream:
    """Seekers applying to one job at a steady rate, each request on a thread of its own (a slow
    answer never slows the stream), alternating between the web instances. A request that finds
    its instance gone is sent once to the next one, as a load balancer would."""

    def __init__(self, bases: list[str], job_id: int, tokens: list[str]) -> None:
        self.bases = bases
        self.job_id = job_id
        self.tokens = collections.deque(tokens)
        self.answers: list[Answer] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=64)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._count = 0
        self.ran_out = False

    def __enter__(self) -> ApplicationStream:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()
        self._pool.shutdown(wait=True)
        assert not self.ran_out, (
            "the stream ran out of seekers before the test ended; raise SEEKERS"
        )

    def since(self, moment: float) -> list[Answer]:
        with self._lock:
            return [answer for answer in self.answers if answer.started >= moment]

    def between(self, start: float, end: float) -> list[Answer]:
        with self._lock:
            return [answer for answer in self.answers if start <= answer.started < end]

    def _run(self) -> None:
        interval = 1 / APPLICATIONS_PER_SECOND
        next_at = time.monotonic()
        while not self._stop.is_set():
            if not self.tokens:
                self.ran_out = True  # failed in __exit__: a stream that stops proves nothing
                return
            token = self.tokens.popleft()
            first = self._count % len(self.bases)
            self._count += 1
            self._pool.submit(self._apply, token, first)
            next_at += interval
            self._stop.wait(max(0.0, next_at - time.monotonic()))

    def _apply(self, token: str, first: int) -> None:
        body = {
            "job": self.job_id,
            "cover_letter": "Faults are my hobby.",
            "resume_url": "https://example.com/cv.pdf",
        }
        answer = None
        for attempt in range(len(self.bases)):
            base = self.bases[(first + attempt) % len(self.bases)]
            answer = _request(
                "POST", f"{base}/api/applications/apply/", body, Authorization=f"Bearer {token}"
            )
            answer.resent = attempt > 0
            if answer.status is not None:
                break
        with self._lock:
            self.answers.append(answer)


class Prober:
    """`GET /healthz` of every web instance twice a second, as an orchestrator's liveness probe
    does; each answer is recorded."""

    def __init__(self, bases: list[str]) -> None:
        self.bases = bases
        self.answers: list[tuple[str, Answer]] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(b,), daemon=True) for b in bases]

    def __enter__(self) -> Prober:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()

    def _run(self, base: str) -> None:
        while not self._stop.is_set():
            self.answers.append((base, _request("GET", f"{base}/healthz")))
            self._stop.wait(0.5)


# --- what a phase must show ---------------------------------------------------------------------


@dataclass
class PhaseReport:
    dependency: str
    mode: str
    statuses: collections.Counter
    longest_request: float
    first_success_after_fault: float | None

    def line(self) -> str:
        statuses = ", ".join(f"{k}: {v}" for k, v in sorted(self.statuses.items(), key=str))
        first = (
            "n/a"
            if self.first_success_after_fault is None
            else f"{self.first_success_after_fault:.2f} s"
        )
        return (
            f"{self.dependency:8} {self.mode:8} requests {{{statuses}}}; longest "
            f"{self.longest_request:.2f} s; first success {first} after the fault"
        )


def seeker_tokens(count: int) -> list[str]:
    return [
        str(session_refresh_token(make_user(Role.JOB_SEEKER)).access_token) for _ in range(count)
    ]


def assert_answers_are_honest(answers: list[Answer], *, fault: tuple[float, float]) -> None:
    """201, or 503 with Retry-After during the fault; nothing else; nothing slow.

    "During" is from the fault's start to RECOVERY_SECONDS after its end: a request made just
    before the end may still meet the fault, and a process that timed out on a hung database
    waits out its circuit before it tries again."""
    started, ended = fault
    for answer in answers:
        assert answer.status is not None, f"no answer at all: {answer.error}"
        assert answer.status in (201, 503), (answer.status, answer.body)
        if answer.status == 503:
            when = answer.started - ended
            assert started - answer.seconds <= answer.started <= ended + RECOVERY_SECONDS, (
                f"a 503 outside the fault, {when:+.2f} s after its end"
            )
            assert int(answer.headers["Retry-After"]) > 0
            assert answer.body["code"] == "service_unavailable"
        assert answer.seconds <= REQUEST_BOUND_SECONDS, (answer.seconds, answer.status)


def assert_healthz_answered_throughout(prober: Prober) -> None:
    assert prober.answers
    for base, answer in prober.answers:
        assert answer.status == 200, (base, answer.status, answer.error)
        assert answer.seconds <= HEALTHZ_BOUND_SECONDS, (base, answer.seconds)


def readiness_names(stack: Stack, dependency: str) -> None:
    """`/readyz` answers 503 and names the dependency that is down (the web's dependencies)."""
    check = {"database": "database", "cache": "cache", "broker": "broker"}.get(dependency)
    if check is None:  # the SMTP server is the workers' dependency, not the web's
        return
    answer = _request("GET", f"{stack.webs[0].base}/readyz")
    assert answer.status == 503, answer.body
    assert answer.body["checks"][check]["status"] == "error", answer.body
    assert answer.seconds <= settings.HEALTH_CHECK_TIMEOUT_SECONDS + 1


def assert_every_application_emailed_once(
    smtp_sink: SmtpSink, name: str, *, fault_ended: float | None = None
) -> None:
    """Every application committed so far: one email to its employer, its delivery recorded
    sent. With `fault_ended`, also says how long after it the last of them arrived."""

    def committed() -> set[str]:
        return {
            str(event_id)
            for event_id in OutboxEvent.objects.filter(
                event_type=events.APPLICATION_SUBMITTED
            ).values_list("id", flat=True)
        }

    applications = Application.objects.count()
    expected = committed()
    assert len(expected) >= applications  # the stream may still be applying

    def received() -> collections.Counter:
        with smtp_sink.lock:
            return collections.Counter(
                email.message["X-Jobboard-Event-Id"] for email in smtp_sink.received
            )

    wait_until(
        lambda: expected <= set(received()),
        timeout=EMAIL_DEADLINE_SECONDS,
        what=f"{len(expected)} application emails",
    )
    all_in = time.monotonic()
    deliveries = EmailDelivery.objects.filter(event_id__in=expected)
    # Deliveries recorded after the last email went out settle within moments.
    wait_until(
        lambda: deliveries.filter(status=DeliveryStatus.SENT).count() >= len(expected),
        timeout=30,
        what="the delivery log to record every email",
    )
    time.sleep(1.0)  # a duplicate, if one were coming, would arrive in this time
    counts = received()
    duplicated = sum(n - 1 for n in counts.values() if n > 1)
    latency = "" if fault_ended is None else f"; all in {all_in - fault_ended:.1f} s after it"
    print(
        f"{name}: emails expected {len(expected)}, received {sum(counts[k] for k in expected)}, "
        f"duplicated {duplicated}{latency}"
    )
    assert set(counts) <= committed(), "an email for an application that was not committed"
    assert duplicated == 0, counts.most_common(3)
    log = collections.Counter(deliveries.values_list("status", flat=True))
    assert log == {DeliveryStatus.SENT: len(expected)}, log


SWEEP_SENT = "Sending due task relay-outbox-sweep"


def assert_beat_keeps_scheduling(beat) -> None:
    """Beat, through the faults, still sends its periodic tasks (the outbox sweep every 1 s)."""
    sent_so_far = beat.log().count(SWEEP_SENT)
    wait_until(
        lambda: beat.log().count(SWEEP_SENT) >= sent_so_far + 2,
        timeout=30,
        what="beat to send the outbox sweep again",
    )


def run_phase(
    stack: Stack,
    smtp_sink: SmtpSink,
    stream: ApplicationStream,
    *,
    dependency: str,
    mode: str,
    fault: Callable[[], None],
    restore: Callable[[], None],
    readiness_sees_it: bool = True,
) -> PhaseReport:
    """Healthy traffic, the fault for FAULT_SECONDS, healthy traffic again; then the checks."""
    time.sleep(2.0)
    fault_started = time.monotonic()
    fault()
    try:
        time.sleep(FAULT_SECONDS / 2)
        if readiness_sees_it:
            readiness_names(stack, dependency)
        time.sleep(FAULT_SECONDS / 2)
    finally:
        restore()
    fault_ended = time.monotonic()
    # Recovery: applications made after the fault succeed again.
    wait_until(
        lambda: any(a.status == 201 for a in stream.since(fault_ended)),
        timeout=30,
        what="an application to succeed after the fault",
    )
    time.sleep(3.0)
    answers = stream.since(fault_started - 2.0)
    first_success = min(
        (a.ended for a in stream.since(fault_ended) if a.status == 201), default=None
    )
    report = PhaseReport(
        dependency,
        mode,
        collections.Counter(a.status for a in answers),
        max(a.seconds for a in answers),
        None if first_success is None else first_success - fault_ended,
    )
    print(report.line())
    for answer in answers:
        if answer.status != 201:
            print(
                f"  {answer.status} at {answer.started - fault_ended:+.2f} s from the fault's end,"
                f" {answer.seconds:.2f} s"
            )
    assert_answers_are_honest(answers, fault=(fault_started, fault_ended))
    # Everything committed so far, the fault's applications included, is emailed exactly once.
    assert_every_application_emailed_once(
        smtp_sink, f"{dependency} {mode}", fault_ended=fault_ended
    )
    return report


@pytest.mark.parametrize("dependency", DEPENDENCIES)
def test_a_dependency_that_restarts_then_hangs_loses_nothing_and_freezes_nothing(
    stack: Stack, smtp_sink: SmtpSink, dependency: str
):
    employer = make_user(Role.EMPLOYER)
    job = make_open_job(employer, title=f"Resilience Engineer ({dependency})")
    proxy = stack.proxies[dependency]
    reports = []
    with Prober([web.base for web in stack.webs]) as prober:
        with ApplicationStream(
            [web.base for web in stack.webs], job.pk, seeker_tokens(SEEKERS)
        ) as stream:
            for mode, fault in (("refuse", proxy.refuse), ("hang", proxy.hang)):
                reports.append(
                    run_phase(
                        stack,
                        smtp_sink,
                        stream,
                        dependency=dependency,
                        mode=mode,
                        fault=fault,
                        restore=proxy.restore,
                    )
                )
        assert_healthz_answered_throughout(prober)
    assert_every_application_emailed_once(smtp_sink, f"{dependency} (all)")
    assert_beat_keeps_scheduling(stack.beat)
    # Nothing was restarted: every process of the stack is the one started before the faults.
    for handle in [*stack.webs, *stack.workers, stack.beat]:
        assert handle.process.poll() is None, handle.log()[-3000:]


# --- RabbitMQ blocked by its memory alarm -------------------------------------------------------


def _rabbitmqctl(*args: str) -> str:
    return subprocess.run(
        ["rabbitmqctl", *args], check=True, capture_output=True, text=True, timeout=60
    ).stdout


@pytest.fixture
def memory_alarm() -> Iterator[tuple[Callable[[], None], Callable[[], None]]]:
    """Raise and clear RabbitMQ's memory alarm, which blocks every publishing connection."""
    if shutil.which("rabbitmqctl") is None:
        pytest.skip("the memory alarm test needs rabbitmqctl on the PATH (the RabbitMQ server)")
    watermark = _rabbitmqctl("eval", "vm_memory_monitor:get_vm_memory_high_watermark().").strip()
    float(watermark)  # a plain fraction, as set in rabbitmq.conf or by default

    def raise_alarm() -> None:
        _rabbitmqctl("set_vm_memory_high_watermark", "0")

    def clear_alarm() -> None:
        _rabbitmqctl("set_vm_memory_high_watermark", watermark)

    try:
        yield raise_alarm, clear_alarm
    finally:
        clear_alarm()


def test_rabbitmq_blocked_by_its_memory_alarm_delays_emails_and_blocks_no_request(
    stack: Stack, smtp_sink: SmtpSink, memory_alarm
):
    raise_alarm, clear_alarm = memory_alarm
    employer = make_user(Role.EMPLOYER)
    job = make_open_job(employer, title="Queue Whisperer")
    with Prober([web.base for web in stack.webs]) as prober:
        with ApplicationStream(
            [web.base for web in stack.webs], job.pk, seeker_tokens(SEEKERS)
        ) as stream:
            report = run_phase(
                stack,
                smtp_sink,
                stream,
                dependency="broker",
                mode="blocked",
                fault=raise_alarm,
                restore=clear_alarm,
                # Connecting still works while publishing is blocked: readiness cannot tell.
                readiness_sees_it=False,
            )
        assert_healthz_answered_throughout(prober)
    # A blocked broker takes no message, yet every application was committed and answered 201.
    assert set(report.statuses) == {201}, report.statuses
    assert_every_application_emailed_once(smtp_sink, "broker blocked (all)")


# --- two of everything: one web instance and one worker node killed mid-load ------------------


def test_killing_one_web_instance_and_one_worker_node_mid_load_loses_nothing(
    stack: Stack, smtp_sink: SmtpSink
):
    import signal

    employer = make_user(Role.EMPLOYER)
    job = make_open_job(employer, title="Chaos Engineer")
    survivor = stack.webs[1]
    with ApplicationStream(
        [web.base for web in stack.webs], job.pk, seeker_tokens(SEEKERS)
    ) as stream:
        time.sleep(3.0)
        killed_at = time.monotonic()
        stack.webs[0].process.send_signal(signal.SIGKILL)
        stack.workers[0].process.send_signal(signal.SIGKILL)
        time.sleep(8.0)
    answers = stream.since(0)
    assert answers
    for answer in answers:
        # Every request was answered, by the survivor once its peer was gone. One that the dying
        # instance committed but could not answer finds, sent again, that the seeker applied.
        if answer.resent and answer.status == 400:
            assert answer.body["code"] == "already_applied", answer.body
        else:
            assert answer.status == 201, (answer.status, answer.body, answer.error)
        assert answer.seconds <= REQUEST_BOUND_SECONDS
    assert len(stream.since(killed_at)) >= 8 * APPLICATIONS_PER_SECOND * 0.8
    survivor_answer = _request("GET", f"{survivor.base}/healthz")
    assert survivor_answer.status == 200
    print(
        f"web+worker killed: requests {dict(collections.Counter(a.status for a in answers))}; "
        f"longest {max(a.seconds for a in answers):.2f} s"
    )
    assert_every_application_emailed_once(smtp_sink, "web+worker killed")
    assert stack.workers[1].process.poll() is None
