"""The shape of the event pipeline: who may import whom, how Celery is configured, who subscribes.

`core` (models, services, the event catalogue) must not know its consumers: the tasks register
themselves with core's registry, and core reaches them only through it. The Celery configuration
encodes the reliability rules (durable queues with a dead-letter exchange, late acks, prefetch 1,
JSON only), and the registry maps each event that causes an email to its notification task.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

from core import events
from tasks import notifications, relay
from worker.celery import WORK_QUEUES, app

ROOT = Path(__file__).resolve().parents[2]


def imported_modules(source: str) -> Iterator[str]:
    """Every module a piece of Python source imports, as dotted names.

    `from a import b` yields both `a` and `a.b` (b may be a submodule); relative imports are
    ignored (they stay inside their package); `importlib.import_module("x")` yields `x`.
    """
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module
            for alias in node.names:
                yield f"{node.module}.{alias.name}"
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            yield node.args[0].value


def is_within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def forbidden_imports(package: str, forbidden: tuple[str, ...]) -> list[str]:
    offences = []
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, f"no Python files found under {package}/"
    for path in files:
        for module in imported_modules(path.read_text(encoding="utf-8")):
            if any(is_within(module, target) for target in forbidden):
                offences.append(f"{path.relative_to(ROOT)} imports {module}")
    return offences


# --- import rules --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "found"),
    [
        ("import tasks.relay", True),
        ("from tasks import notifications", True),
        ("from worker.celery import app", True),
        ("import worker", True),
        ("def f():\n    from tasks.email import send_once", True),
        ("importlib.import_module('tasks.relay')", True),
        ("from core.api import views", False),
        ("import taskschedule", False),
        ("from . import tasks", False),
    ],
)
def test_import_scanner_recognises_imports_of_tasks_and_worker(source: str, found: bool):
    modules = list(imported_modules(source))

    assert any(is_within(m, "tasks") or is_within(m, "worker") for m in modules) is found


def test_import_scanner_sees_core_api_imported_as_a_name_from_core():
    assert any(is_within(m, "core.api") for m in imported_modules("from core import api"))


def test_core_never_imports_tasks_or_worker():
    assert forbidden_imports("core", ("tasks", "worker")) == []


def test_tasks_never_import_the_http_api():
    assert forbidden_imports("tasks", ("core.api",)) == []


def test_the_tasks_package_does_import_core_so_the_scan_is_meaningful():
    scanned = [
        module
        for path in (ROOT / "tasks").rglob("*.py")
        for module in imported_modules(path.read_text(encoding="utf-8"))
    ]

    assert any(is_within(module, "core") for module in scanned)


# --- Celery configuration ------------------------------------------------------------------------


def test_every_work_queue_is_durable_and_dead_letters():
    queues = {queue.name: queue for queue in app.conf.task_queues}

    assert set(WORK_QUEUES) == {"outbox", "notifications", "listings", "maintenance"}
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
