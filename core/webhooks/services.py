"""Writes of the webhooks domain: endpoints, their secrets, deliveries and every attempt.

Endpoints are checked (`addresses.check_url`) when their URL is saved; deliveries are created
once per (event, endpoint) with the body they will always send; an attempt claims its delivery
and its endpoint (one attempt in flight per endpoint), checks the URL again, sends to the checked
address and records the outcome: success, a retry on `WEBHOOK_RETRY_SCHEDULE` (or the receiver's
`Retry-After` for 429/503), or failure. A 410, or `WEBHOOK_DISABLE_AFTER_HOURS` of failures
only, disables the endpoint and records `webhook.endpoint_disabled` (its employer is emailed).
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from core.accounts.models import User
from core.batching import delete_in_batches
from core.exceptions import Conflict, DomainError
from core.outbox import events
from core.webhooks import sending
from core.webhooks.addresses import WebhookURLRefused, check_url
from core.webhooks.models import (
    WebhookAttempt,
    WebhookDelivery,
    WebhookDeliveryStatus,
    WebhookEndpoint,
)

logger = logging.getLogger(__name__)

SUBSCRIBABLE_EVENTS = (
    events.JOB_PUBLISHED,
    events.JOB_UPDATED,
    events.JOB_CLOSED,
    events.JOB_EXPIRED,
    events.APPLICATION_SUBMITTED,
    events.APPLICATION_STATUS_CHANGED,
    events.APPLICATION_WITHDRAWN,
)
PING = "webhook.ping"
DISABLED_GONE = "gone"
DISABLED_FAILING = "failing"


Dispatcher = Callable[[list[uuid.UUID]], None]
_dispatcher: Dispatcher | None = None


def set_dispatcher(dispatcher: Dispatcher | None) -> None:
    """Register the function that starts attempts of deliveries (the webhooks worker's)."""
    global _dispatcher
    _dispatcher = dispatcher


def dispatch_after_commit(delivery_ids: list[uuid.UUID]) -> None:
    """Start attempts of these deliveries once the transaction commits. Never raises: what
    cannot be started now (the broker is down) the periodic sweep starts."""
    if _dispatcher is None or not delivery_ids:
        return
    dispatcher, ids = _dispatcher, list(delivery_ids)

    def dispatch() -> None:
        try:
            dispatcher(ids)
        except Exception as exc:
            logger.warning(
                "webhooks: starting %d attempt(s) failed (%s); the sweep will", len(ids), exc
            )

    transaction.on_commit(dispatch)


def new_secret() -> str:
    """`whsec_` + base64 of 32 random bytes, the Standard Webhooks secret format."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def lease_seconds() -> float:
    """How long a claimed attempt may take before it counts as lost: a connect and a read of
    `WEBHOOK_TIMEOUT_SECONDS` each, and the bookkeeping around them."""
    return settings.WEBHOOK_TIMEOUT_SECONDS * 3 + 5


def create_endpoint(
    *, employer: User, url: str, event_types: list[str], description: str = ""
) -> WebhookEndpoint:
    """Register an endpoint; its URL must pass the SSRF check now. The secret is on the returned
    object (the API shows it this once)."""
    check_url(url)
    return WebhookEndpoint.objects.create(
        employer=employer,
        url=url,
        events=_event_types(event_types),
        description=description,
        secret=new_secret(),
    )


def update_endpoint(*, endpoint: WebhookEndpoint, fields: dict[str, Any]) -> WebhookEndpoint:
    """Change url, events, description or is_active. A new URL is checked; switching an endpoint
    back on clears why the system disabled it and its failure streak."""
    if "url" in fields and fields["url"] != endpoint.url:
        check_url(fields["url"])
        endpoint.url = fields["url"]
    if "events" in fields:
        endpoint.events = _event_types(fields["events"])
    if "description" in fields:
        endpoint.description = fields["description"]
    if "is_active" in fields:
        if fields["is_active"] and not endpoint.is_active:
            endpoint.disabled_reason = ""
            endpoint.disabled_at = None
            endpoint.failing_since = None
        endpoint.is_active = fields["is_active"]
    endpoint.save()
    return endpoint


def delete_endpoint(*, endpoint: WebhookEndpoint) -> None:
    """Delete the endpoint with its delivery log."""
    endpoint.delete()


def rotate_secret(*, endpoint: WebhookEndpoint) -> str:
    """A new secret; the old one keeps signing too for `WEBHOOK_SECRET_ROTATION_HOURS`."""
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        endpoint.previous_secret = endpoint.secret
        endpoint.previous_secret_expires_at = timezone.now() + timedelta(
            hours=settings.WEBHOOK_SECRET_ROTATION_HOURS
        )
        endpoint.secret = new_secret()
        endpoint.save(
            update_fields=["secret", "previous_secret", "previous_secret_expires_at", "updated_at"]
        )
    return endpoint.secret


class UnknownEventType(DomainError):
    default_code = "unknown_event_type"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, field="events")


def _event_types(event_types: list[str]) -> list[str]:
    unknown = sorted(set(event_types) - set(SUBSCRIBABLE_EVENTS))
    if unknown:
        raise UnknownEventType(f"Unknown event types: {', '.join(unknown)}.")
    if not event_types:
        raise UnknownEventType("Choose at least one event type.")
    return sorted(set(event_types), key=SUBSCRIBABLE_EVENTS.index)


def render_body(*, event_type: str, occurred_at: datetime, data: dict[str, Any]) -> str:
    """The JSON text of a delivery, `{"type", "timestamp", "data"}`, compact."""
    return json.dumps(
        {"type": event_type, "timestamp": occurred_at.isoformat(), "data": data},
        cls=DjangoJSONEncoder,
        separators=(",", ":"),
        ensure_ascii=False,
    )


def create_event_deliveries(
    *,
    event_id: uuid.UUID,
    event_type: str,
    endpoints: list[WebhookEndpoint],
    occurred_at: datetime,
    data: dict[str, Any],
) -> list[uuid.UUID]:
    """One delivery per (event, endpoint), however often this runs for the event; returns the
    ids of its deliveries still pending (those an attempt should be started for)."""
    body = render_body(event_type=event_type, occurred_at=occurred_at, data=data)
    now = timezone.now()
    WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(
                endpoint=endpoint,
                event_id=event_id,
                event_type=event_type,
                body=body,
                next_attempt_at=now,
            )
            for endpoint in endpoints
        ],
        ignore_conflicts=True,
    )
    return list(
        WebhookDelivery.objects.filter(
            event_id=event_id, status=WebhookDeliveryStatus.PENDING
        ).values_list("id", flat=True)
    )


def ping(*, endpoint: WebhookEndpoint) -> WebhookDelivery:
    """A `webhook.ping` delivery to the endpoint, attempted like any other."""
    if not endpoint.is_active:
        raise Conflict("The endpoint is disabled; switch it on first.")
    now = timezone.now()
    data = {"endpoint_id": endpoint.pk, "url": endpoint.url}
    with transaction.atomic():
        delivery = WebhookDelivery.objects.create(
            endpoint=endpoint,
            event_type=PING,
            body=render_body(event_type=PING, occurred_at=now, data=data),
            next_attempt_at=now,
        )
        dispatch_after_commit([delivery.pk])
    return delivery


def redeliver(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send the delivery again, with its `webhook-id` and body, from the start of the schedule."""
    if not delivery.endpoint.is_active:
        raise Conflict("The endpoint is disabled; switch it on first.")
    with transaction.atomic():
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=WebhookDeliveryStatus.PENDING,
            retries=0,
            next_attempt_at=timezone.now(),
            updated_at=timezone.now(),
        )
        dispatch_after_commit([delivery.pk])
    delivery.refresh_from_db()
    return delivery


def redeliver_many(*, delivery_ids: list) -> tuple[int, int]:
    """Redeliver these deliveries (operators: the admin and `manage.py webhook_deliveries`);
    returns (redelivered, skipped because their endpoint is disabled)."""
    redelivered = skipped = 0
    for delivery in WebhookDelivery.objects.select_related("endpoint").filter(pk__in=delivery_ids):
        try:
            redeliver(delivery=delivery)
        except Conflict:
            skipped += 1
        else:
            redelivered += 1
    return redelivered, skipped


# --- Attempts ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class AttemptResult:
    """What an attempt did (`outcome`), and the endpoint's next due delivery, to start now."""

    outcome: str
    next_delivery_id: uuid.UUID | None = None


def attempt_delivery(*, delivery_id: uuid.UUID | str) -> AttemptResult:
    """Attempt one delivery if it is due and its endpoint has no attempt in flight.

    Idempotent: a delivery that ended, is not due, or whose endpoint is busy is left alone
    (`done`, `not_due`, `busy`, `inactive`, `missing`).
    """
    claimed = _claim(delivery_id)
    if isinstance(claimed, str):
        return AttemptResult(claimed)
    delivery, endpoint = claimed
    started_at = timezone.now()
    try:
        checked = check_url(endpoint.url)
    except WebhookURLRefused as exc:
        response = sending.Response(None, 0, error=f"refused before connecting: {exc.detail}")
    else:
        headers = sending.signed_headers(
            secrets=endpoint.signing_secrets(),
            message_id=delivery.message_id,
            timestamp=timezone.now(),
            body=delivery.body,
        )
        response = sending.post(checked, headers=headers, body=delivery.body)
    outcome = _record(delivery.pk, endpoint.pk, started_at, response)
    return AttemptResult(outcome, _next_due(endpoint.pk))


def _claim(delivery_id) -> tuple[WebhookDelivery, WebhookEndpoint] | str:
    # Lock order everywhere: the endpoint, then its deliveries.
    endpoint_id = (
        WebhookDelivery.objects.filter(pk=delivery_id).values_list("endpoint_id", flat=True).first()
    )
    if endpoint_id is None:
        return "missing"
    now = timezone.now()
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint_id)
        delivery = WebhookDelivery.objects.select_for_update().get(pk=delivery_id)
        if delivery.status != WebhookDeliveryStatus.PENDING:
            return "done"
        if not endpoint.is_active:
            return "inactive"
        if delivery.next_attempt_at is None or delivery.next_attempt_at > now:
            return "not_due"
        if endpoint.busy_until is not None and endpoint.busy_until > now:
            return "busy"
        if delivery.attempt_started_at is not None:
            # The last attempt's lease ran out with no outcome: it counts as a failed attempt.
            lost = sending.Response(
                None,
                int((now - delivery.attempt_started_at).total_seconds() * 1000),
                error="no outcome recorded: the worker stopped or the attempt outlived its "
                "time limit",
            )
            _apply_outcome(delivery, endpoint, delivery.attempt_started_at, lost, now)
            delivery.save()
            endpoint.save()
            return "lost"
        lease_end = now + timedelta(seconds=lease_seconds())
        endpoint.busy_until = lease_end
        endpoint.save(update_fields=["busy_until"])
        delivery.next_attempt_at = lease_end
        delivery.attempt_started_at = now
        delivery.save(update_fields=["next_attempt_at", "attempt_started_at", "updated_at"])
    return delivery, endpoint


def _retry_after_seconds(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - timezone.now()).total_seconds())


def _record(delivery_id, endpoint_id, started_at: datetime, response: sending.Response) -> str:
    now = timezone.now()
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint_id)
        delivery = WebhookDelivery.objects.select_for_update().get(pk=delivery_id)
        outcome = _apply_outcome(delivery, endpoint, started_at, response, now)
        delivery.save()
        endpoint.save()
    return outcome


def _apply_outcome(
    delivery: WebhookDelivery,
    endpoint: WebhookEndpoint,
    started_at: datetime,
    response: sending.Response,
    now: datetime,
) -> str:
    """Record one attempt on the (locked) delivery and endpoint; the caller saves both."""
    WebhookAttempt.objects.create(
        delivery=delivery,
        at=started_at,
        status_code=response.status_code,
        duration_ms=response.duration_ms,
        response_excerpt=response.excerpt,
        error=response.error,
    )
    delivery.attempts_count += 1
    delivery.attempt_started_at = None
    endpoint.busy_until = None
    if response.succeeded:
        delivery.status = WebhookDeliveryStatus.SUCCEEDED
        delivery.next_attempt_at = None
        endpoint.failing_since = None
        return "succeeded"
    if response.status_code == 410:
        delivery.status = WebhookDeliveryStatus.FAILED
        delivery.next_attempt_at = None
        if endpoint.is_active:
            _disable(endpoint, DISABLED_GONE, now)
        return "gone"
    outcome = _schedule_retry(delivery, response, now)
    endpoint.failing_since = endpoint.failing_since or started_at
    hours = settings.WEBHOOK_DISABLE_AFTER_HOURS
    if endpoint.is_active and endpoint.failing_since <= now - timedelta(hours=hours):
        _disable(endpoint, DISABLED_FAILING, now)
    return outcome


def _schedule_retry(delivery: WebhookDelivery, response: sending.Response, now: datetime) -> str:
    schedule = settings.WEBHOOK_RETRY_SCHEDULE
    if delivery.retries >= len(schedule):
        delivery.status = WebhookDeliveryStatus.FAILED
        delivery.next_attempt_at = None
        return "failed"
    delay = float(schedule[delivery.retries])
    if response.status_code in (429, 503):
        asked = _retry_after_seconds(response.retry_after)
        if asked is not None:
            delay = min(asked, float(max(schedule)))
    delivery.retries += 1
    delivery.next_attempt_at = now + timedelta(seconds=delay)
    return "retry"


def _disable(endpoint: WebhookEndpoint, reason: str, now: datetime) -> None:
    endpoint.is_active = False
    endpoint.disabled_reason = reason
    endpoint.disabled_at = now
    events.record_event(
        event_type=events.WEBHOOK_ENDPOINT_DISABLED,
        payload={"endpoint_id": endpoint.pk, "employer_id": endpoint.employer_id, "reason": reason},
    )
    logger.warning("webhooks: endpoint %s disabled (%s)", endpoint.pk, reason)


def _next_due(endpoint_id: int) -> uuid.UUID | None:
    return (
        WebhookDelivery.objects.filter(
            endpoint_id=endpoint_id,
            endpoint__is_active=True,
            status=WebhookDeliveryStatus.PENDING,
            next_attempt_at__lte=timezone.now(),
        )
        .order_by("next_attempt_at", "created_at")
        .values_list("id", flat=True)
        .first()
    )


def prune_deliveries(*, older_than_days: int, batch_size: int = 5000) -> int:
    """Delete deliveries (with their attempts) that ended more than `older_than_days` ago."""
    cutoff = timezone.now() - timedelta(days=older_than_days)
    return delete_in_batches(
        WebhookDelivery.objects.filter(updated_at__lt=cutoff).exclude(
            status=WebhookDeliveryStatus.PENDING
        ),
        batch_size=batch_size,
    )
