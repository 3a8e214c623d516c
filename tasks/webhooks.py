"""Webhook deliveries: one row per (event, endpoint), then one signed POST per attempt.

`create_deliveries` subscribes to the event types employers may subscribe to. It snapshots the
event's subject (rendered as the API shows it) into the body of every delivery it creates, so
what is sent and resent is what the subject was when the event was relayed: normally
milliseconds after the change committed, at worst after a broker outage ends (the outbox holds
ids, not bodies). Each attempt runs `attempt_delivery` with the delivery's id; a finished attempt
starts its endpoint's next due delivery, and `sweep_due_deliveries` (beat) starts retries whose
time has come and any attempt a lost worker left, so no retry waits in a broker countdown.
"""

from __future__ import annotations

import logging
import time
import uuid

from celery import Task, shared_task
from django.db import InterfaceError, OperationalError

from core.api.webhooks import event_data
from core.outbox import events
from core.outbox.models import OutboxEvent
from core.webhooks import selectors, services

logger = logging.getLogger(__name__)

WEBHOOK_TASK_OPTIONS = {
    "bind": True,
    "ignore_result": True,
    "acks_late": True,
    "reject_on_worker_lost": True,
    "max_retries": None,
}


def start_attempts(delivery_ids: list[uuid.UUID]) -> None:
    """Queue an attempt of each delivery (the dispatcher the domain calls after commit)."""
    for delivery_id in delivery_ids:
        attempt_delivery.apply_async(args=[str(delivery_id)], retry=False)


def _subscribed(task):
    for event_type in services.SUBSCRIBABLE_EVENTS:
        events.subscribe(event_type)(task)
    return task


@_subscribed
@shared_task(name="tasks.webhooks.create_deliveries", **WEBHOOK_TASK_OPTIONS)
def create_deliveries(self: Task, event_id: str) -> int:
    """Create the event's deliveries (one per subscribed endpoint of the event's employer) and
    start their attempts; safe to run again for the same event."""
    try:
        event = OutboxEvent.objects.filter(pk=event_id).first()
        if event is None:
            logger.warning("webhooks: event %s not found", event_id)
            return 0
        endpoints = selectors.endpoints_for_event(
            employer_id=event.payload.get("employer_id"),
            event_type=event.event_type,
            occurred_at=event.occurred_at,
        )
        if not endpoints:
            return 0
        data = event_data(event)
        if data is None:
            logger.warning("webhooks: the subject of event %s is gone", event_id)
            return 0
        pending = services.create_event_deliveries(
            event_id=event.id,
            event_type=event.event_type,
            endpoints=endpoints,
            occurred_at=event.occurred_at,
            data=data,
        )
    except (OperationalError, InterfaceError) as exc:
        raise self.retry(exc=exc, countdown=2) from exc
    start_attempts(pending)
    return len(pending)


@shared_task(
    name="tasks.webhooks.attempt_delivery",
    # A backstop above the requests' own timeouts (connect and read, WEBHOOK_TIMEOUT_SECONDS
    # each): a receiver that drips its answer byte by byte loses the process, not the queue.
    # The drain below starts no attempt after one lease; the one in hand may take another.
    time_limit=int(2 * services.lease_seconds()) + 10,
    **WEBHOOK_TASK_OPTIONS,
)
def attempt_delivery(self: Task, delivery_id: str) -> str:
    """Attempt the delivery if it is due and its endpoint is free, then go on with that
    endpoint's next due deliveries for up to one lease, in this run: the endpoint's backlog
    drains at the receiver's pace instead of queueing behind every other task each time. What
    is left then is queued again."""
    deadline = time.monotonic() + services.lease_seconds()
    first: str | None = None
    next_id: uuid.UUID | str | None = delivery_id
    while next_id is not None:
        try:
            result = services.attempt_delivery(delivery_id=next_id)
        except (OperationalError, InterfaceError) as exc:
            raise self.retry(exc=exc, countdown=2, args=[str(next_id)]) from exc
        first = first or result.outcome
        next_id = result.next_delivery_id
        if next_id is not None and time.monotonic() > deadline:
            start_attempts([next_id])
            break
    return first or "missing"


@shared_task(name="tasks.webhooks.sweep_due_deliveries", ignore_result=True, acks_late=True)
def sweep_due_deliveries() -> int:
    """Periodic: start the due delivery of every free endpoint (retries, lost attempts)."""
    due = selectors.due_delivery_ids()
    start_attempts(due)
    if due:
        logger.info("webhooks: sweep started %d attempt(s)", len(due))
    return len(due)
