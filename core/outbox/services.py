"""Writes of the outbox and the delivery log: what operators do (replay events, retry failed
emails) and the housekeeping that prunes what is no longer needed."""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from core.batching import delete_in_batches
from core.outbox import events
from core.outbox.models import DeliveryStatus, EmailDelivery, OutboxEvent


def replay_events(*, event_ids: list[uuid.UUID]) -> int:
    """Publish stored events again to all their subscribers (which are idempotent).

    Returns how many events were found; pruned events cannot be replayed.
    """
    with transaction.atomic():
        found = list(OutboxEvent.objects.filter(id__in=event_ids).values_list("id", flat=True))
        OutboxEvent.objects.filter(id__in=found).update(published_at=None)
        events.publish_after_commit(found)
    return len(found)


def retry_failed_deliveries(*, delivery_ids: list[int]) -> tuple[int, int]:
    """Send failed emails again by replaying their events; returns (retried, event missing)."""
    with transaction.atomic():
        failed = EmailDelivery.objects.select_for_update().filter(
            id__in=delivery_ids, status=DeliveryStatus.FAILED
        )
        event_ids = {delivery.event_id for delivery in failed}
        present = set(OutboxEvent.objects.filter(id__in=event_ids).values_list("id", flat=True))
        retried = failed.filter(event_id__in=present)
        count = retried.update(status=DeliveryStatus.PENDING, last_error="")
        replay_events(event_ids=list(present))
    return count, len(failed) - count


def prune_published_events(*, older_than_days: int, batch_size: int = 5000) -> int:
    """Delete outbox rows published more than `older_than_days` ago; pending rows are kept."""
    cutoff = timezone.now() - timedelta(days=older_than_days)
    return delete_in_batches(
        OutboxEvent.objects.filter(published_at__lt=cutoff), batch_size=batch_size
    )


def prune_deliveries(*, older_than_days: int, batch_size: int = 5000) -> int:
    """Delete sent or failed delivery-log rows older than `older_than_days`."""
    cutoff = timezone.now() - timedelta(days=older_than_days)
    return delete_in_batches(
        # Pending and sending rows still have work, or an unknown outcome, ahead of them.
        EmailDelivery.objects.filter(
            created_at__lt=cutoff, status__in=[DeliveryStatus.SENT, DeliveryStatus.FAILED]
        ),
        batch_size=batch_size,
    )
