"""Reads of the webhooks domain: an employer's endpoints and delivery log, who hears of an event,
and what the periodic sweep must start."""

from __future__ import annotations

import uuid
from datetime import datetime

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from core.accounts.models import User
from core.webhooks.models import WebhookDelivery, WebhookDeliveryStatus, WebhookEndpoint


def endpoints_of(*, employer: User) -> QuerySet[WebhookEndpoint]:
    """The employer's endpoints, newest first; another employer's are not in it (404)."""
    return WebhookEndpoint.objects.filter(employer=employer).order_by("-created_at", "-id")


def deliveries_of(*, endpoint: WebhookEndpoint) -> QuerySet[WebhookDelivery]:
    """The endpoint's delivery log, newest first, each with its attempt count."""
    return (
        WebhookDelivery.objects.filter(endpoint=endpoint)
        .annotate(attempt_total=Count("attempts"))
        .order_by("-created_at", "-id")
    )


def delivery_with_attempts(*, endpoint: WebhookEndpoint, delivery_id) -> WebhookDelivery | None:
    return (
        WebhookDelivery.objects.filter(endpoint=endpoint, pk=delivery_id)
        .prefetch_related("attempts")
        .first()
    )


def endpoints_for_event(
    *, employer_id: int | None, event_type: str, occurred_at: datetime
) -> list[WebhookEndpoint]:
    """The active endpoints of the event's employer that subscribed to its type and existed when
    it happened: an employer's endpoint hears only of that employer's own jobs and their
    applications, and only of what happened after it was registered (an event the relay
    delivers late, after a broker outage, is not news to an endpoint younger than it)."""
    if employer_id is None:
        return []
    candidates = WebhookEndpoint.objects.filter(
        employer_id=employer_id, is_active=True, created_at__lte=occurred_at
    )
    # Filtered here rather than with a JSON containment lookup, which SQLite (the one-command
    # run) does not have; an employer has a handful of endpoints.
    return [endpoint for endpoint in candidates if event_type in endpoint.events]


def due_delivery_ids(*, limit: int = 500) -> list[uuid.UUID]:
    """The oldest due delivery of each active endpoint with no attempt in flight: the sweep
    starts these, and each finished attempt starts its endpoint's next one."""
    now = timezone.now()
    rows = (
        WebhookDelivery.objects.filter(
            status=WebhookDeliveryStatus.PENDING,
            next_attempt_at__lte=now,
            endpoint__is_active=True,
        )
        .filter(Q(endpoint__busy_until__isnull=True) | Q(endpoint__busy_until__lte=now))
        .order_by("next_attempt_at")
        .values_list("id", "endpoint_id")[: limit * 10]
    )
    seen: set[int] = set()
    due: list[uuid.UUID] = []
    for delivery_id, endpoint_id in rows:
        if endpoint_id not in seen:
            seen.add(endpoint_id)
            due.append(delivery_id)
            if len(due) >= limit:
                break
    return due
