"""The outbox relay: publish stored events to their subscribers, one Celery message each.

Two callers: the web process right after a transaction with events commits (bounded: no
retries, a short connect timeout and a circuit breaker, so a broker outage costs a request
milliseconds), and the periodic `relay_outbox` sweep, which publishes whatever an outage left
behind. Rows are claimed with `SELECT ... FOR UPDATE SKIP LOCKED`, so relays never publish the
same row at the same time, and a row is marked published only after the broker confirmed every
message of it. Delivery is at least once; subscribers are idempotent.
"""

from __future__ import annotations

import logging
import time
import uuid

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from core.circuit_breakers import CircuitOpen, circuit_breaker
from core.outbox.events import subscribers_of
from core.outbox.models import OutboxEvent

logger = logging.getLogger(__name__)

SWEEP_BATCH = 500
SWEEP_TIME_BUDGET_SECONDS = 20.0

# After a failed publish the web process leaves the broker alone for `OUTBOX_CIRCUIT_SECONDS`.
broker_circuit = circuit_breaker(
    "outbox relay", open_seconds=lambda: settings.OUTBOX_CIRCUIT_SECONDS
)


def relay_pending(*, event_ids: list[uuid.UUID] | None = None, limit: int = SWEEP_BATCH) -> int:
    """Publish up to `limit` unpublished events (only `event_ids` when given); returns how many.

    Raises the broker's error when a publish fails; the rows published before it stay marked.
    """
    error: Exception | None = None
    with transaction.atomic():
        pending = OutboxEvent.objects.select_for_update(skip_locked=True).filter(
            published_at__isnull=True
        )
        if event_ids is not None:
            pending = pending.filter(id__in=event_ids)
        events = list(pending.order_by("occurred_at")[:limit])
        published: list[uuid.UUID] = []
        for event in events:
            headers = {"event_id": str(event.id), "event_type": event.event_type}
            if event.request_id:
                # The worker binds it for the task run (worker/celery.py), so the run's log
                # lines carry the id of the request that caused them, however late it is relayed.
                headers["request_id"] = event.request_id
            try:
                for handler in subscribers_of(event.event_type):
                    # With publisher confirms on, this returns once RabbitMQ has the message.
                    handler.apply_async(args=[str(event.id)], retry=False, headers=headers)
            except Exception as exc:
                # Keep what was confirmed; this row and the rest stay pending for the sweep.
                error = exc
                OutboxEvent.objects.filter(id=event.id).update(
                    publish_attempts=F("publish_attempts") + 1
                )
                break
            published.append(event.id)
        if published:
            OutboxEvent.objects.filter(id__in=published).update(published_at=timezone.now())
    if error is not None:
        raise error
    return len(published)


def publish_after_commit(event_ids: list[uuid.UUID]) -> None:
    """Relay just-committed events from the web process, never raising and never blocking long.

    A failure opens the circuit for `OUTBOX_CIRCUIT_SECONDS`: requests in that window leave their
    events to the sweep instead of each waiting on a broker that is down.
    """
    try:
        broker_circuit.call(relay_pending, event_ids=event_ids, limit=len(event_ids))
    except CircuitOpen:
        return
    except Exception as exc:
        logger.warning(
            "outbox: publishing %d event(s) failed (%s: %s); the sweep will retry them",
            len(event_ids),
            type(exc).__name__,
            exc,
        )


@shared_task(name="tasks.relay.relay_outbox", ignore_result=True)
def relay_outbox() -> int:
    """Periodic sweep: publish every event still waiting in the outbox, oldest first.

    Safe to run twice or concurrently (rows are claimed with SKIP LOCKED). Stops after a time
    budget so one sweep never outlives the next; the rest waits for that one.
    """
    total = 0
    deadline = time.monotonic() + SWEEP_TIME_BUDGET_SECONDS
    while time.monotonic() < deadline:
        published = relay_pending(limit=SWEEP_BATCH)
        total += published
        if published < SWEEP_BATCH:
            break
    if total:
        logger.info("outbox: sweep published %d event(s)", total)
    return total
