"""The event catalogue, the outbox writer and the subscriber registry.

Services call `record_event` inside their transaction, so an event exists exactly when the change
it describes was committed. Consumers (the Celery tasks) register themselves with `subscribe`;
`core` never imports them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from django.db import transaction

from core.models import OutboxEvent

JOB_PUBLISHED = "job.published"
JOB_UPDATED = "job.updated"
JOB_CLOSED = "job.closed"
JOB_EXPIRED = "job.expired"
APPLICATION_SUBMITTED = "application.submitted"
APPLICATION_STATUS_CHANGED = "application.status_changed"
APPLICATION_WITHDRAWN = "application.withdrawn"

EVENT_TYPES = frozenset(
    {
        JOB_PUBLISHED,
        JOB_UPDATED,
        JOB_CLOSED,
        JOB_EXPIRED,
        APPLICATION_SUBMITTED,
        APPLICATION_STATUS_CHANGED,
        APPLICATION_WITHDRAWN,
    }
)

Handler = Callable[..., Any]
_subscribers: dict[str, list[Handler]] = defaultdict(list)


def record_event(*, event_type: str, payload: dict[str, Any]) -> OutboxEvent:
    """Store an event in the outbox; must run inside the transaction of the change it describes."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}")
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("record_event must be called inside transaction.atomic()")
    return OutboxEvent.objects.create(event_type=event_type, payload=payload)


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
