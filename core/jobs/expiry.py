"""Expiry of stale postings and the reminders before it: set-based, in batches, safe to overlap.

Called by the periodic tasks. Rows are claimed with `FOR UPDATE SKIP LOCKED`, so two runs at once
take disjoint batches; each job is expired (and announced with `job.expired`) once, and reminded
(`job.expiring_soon`) once per posting period.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from core.jobs.models import Job, JobStatus
from core.outbox import events
from core.outbox.models import OutboxEvent
from core.request_id import current_request_id


def _claim_batch(jobs, batch_size: int) -> list[tuple[int, int, int]]:
    # SKIP LOCKED: two expiry runs at once take disjoint batches; each job is handled once.
    return list(
        jobs.select_for_update(skip_locked=True)
        .order_by("expires_at", "id")
        .values_list("id", "employer_id", "category_id")[:batch_size]
    )


def _job_payloads(rows: list[tuple[int, int, int]]) -> list[dict[str, int]]:
    return [
        {"job_id": job_id, "employer_id": employer_id, "category_id": category_id}
        for job_id, employer_id, category_id in rows
    ]


def expire_stale_jobs(*, batch_size: int = 1000, now: datetime | None = None) -> int:
    """Mark published jobs past `expires_at` as expired and emit `job.expired` for each.

    Set-based, in batches of `batch_size`, each its own transaction: rows are claimed with
    `FOR UPDATE SKIP LOCKED` and updated with one UPDATE, never loaded as objects, so memory
    stays flat however many jobs expire. Running it twice, or two copies at once, expires (and
    announces) each job once. Returns how many jobs it expired.
    """
    now = now or timezone.now()
    if connection.vendor == "postgresql":
        return _expire_stale_jobs_postgresql(batch_size=batch_size, now=now)
    stale = Job.objects.filter(
        status=JobStatus.PUBLISHED, expires_at__lte=now, deleted_at__isnull=True
    )
    total = 0
    while True:
        with transaction.atomic():
            rows = _claim_batch(stale, batch_size)
            if not rows:
                return total
            ids = [row[0] for row in rows]
            Job.objects.filter(id__in=ids, status=JobStatus.PUBLISHED).update(
                status=JobStatus.EXPIRED, updated_at=now
            )
            events.record_events(event_type=events.JOB_EXPIRED, payloads=_job_payloads(rows))
        total += len(rows)


# One statement per batch: claim, update and write each job's event without a round trip (or a
# Python object) per row; about twice the rows/s of the ORM version on 1,000,000 jobs. Each claim
# starts after the last job the previous batch claimed (keyset on the `(expires_at, id)` index):
# restarting from the oldest would step over the index entries of every job already expired in
# this run, which stay in the index until vacuum, so each batch would cost more than the last.
_EXPIRE_BATCH_SQL = """
WITH claimed AS (
    SELECT id, expires_at FROM {job}
    WHERE status = %(published)s AND expires_at <= %(now)s AND deleted_at IS NULL
      AND (expires_at, id) > (%(after_expires_at)s, %(after_id)s)
    ORDER BY expires_at, id
    LIMIT %(batch_size)s
    FOR UPDATE SKIP LOCKED
), expired AS (
    UPDATE {job} AS job SET status = %(expired)s, updated_at = %(now)s
    FROM claimed WHERE job.id = claimed.id
    RETURNING job.id, job.employer_id, job.category_id
), recorded AS (
    INSERT INTO {outbox}
        (id, event_type, payload, occurred_at, published_at, publish_attempts, request_id)
    SELECT gen_random_uuid(), %(event_type)s,
           jsonb_build_object('job_id', id, 'employer_id', employer_id, 'category_id', category_id),
           %(now)s, NULL, 0, %(request_id)s
    FROM expired
    RETURNING id
), last_claimed AS (
    SELECT expires_at, id FROM claimed ORDER BY expires_at DESC, id DESC LIMIT 1
)
SELECT (SELECT array_agg(id) FROM recorded),
       (SELECT expires_at FROM last_claimed),
       (SELECT id FROM last_claimed)
"""


def _expire_stale_jobs_postgresql(*, batch_size: int, now: datetime) -> int:
    statement = _EXPIRE_BATCH_SQL.format(
        job=connection.ops.quote_name(Job._meta.db_table),
        outbox=connection.ops.quote_name(OutboxEvent._meta.db_table),
    )
    params = {
        "published": JobStatus.PUBLISHED,
        "expired": JobStatus.EXPIRED,
        "event_type": events.JOB_EXPIRED,
        "now": now,
        "batch_size": batch_size,
        "request_id": current_request_id() or "",
        # Before every job: the first batch starts at the oldest.
        "after_expires_at": datetime.min.replace(tzinfo=UTC),
        "after_id": 0,
    }
    total = 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement, params)
            event_ids, params["after_expires_at"], params["after_id"] = cursor.fetchone()
            # A job skipped as locked lies behind the cursor: the run holding it expires it, or,
            # if that run fails, the next scheduled run does.
            if not event_ids:
                return total
            events.publish_after_commit(event_ids)
        total += len(event_ids)


def flag_jobs_expiring_soon(*, batch_size: int = 1000, now: datetime | None = None) -> int:
    """Emit `job.expiring_soon` once for each published job within the reminder window.

    The window is `JOB_EXPIRY_REMINDER_DAYS` before `expires_at`; a renewal clears the flag, so a
    renewed posting is reminded again before its new date. Returns how many were flagged.
    """
    now = now or timezone.now()
    due = Job.objects.filter(
        status=JobStatus.PUBLISHED,
        deleted_at__isnull=True,
        expiry_reminder_sent_at__isnull=True,
        expires_at__gt=now,
        expires_at__lte=now + timedelta(days=settings.JOB_EXPIRY_REMINDER_DAYS),
    )
    total = 0
    while True:
        with transaction.atomic():
            rows = _claim_batch(due, batch_size)
            if not rows:
                return total
            Job.objects.filter(id__in=[row[0] for row in rows]).update(expiry_reminder_sent_at=now)
            events.record_events(event_type=events.JOB_EXPIRING_SOON, payloads=_job_payloads(rows))
        total += len(rows)
