"""Reads of the outbox and the delivery log for operators: the relay's lag, stored events, failed
emails."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Exists, Max, Min, OuterRef, QuerySet
from django.utils import timezone

from core.outbox.models import DeliveryStatus, EmailDelivery, OutboxEvent


@dataclass(frozen=True)
class PendingEventsOfType:
    """The unpublished events of one type: how many, since when, how often publishing failed."""

    event_type: str
    count: int
    oldest_occurred_at: datetime
    max_publish_attempts: int


@dataclass(frozen=True)
class OutboxLag:
    """How far the relay is behind at `measured_at`, and how fast it published lately."""

    measured_at: datetime
    pending: int
    oldest_occurred_at: datetime | None
    by_type: list[PendingEventsOfType]
    window: timedelta
    published_in_window: int

    @property
    def lag_seconds(self) -> float:
        """Age of the oldest unpublished event; 0 when the outbox is drained."""
        if self.oldest_occurred_at is None:
            return 0.0
        return max(0.0, (self.measured_at - self.oldest_occurred_at).total_seconds())

    @property
    def publish_rate_per_second(self) -> float:
        return self.published_in_window / self.window.total_seconds()


def outbox_lag(*, window: timedelta, now: datetime | None = None) -> OutboxLag:
    """The outbox backlog (unpublished events per type) and the events published in `window`.

    The backlog comes from the partial index on pending rows, so it stays cheap however many
    published rows are kept; the publish count reads the published rows of the retention period.
    """
    now = now or timezone.now()
    rows = (
        OutboxEvent.objects.filter(published_at__isnull=True)
        .values("event_type")
        .annotate(count=Count("id"), oldest=Min("occurred_at"), attempts=Max("publish_attempts"))
        .order_by("event_type")
    )
    by_type = [
        PendingEventsOfType(
            event_type=row["event_type"],
            count=row["count"],
            oldest_occurred_at=row["oldest"],
            max_publish_attempts=row["attempts"],
        )
        for row in rows
    ]
    published = OutboxEvent.objects.filter(
        published_at__gt=now - window, published_at__lte=now
    ).count()
    return OutboxLag(
        measured_at=now,
        pending=sum(pending.count for pending in by_type),
        oldest_occurred_at=min((pending.oldest_occurred_at for pending in by_type), default=None),
        by_type=by_type,
        window=window,
        published_in_window=published,
    )


def outbox_events(
    *,
    ids: list[uuid.UUID] | None = None,
    event_type: str | None = None,
    since: datetime | None = None,
) -> QuerySet[OutboxEvent]:
    """Stored events matching every given filter (`since` on when they occurred), oldest first."""
    stored = OutboxEvent.objects.all()
    if ids is not None:
        stored = stored.filter(id__in=ids)
    if event_type:
        stored = stored.filter(event_type=event_type)
    if since is not None:
        stored = stored.filter(occurred_at__gte=since)
    return stored.order_by("occurred_at", "id")


def failed_deliveries(
    *, ids: list[int] | None = None, since: datetime | None = None
) -> QuerySet[EmailDelivery]:
    """Failed emails, most recent failure first, each annotated with `event_stored`.

    `since` applies to the last attempt (`updated_at`). A delivery whose event was pruned
    (`event_stored` false) cannot be retried: retrying replays the event.
    """
    failed = EmailDelivery.objects.filter(status=DeliveryStatus.FAILED)
    if ids is not None:
        failed = failed.filter(id__in=ids)
    if since is not None:
        failed = failed.filter(updated_at__gte=since)
    return failed.annotate(
        event_stored=Exists(OutboxEvent.objects.filter(id=OuterRef("event_id")))
    ).order_by("-updated_at", "-id")
