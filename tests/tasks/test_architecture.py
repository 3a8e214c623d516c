"""The shape of the event pipeline: who may import whom, how Celery is configured, who subscribes.

Who may import whom is the import-linter contracts of `pyproject.toml` (`lint-imports`): `core`
(the domains, their models, services and the event catalogue) knows neither its interfaces nor its
consumers; the tasks register themselves with core's registry, and reach the REST layer only where
the contracts say. The tests here run those contracts, and show that they see a forbidden import,
also one made inside a function. The Celery configuration encodes the reliability rules (durable
queues with a dead-letter exchange, late acks, prefetch 1, JSON only), and the registry maps each
event that causes an email to its notification task.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from core.outbox import events
from tasks import alerts, notifications, relay
from worker.celery import WORK_QUEUES, app

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
PACKAGES = ("core", "tasks", "worker", "jobboard")


def lint_imports(project: Path) -> subprocess.CompletedProcess[str]:
    """Run import-linter on `project` (its `pyproject.toml`, its packages) as `make test` does."""
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo"],
        cwd=project,
        # Wide enough that no contract's name is wrapped in the report.
        env={**os.environ, "COLUMNS": "300"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def project_copy(tmp_path_factory) -> Path:
    """The project's packages and import contracts, copied where a test may add a module."""
    copy = tmp_path_factory.mktemp("project")
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package,
            copy / package,
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "templates", "static"),
        )
    return copy


# --- import rules --------------------------------------------------------------------------------


def test_the_import_contracts_are_kept():
    result = lint_imports(ROOT)

    assert result.returncode == 0, result.stdout + result.stderr
    assert " 0 broken" in result.stdout, result.stdout


def test_the_contracts_are_kept_by_the_unchanged_copy(project_copy):
    """The copy the next test breaks passes as it is, so only the added module can break it."""
    result = lint_imports(project_copy)

    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("module", "source", "broken"),
    [
        (
            "core/jobs/leak.py",
            "def render(job):\n    from core.api import listings\n\n    return listings\n",
            "the domains and what they share know no interface",
        ),
        (
            "core/outbox/leak.py",
            "from core import api\n",
            "the domains and what they share know no interface",
        ),
        (
            "core/accounts/leak.py",
            "def shape():\n    from rest_framework import serializers\n\n    return serializers\n",
            "the domains and what they share know no interface",
        ),
        (
            "core/applications/leak.py",
            "def notify():\n    import tasks.relay\n\n    return tasks.relay\n",
            "core never imports the tasks or the worker",
        ),
        (
            "core/admin_leak.py",
            "from worker.celery import app\n",
            "core never imports the tasks or the worker",
        ),
        (
            "tasks/leak.py",
            "def render():\n    from core.api import jobs\n\n    return jobs\n",
            "tasks reach the REST layer only where",
        ),
        (
            "core/accounts/leak.py",
            "def jobs_of(user):\n    from core.jobs import selectors\n\n    return selectors\n",
            "core: interfaces over the domains",
        ),
        (
            "core/applications/leak.py",
            "def forget():\n    from core.jobs import listing_cache\n\n"
            "    listing_cache.forget_local()\n",
            "other domains reach jobs through its models, services and selectors",
        ),
        ("core/stray.py", "VALUE = 1\n", "core: interfaces over the domains"),
    ],
    ids=[
        "domain-imports-rest-in-a-function",
        "domain-imports-core-api-as-a-name",
        "domain-imports-drf-in-a-function",
        "domain-imports-tasks-in-a-function",
        "core-imports-the-worker",
        "task-imports-another-rest-module",
        "lower-domain-imports-a-higher-one",
        "domain-imports-jobs-internals",
        "module-in-no-layer",
    ],
)
def test_a_forbidden_import_breaks_the_contracts(project_copy, module, source, broken):
    added = project_copy / module
    added.write_text(source, encoding="utf-8")
    try:
        result = lint_imports(project_copy)
    finally:
        added.unlink()

    assert result.returncode != 0, result.stdout
    broken_lines = [line for line in result.stdout.splitlines() if " BROKEN" in line]
    assert any(line.startswith(broken) for line in broken_lines), result.stdout
    if "import" in source:
        dotted = module.removesuffix(".py").replace("/", ".")
        assert dotted in result.stdout, result.stdout


# --- Celery configuration ------------------------------------------------------------------------


def test_every_work_queue_is_durable_and_dead_letters():
    queues = {queue.name: queue for queue in app.conf.task_queues}

    assert set(WORK_QUEUES) == {
        *("outbox", "notifications", "listings", "maintenance", "alerts", "webhooks"),
    }
    for name in WORK_QUEUES:
        queue = queues[name]
        assert queue.durable, name
        assert queue.exchange.durable, name
        assert queue.queue_arguments["x-dead-letter-exchange"] == "dead_letter", name


@pytest.mark.parametrize(
    ("task_name", "queue"),
    [
        ("tasks.relay.relay_outbox", "outbox"),
        ("tasks.notifications.notify_employer_of_application", "notifications"),
        ("tasks.notifications.notify_applicant_of_status", "notifications"),
        ("tasks.notifications.notify_employer_of_withdrawal", "notifications"),
        ("tasks.notifications.notify_employer_of_expiry", "notifications"),
        ("tasks.alerts.match_instant_alerts", "alerts"),
        ("tasks.alerts.send_instant_alert", "alerts"),
        ("tasks.alerts.send_alert_digest", "alerts"),
        ("tasks.alerts.send_job_alert_digests", "alerts"),
    ],
)
def test_tasks_are_routed_to_their_queue(task_name: str, queue: str):
    route = app.amqp.router.route({}, task_name)

    assert route["queue"].name == queue
    assert task_name in app.tasks


def test_messages_are_acknowledged_late_one_at_a_time_and_json_only():
    conf = app.conf

    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert list(conf.accept_content) == ["json"]
    assert conf.task_serializer == "json"
    assert conf.task_ignore_result is True


@pytest.mark.parametrize(
    "task",
    [
        notifications.notify_employer_of_application,
        notifications.notify_applicant_of_status,
        notifications.notify_employer_of_withdrawal,
        notifications.notify_employer_of_expiry,
        alerts.match_instant_alerts,
        alerts.send_instant_alert,
        alerts.send_alert_digest,
    ],
    ids=lambda task: task.name.rsplit(".", 1)[-1],
)
def test_notification_tasks_ack_late_and_reject_when_the_worker_is_lost(task):
    assert task.acks_late is True
    assert task.reject_on_worker_lost is True


def test_beat_sweeps_the_outbox_at_the_configured_interval():
    schedule = app.conf.beat_schedule

    sweeps = [entry for entry in schedule.values() if entry["task"] == "tasks.relay.relay_outbox"]
    assert len(sweeps) == 1
    assert sweeps[0]["schedule"] == settings.OUTBOX_SWEEP_SECONDS
    for entry in schedule.values():
        assert entry["task"] in app.tasks, entry["task"]


# --- the subscriber registry ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event_type", "task_name"),
    [
        (events.APPLICATION_SUBMITTED, "tasks.notifications.notify_employer_of_application"),
        (events.APPLICATION_STATUS_CHANGED, "tasks.notifications.notify_applicant_of_status"),
        (events.APPLICATION_WITHDRAWN, "tasks.notifications.notify_employer_of_withdrawal"),
        (events.JOB_EXPIRED, "tasks.notifications.notify_employer_of_expiry"),
        (events.JOB_PUBLISHED, "tasks.alerts.match_instant_alerts"),
    ],
)
def test_each_emailing_event_has_its_notification_task_subscribed_once(
    event_type: str, task_name: str
):
    names = [handler.name for handler in events.subscribers_of(event_type)]

    assert names.count(task_name) == 1


def test_every_registered_handler_is_a_known_celery_task_of_the_tasks_package():
    handlers = [
        handler
        for event_type in sorted(events.EVENT_TYPES)
        for handler in events.subscribers_of(event_type)
    ]

    assert handlers, "no subscriber is registered at all"
    for handler in handlers:
        assert handler.name.startswith("tasks."), handler.name
        assert handler.name in app.tasks, handler.name
        assert callable(handler.apply_async)


def test_subscribing_to_an_unknown_event_type_is_refused():
    with pytest.raises(ValueError, match=r"job\.exploded"):
        events.subscribe("job.exploded")


def test_the_relay_is_cores_publisher():
    assert events._publisher is relay.publish_after_commit
