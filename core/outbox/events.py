"""The event catalogue, the outbox writer and the subscriber registry.

Services call `record_event` inside their transaction, so an event exists exactly when the change
it describes was committed. Consumers (the Celery tasks) register themselves with `subscribe`;
`core` never imports them.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from django.db import transaction

from core.outbox.models import OutboxEvent
from core.request_id import current_request_id

JOB_PUBLISHED = "job.published"
JOB_UPDATED = "job.updated"
JOB_CLOSED = "job.closed"
JOB_EXPIRED = "job.expired"
JOB_EXPIRING_SOON = "job.expiring_soon"
APPLICATION_SUBMITTED = "application.submitted"
APPLICATION_STATUS_CHANGED = "application.status_changed"
APPLICATION_WITHDRAWN = "application.withdrawn"
USER_PASSWORD_RESET_REQUESTED = "user.password_reset_requested"  # noqa: S105 (an event name)
WEBHOOK_ENDPOINT_DISABLED = "webhook.endpoint_disabled"

EVENT_TYPES = frozenset(
    {
        JOB_PUBLISHED,
        JOB_UPDATED,
        JOB_CLOSED,
        JOB_EXPIRED,
        JOB_EXPIRING_SOON,
        APPLICATION_SUBMITTED,
        APPLICATION_STATUS_CHANGED,
        APPLICATION_WITHDRAWN,
        USER_PASSWORD_RESET_REQUESTED,
        WEBHOOK_ENDPOINT_DISABLED,
    }
)

Handler = Callable[..., Any]
Publisher = Callable[[list[uuid.UUID]], None]
_subscribers: dict[str, list[Handler]] = defaultdict(list)
_publisher: Publisher | None = None


def _check_recordable(event_type: str) -> None:
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}")
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("events must be recorded inside transaction.atomic()")


def record_event(*, event_type: str, payload: dict[str, Any]) -> OutboxEvent:
    """Store an event in the outbox; must run inside the transaction of the change it describes.

    Once that transaction commits, the registered publisher is asked to relay the event at once;
    if it cannot (broker down), the event waits in the outbox for the periodic sweep. The event
    keeps the id of the request or task run that recorded it.
    """
    _check_recordable(event_type)
    event = OutboxEvent.objects.create(
        event_type=event_type, payload=payload, request_id=current_request_id() or ""
    )
    publish_after_commit([event.id])
    return event


def record_events(*, event_type: str, payloads: list[dict[str, Any]]) -> list[OutboxEvent]:
    """Store many events of one type in one INSERT (set-based jobs such as expiry)."""
    _check_recordable(event_type)
    request_id = current_request_id() or ""
    created = OutboxEvent.objects.bulk_create(
        [
            OutboxEvent(event_type=event_type, payload=payload, request_id=request_id)
            for payload in payloads
        ]
    )
    publish_after_commit([event.id for event in created])
    return created


def publish_after_commit(event_ids: list[uuid.UUID]) -> None:
    """Ask the publisher to relay these events once the current transaction commits (at once
    when no transaction is open, as for events already stored that are replayed)."""
    if _publisher is not None and event_ids:
        publisher = _publisher
        ids = list(event_ids)
        transaction.on_commit(lambda: publisher(ids))


def set_publisher(publisher: Publisher | None) -> None:
    """Register the function that relays committed events (the outbox relay of `tasks`)."""
    global _publisher
    _publisher = publisher


def subscribe(event_type: str) -> Callable[[Handler], Handler]:
    """Decorator registering `handler` as a subscriber of `event_type`."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}")

    def register(handler: Handler) -> Handler:
        if handler not in _subscribers[event_type]:
            _subscribers[event_type].append(handler)
        return handler

    return register


def subscribers_of(event_type: str) -> list[Handler]:
    """The handlers registered for `event_type`, in registration order."""
    return list(_subscribers.get(event_type, ()))
