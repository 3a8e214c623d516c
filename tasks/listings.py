"""Keep the cached job listings fresh: on every `job.*` event, bump the generation and re-warm.

Idempotent: bumping twice only makes the cache rebuild once more. Under a burst of events (an
expiry run of thousands of jobs) every event still bumps the generation, but the full re-warm
runs at most once a second; the detail of the changed job is always re-warmed.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.core.cache import cache
from redis.exceptions import RedisError

from core.api import listings
from core.jobs import listing_cache
from core.outbox import events
from core.outbox.models import OutboxEvent

logger = logging.getLogger(__name__)

WARM_INTERVAL_SECONDS = 1


@events.subscribe(events.JOB_PUBLISHED)
@events.subscribe(events.JOB_UPDATED)
@events.subscribe(events.JOB_CLOSED)
@events.subscribe(events.JOB_EXPIRED)
@shared_task(
    name="tasks.listings.refresh_listings",
    ignore_result=True,
    acks_late=True,
    autoretry_for=(OSError, RedisError),
    retry_backoff=True,
    max_retries=5,
)
def refresh_listings(event_id: str) -> str:
    """Make the listings reflect the job an event is about, within moments of its commit."""
    event = OutboxEvent.objects.filter(pk=event_id).only("payload").first()
    job_id = event.payload.get("job_id") if event else None
    listing_cache.bump_generation()
    if cache.add("listings:warm-lock", 1, timeout=WARM_INTERVAL_SECONDS):
        return f"warmed {listings.warm(job_id=job_id)}"
    if job_id:
        listings.warm(job_id=job_id, detail_only=True)
    return "bumped"
