"""The request id across the broker, and the log line of every task run.

The relay copies an event's request id into the headers of each message it publishes; a task run
binds the id its message carries (so its own log lines and any events it records keep it), and
ends with one line: task, task id, event id, outcome, duration, request id.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from typing import Any

import pytest
from celery import signals, states
from django.db import transaction

from core.outbox import events
from core.outbox.models import OutboxEvent
from core.request_id import bind_request_id, current_request_id, reset_request_id
from tasks import maintenance, notifications, relay
from tests.log_lines import json_log_lines


class RecordingHandler:
    """A subscriber as the relay sees it, keeping what it was asked to publish."""

    name = "tests.recording_handler"

    def __init__(self) -> None:
        self.published: list[dict[str, Any]] = []

    def apply_async(self, **kwargs: Any) -> None:
        self.published.append(kwargs)


@pytest.fixture
def recorder(monkeypatch) -> RecordingHandler:
    handler = RecordingHandler()
    registry = defaultdict(list, {events.JOB_UPDATED: [handler]})
    monkeypatch.setattr(events, "_subscribers", registry)
    monkeypatch.setattr(events, "_publisher", None)
    return handler


def record_job_updated() -> OutboxEvent:
    with transaction.atomic():
        return events.record_event(event_type=events.JOB_UPDATED, payload={"job_id": 1})


def test_the_relay_passes_the_events_request_id_in_the_message_headers(db, recorder):
    token = bind_request_id("req-from-api")
    try:
        event = record_job_updated()
    finally:
        reset_request_id(token)

    relay.relay_pending()

    [message] = recorder.published
    assert message["headers"] == {
        "event_id": str(event.id),
        "event_type": events.JOB_UPDATED,
        "request_id": "req-from-api",
    }


def test_an_event_without_a_request_id_is_published_without_one(db, recorder):
    record_job_updated()

    relay.relay_pending()

    [message] = recorder.published
    assert "request_id" not in message["headers"]


def test_a_task_run_logs_one_line_and_its_own_lines_carry_the_request_id(db):
    event_id = str(uuid.uuid4())  # no such event: the task says so and finishes

    with json_log_lines() as lines:
        notifications.notify_employer_of_application.apply(
            args=[event_id], headers={"request_id": "req-77", "event_id": event_id}
        )

    [run] = lines.parsed("jobboard.task")
    assert run["task_name"] == "tasks.notifications.notify_employer_of_application"
    assert run["task_id"]
    assert run["event_id"] == event_id
    assert run["outcome"] == "succeeded"
    assert run["request_id"] == "req-77"
    assert run["level"] == "INFO"
    assert isinstance(run["duration_ms"], float)
    [own] = lines.parsed("tasks.notifications")
    assert "not found" in own["message"]
    assert own["request_id"] == "req-77"
    assert current_request_id() is None


def test_a_task_run_without_a_request_id_logs_none_and_leaves_none_bound(db):
    token = bind_request_id("leftover-from-elsewhere")
    try:
        with json_log_lines() as lines:
            maintenance.expire_stale_jobs.apply()
        assert current_request_id() == "leftover-from-elsewhere"
    finally:
        reset_request_id(token)

    [run] = lines.parsed("jobboard.task")
    assert run["task_name"] == "tasks.maintenance.expire_stale_jobs"
    assert run["request_id"] is None
    assert run["event_id"] is None


def test_an_unsafe_request_id_in_a_message_is_not_bound(db):
    with json_log_lines() as lines:
        maintenance.housekeeping.apply(headers={"request_id": "two\nlines"})

    assert {line["request_id"] for line in lines.parsed()} == {None}


def test_events_a_task_records_keep_the_request_id_of_its_run(db):
    @signals.task_prerun.connect
    def record_an_event(task, **kwargs):  # the run's first act: record an event
        with transaction.atomic():
            events.record_event(event_type=events.JOB_UPDATED, payload={"job_id": 1})

    try:
        maintenance.housekeeping.apply(headers={"request_id": "req-from-task"})
    finally:
        signals.task_prerun.disconnect(record_an_event)

    assert OutboxEvent.objects.get().request_id == "req-from-task"


@pytest.mark.parametrize(
    ("state", "outcome", "level"),
    [
        (states.SUCCESS, "succeeded", "INFO"),
        (states.RETRY, "retried", "WARNING"),
        (states.FAILURE, "failed", "ERROR"),
        (states.REJECTED, "rejected", "ERROR"),
    ],
)
def test_the_run_line_names_the_outcome(state, outcome, level):
    task = notifications.notify_employer_of_application
    task_id = str(uuid.uuid4())
    task.push_request(id=task_id, request_id="req-5", event_id="evt-5", retries=2)
    try:
        with json_log_lines(logging.DEBUG) as lines:
            signals.task_prerun.send(sender=task, task_id=task_id, task=task, args=[], kwargs={})
            assert current_request_id() == "req-5"
            signals.task_postrun.send(
                sender=task,
                task_id=task_id,
                task=task,
                args=[],
                kwargs={},
                retval=None,
                state=state,
            )
    finally:
        task.pop_request()

    [run] = lines.parsed("jobboard.task")
    assert run["outcome"] == outcome
    assert run["level"] == level
    assert run["request_id"] == "req-5"
    assert run["event_id"] == "evt-5"
    assert run["retries"] == 2
    assert current_request_id() is None
