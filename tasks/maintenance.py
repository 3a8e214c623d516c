"""Periodic work scheduled by celery-beat: expiry of stale postings, expiry reminders, pruning.

Every task is a thin caller of a set-based service and safe to run twice or concurrently (rows
are claimed with SKIP LOCKED and updated conditionally).
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings

from core.accounts import services as account_services
from core.jobs import expiry
from core.outbox import services as outbox_services
from core.webhooks import services as webhook_services

logger = logging.getLogger(__name__)

PERIODIC = {"ignore_result": True, "acks_late": True}


@shared_task(name="tasks.maintenance.expire_stale_jobs", **PERIODIC)
def expire_stale_jobs() -> int:
    """Expire published jobs past `expires_at`; each emits `job.expired` (listings, email)."""
    expired = expiry.expire_stale_jobs(batch_size=settings.JOB_EXPIRY_BATCH_SIZE)
    if expired:
        logger.info("expiry: %d job(s) expired", expired)
    return expired


@shared_task(name="tasks.maintenance.send_expiry_reminders", **PERIODIC)
def send_expiry_reminders() -> int:
    """Flag jobs entering the reminder window; each emits `job.expiring_soon` (email)."""
    flagged = expiry.flag_jobs_expiring_soon(batch_size=settings.JOB_EXPIRY_BATCH_SIZE)
    if flagged:
        logger.info("expiry: %d reminder(s) due", flagged)
    return flagged


@shared_task(name="tasks.maintenance.housekeeping", **PERIODIC)
def housekeeping() -> dict[str, int]:
    """Prune published outbox rows and old email and webhook delivery logs; flush expired
    refresh tokens."""
    pruned = {
        "outbox_events": outbox_services.prune_published_events(
            older_than_days=settings.OUTBOX_RETENTION_DAYS
        ),
        "email_deliveries": outbox_services.prune_deliveries(
            older_than_days=settings.DELIVERY_RETENTION_DAYS
        ),
        "expired_tokens": account_services.flush_expired_tokens(),
        "webhook_deliveries": webhook_services.prune_deliveries(
            older_than_days=settings.WEBHOOK_RETENTION_DAYS
        ),
    }
    logger.info("housekeeping: %s", pruned)
    return pruned
