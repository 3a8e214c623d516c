"""The Celery application: broker and queue configuration, routing, beat schedule, worker signals.

`celery -A worker worker|beat|flower` finds `app` here. Settings come from Django's settings
(`CELERY_*`), so the broker is RabbitMQ when `CELERY_BROKER_URL` is set and kombu's filesystem
transport otherwise.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from contextvars import Token
from pathlib import Path

from celery import Celery, signals, states
from celery.schedules import crontab
from django.conf import settings
from kombu import Exchange, Queue

from core.request_id import bind_request_id, clean_request_id, reset_request_id

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jobboard.settings")


class JobboardCelery(Celery):
    """Celery whose every publish (tasks, retries, beat, the outbox relay) is bounded.

    With publisher confirms on, a publish waits for RabbitMQ's confirmation, and a broker that
    accepted the connection but stopped answering (hung, or blocked by its memory alarm) would
    hold that wait forever. `CELERY_BROKER_PUBLISH_TIMEOUT` bounds both the socket write and the
    wait for the confirmation; a publish past it raises, and the caller's policy applies (the
    outbox keeps the event for the sweep; a task retry is retried by the broker's redelivery).
    """

    def connection_for_write(self, url=None, **kwargs):
        # Publishing connections (the producer pool of web, worker and beat) also bound every
        # other read and write on their socket: opening a channel, and the graceful close kombu
        # does after a failed publish, would otherwise wait on a hung broker forever. The
        # worker's consuming connection keeps its heartbeats instead.
        timeout = self.conf.get("broker_publish_timeout")
        if timeout:
            kwargs["transport_options"] = {
                **(kwargs.get("transport_options") or {}),
                "read_timeout": timeout,
                "write_timeout": timeout,
            }
        return super().connection_for_write(url, **kwargs)

    def send_task(self, name, args=None, kwargs=None, **options):
        timeout = self.conf.get("broker_publish_timeout")
        if timeout:
            options.setdefault("timeout", timeout)
            options.setdefault("confirm_timeout", timeout)
        return super().send_task(name, args, kwargs, **options)


app = JobboardCelery("jobboard")
app.config_from_object("django.conf:settings", namespace="CELERY")

logger = logging.getLogger(__name__)

OUTBOX_QUEUE = "outbox"
NOTIFICATIONS_QUEUE = "notifications"
LISTINGS_QUEUE = "listings"
MAINTENANCE_QUEUE = "maintenance"
ALERTS_QUEUE = "alerts"
# Webhooks: signed POSTs to employers' systems, slow receivers kept off every other queue.
WEBHOOKS_QUEUE = "webhooks"
WORK_QUEUES = (
    *(OUTBOX_QUEUE, NOTIFICATIONS_QUEUE, LISTINGS_QUEUE, MAINTENANCE_QUEUE),
    *(ALERTS_QUEUE, WEBHOOKS_QUEUE),
)

# A message rejected after its last retry goes to the dead-letter queue, never to /dev/null.
DEAD_LETTER_EXCHANGE = Exchange("dead_letter", type="direct", durable=True)
DEAD_LETTER_QUEUE = Queue(
    "dead_letter", DEAD_LETTER_EXCHANGE, routing_key="dead_letter", durable=True
)


def _work_queue(name: str) -> Queue:
    return Queue(
        name,
        Exchange(name, type="direct", durable=True),
        routing_key=name,
        durable=True,
        queue_arguments={
            "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE.name,
            "x-dead-letter-routing-key": "dead_letter",
        },
    )


app.conf.task_queues = [_work_queue(name) for name in WORK_QUEUES]
app.conf.task_default_queue = MAINTENANCE_QUEUE
app.conf.task_routes = {
    "tasks.relay.*": {"queue": OUTBOX_QUEUE, "routing_key": OUTBOX_QUEUE},
    "tasks.notifications.*": {"queue": NOTIFICATIONS_QUEUE, "routing_key": NOTIFICATIONS_QUEUE},
    "tasks.listings.*": {"queue": LISTINGS_QUEUE, "routing_key": LISTINGS_QUEUE},
    "tasks.maintenance.*": {"queue": MAINTENANCE_QUEUE, "routing_key": MAINTENANCE_QUEUE},
    "tasks.alerts.*": {"queue": ALERTS_QUEUE, "routing_key": ALERTS_QUEUE},
    "tasks.webhooks.*": {"queue": WEBHOOKS_QUEUE, "routing_key": WEBHOOKS_QUEUE},
}
app.conf.imports = (
    "tasks.relay",
    "tasks.notifications",
    "tasks.listings",
    "tasks.maintenance",
    "tasks.alerts",
    "tasks.webhooks",
)
# Beat records each periodic run in the database as soon as it sends it (by default it writes
# them every three minutes): the admin shows true last runs, and `manage.py check_beat`, the
# beat container's health check, can tell a stalled beat within seconds. One UPDATE per run.
app.conf.beat_sync_every = 1


@app.on_after_configure.connect
def _configure_from_settings(sender: Celery, **kwargs) -> None:
    """Settings-dependent configuration, run once Django's settings are loaded (lazily, so that
    importing this module never imports the settings, which import this module)."""
    # kombu's filesystem transport (the embedded default) needs its folders before anyone
    # publishes; web, worker, beat and Flower all come through here.
    for folder in (sender.conf.broker_transport_options or {}).values():
        if isinstance(folder, str) and os.path.isabs(folder):
            Path(folder).mkdir(parents=True, exist_ok=True)

    # Periodic tasks are defined here; django-celery-beat's DatabaseScheduler syncs them into its
    # tables when beat starts, where operators can see (and pause) them in the admin.
    def every(seconds: float, task: str) -> dict:
        # A run that could not start before the next one is due is dropped, not piled up.
        return {"task": task, "schedule": seconds, "options": {"expires": seconds * 2}}

    sender.conf.beat_schedule = {
        "relay-outbox-sweep": every(settings.OUTBOX_SWEEP_SECONDS, "tasks.relay.relay_outbox"),
        "expire-stale-jobs": every(
            settings.JOB_EXPIRY_INTERVAL_SECONDS, "tasks.maintenance.expire_stale_jobs"
        ),
        "send-expiry-reminders": every(
            settings.JOB_EXPIRY_INTERVAL_SECONDS, "tasks.maintenance.send_expiry_reminders"
        ),
        "housekeeping": every(
            settings.HOUSEKEEPING_INTERVAL_SECONDS, "tasks.maintenance.housekeeping"
        ),
        "webhook-deliveries-sweep": every(
            settings.WEBHOOK_SWEEP_SECONDS, "tasks.webhooks.sweep_due_deliveries"
        ),
        **_job_alert_digest_schedule(),
    }


def _job_alert_digest_schedule() -> dict:
    """The daily and weekly job alert digests, at `JOB_ALERT_DIGEST_TIME` (UTC), the weekly one
    on ISO weekday `JOB_ALERT_WEEKLY_DAY`. A run that could not start within the hour is dropped:
    the next one covers its jobs (each alert keeps its own high-water mark)."""
    hour, minute = (int(part) for part in settings.JOB_ALERT_DIGEST_TIME.split(":"))
    at = {"hour": hour, "minute": minute}
    return {
        f"job-alert-digests-{frequency}": {
            "task": "tasks.alerts.send_job_alert_digests",
            "schedule": crontab(**at, **days),
            "args": (frequency,),
            "options": {"expires": 3600},
        }
        for frequency, days in (
            ("daily", {}),
            ("weekly", {"day_of_week": settings.JOB_ALERT_WEEKLY_DAY % 7}),
        )
    }


@signals.worker_ready.connect
def _declare_dead_letter_queue_and_sweep(sender=None, **kwargs) -> None:
    """Make sure the dead-letter queue exists, and relay what waited while no worker ran."""
    try:
        with app.connection_for_write() as connection:
            DEAD_LETTER_QUEUE(connection.default_channel).declare()
    except Exception:
        logger.exception("could not declare the dead-letter queue")
    app.send_task("tasks.relay.relay_outbox")


# --- Logging ----------------------------------------------------------------------------------
#
# Worker and beat log through Django's LOGGING (settings: LOG_FORMAT, LOG_LEVEL), like the web
# process: one format everywhere. Every task run binds the request id its message carries (the
# relay copies it from the outbox row) and ends with one log line saying how it went.

task_logger = logging.getLogger("jobboard.task")

_OUTCOMES = {
    states.SUCCESS: ("succeeded", logging.INFO),
    states.RETRY: ("retried", logging.WARNING),
    states.FAILURE: ("failed", logging.ERROR),
    states.REJECTED: ("rejected", logging.ERROR),
    states.IGNORED: ("ignored", logging.INFO),
}
# task id -> (start, token of the request id binding), for the run in progress in this process.
_runs: dict[str, tuple[float, Token]] = {}


@signals.setup_logging.connect
def _configure_logging_from_django(**kwargs) -> None:
    """Hand Celery's logging to Django's LOGGING (a receiver here stops Celery configuring its
    own handlers)."""
    from logging.config import dictConfig

    dictConfig(settings.LOGGING)


def _message_header(request, name: str) -> str | None:
    # A consumed message's headers are attributes of the request; an eagerly applied task keeps
    # them in `request.headers`.
    value = getattr(request, name, None) or (getattr(request, "headers", None) or {}).get(name)
    return value if isinstance(value, str) else None


@signals.task_prerun.connect
def _start_task_run(task_id: str, task, **kwargs) -> None:
    request_id = clean_request_id(_message_header(task.request, "request_id"))
    _runs[task_id] = (time.perf_counter(), bind_request_id(request_id))


@signals.task_postrun.connect
def _log_task_run(task_id: str, task, state: str | None = None, **kwargs) -> None:
    started, token = _runs.pop(task_id, (None, None))
    outcome, level = _OUTCOMES.get(state, (str(state).lower(), logging.WARNING))
    duration_ms = round((time.perf_counter() - started) * 1000, 1) if started else None
    try:
        task_logger.log(
            level,
            "%s[%s] %s in %sms",
            task.name,
            task_id,
            outcome,
            duration_ms,
            extra={
                "task_name": task.name,
                "task_id": task_id,
                "event_id": _message_header(task.request, "event_id"),
                "outcome": outcome,
                "retries": task.request.retries,
                "duration_ms": duration_ms,
            },
        )
    finally:
        try:
            reset_request_id(token)
        except ValueError:  # bound in another context: just clear it
            reset_request_id()


# --- A killed worker finishes the email in hand ---------------------------------------------
#
# Celery asks the kernel to SIGKILL pool processes the moment the main worker process dies. An
# email whose SMTP transaction had completed but whose delivery row was not yet committed would
# then be sent again after redelivery. Instead, a pool process whose parent died finishes the task
# it is running (the commit included) and then exits; every unacknowledged message is redelivered
# by the broker and finds its delivery already recorded as sent.

_task_running = threading.Event()
ORPHAN_GRACE_SECONDS = 30.0


@signals.task_prerun.connect
def _mark_task_running(**kwargs) -> None:
    _task_running.set()


@signals.task_postrun.connect
def _mark_task_done(**kwargs) -> None:
    _task_running.clear()


def _exit_when_orphaned(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(0.1)
    deadline = time.monotonic() + ORPHAN_GRACE_SECONDS
    while _task_running.is_set() and time.monotonic() < deadline:
        time.sleep(0.01)
    os._exit(0)


@signals.worker_process_init.connect
def _finish_in_flight_task_when_orphaned(**kwargs) -> None:
    from billiard.util import set_pdeathsig

    try:
        set_pdeathsig(0)
    except OSError:  # not Linux: keep Celery's default
        return
    threading.Thread(
        target=_exit_when_orphaned, args=(os.getppid(),), name="orphan-watch", daemon=True
    ).start()
