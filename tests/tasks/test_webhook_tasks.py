"""The webhooks worker's wiring: its own queue, late acknowledgement, the beat sweep, and one
subscription per subscribable event type."""

from __future__ import annotations

import pytest
from django.conf import settings

from core.outbox import events
from core.webhooks import services
from tasks import notifications, webhooks
from worker.celery import WEBHOOKS_QUEUE, WORK_QUEUES, app


@pytest.mark.parametrize(
    "task_name",
    [
        "tasks.webhooks.create_deliveries",
        "tasks.webhooks.attempt_delivery",
        "tasks.webhooks.sweep_due_deliveries",
    ],
)
def test_webhook_tasks_have_a_queue_of_their_own(task_name: str):
    assert WEBHOOKS_QUEUE in WORK_QUEUES
    assert app.amqp.router.route({}, task_name)["queue"].name == WEBHOOKS_QUEUE
    assert task_name in app.tasks


def test_the_disabled_endpoint_email_goes_through_the_notifications_queue():
    task = notifications.notify_employer_of_disabled_webhook
    assert app.amqp.router.route({}, task.name)["queue"].name == "notifications"
    names = [h.name for h in events.subscribers_of(events.WEBHOOK_ENDPOINT_DISABLED)]
    assert names == [task.name]


@pytest.mark.parametrize("task", [webhooks.create_deliveries, webhooks.attempt_delivery])
def test_webhook_tasks_ack_late_and_reject_when_the_worker_is_lost(task):
    assert task.acks_late is True
    assert task.reject_on_worker_lost is True
    # A backstop above the request's own timeouts: a dripping receiver loses the process.
    if task is webhooks.attempt_delivery:
        assert task.time_limit >= 3 * settings.WEBHOOK_TIMEOUT_SECONDS


@pytest.mark.parametrize("event_type", services.SUBSCRIBABLE_EVENTS)
def test_each_subscribable_event_creates_deliveries_once(event_type: str):
    names = [handler.name for handler in events.subscribers_of(event_type)]
    assert names.count("tasks.webhooks.create_deliveries") == 1


def test_events_no_employer_may_subscribe_to_create_no_deliveries():
    for event_type in events.EVENT_TYPES - set(services.SUBSCRIBABLE_EVENTS):
        names = [handler.name for handler in events.subscribers_of(event_type)]
        assert "tasks.webhooks.create_deliveries" not in names, event_type


def test_beat_sweeps_due_deliveries_at_the_configured_interval():
    sweeps = [
        entry
        for entry in app.conf.beat_schedule.values()
        if entry["task"] == "tasks.webhooks.sweep_due_deliveries"
    ]
    assert len(sweeps) == 1
    assert sweeps[0]["schedule"] == settings.WEBHOOK_SWEEP_SECONDS
