"""Job alerts: an email to every seeker whose instant alert a published job matches, and the daily
and weekly digests.

Instant: `job.published` reaches `match_instant_alerts`, which finds every active instant alert
the job matches in one statement and queues one `send_instant_alert` per seeker (however many of
their alerts match). That task checks again at send time (a paused or deleted alert, or a job
closed meanwhile, sends nothing) and sends through the delivery log keyed by (event, seeker):
once, with a Message-ID from the key, however often the event is delivered.

Digests: beat runs `send_job_alert_digests` daily and weekly (`JOB_ALERT_DIGEST_TIME`,
`JOB_ALERT_WEEKLY_DAY`); `manage.py send_job_alerts` runs one now. A run walks the active alerts
of that frequency in batches of `JOB_ALERT_DIGEST_BATCH_SIZE`, at most
`JOB_ALERT_DIGEST_CONCURRENCY` batches at a time across all processes (PostgreSQL advisory locks),
claims each alert's digest for the period (unique per alert and period: a second or concurrent run
claims nothing) and sends it, keyed by the digest, under the same retry policy as every email.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from urllib.parse import urlencode

from celery import Task, shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError, connection
from django.utils import timezone

from core.alerts import selectors, services
from core.alerts.models import AlertFrequency, JobAlert, JobAlertDigest
from core.jobs.models import Job
from core.outbox import events
from core.outbox.models import OutboxEvent
from tasks.email import (
    DeliveryError,
    DeliveryInProgress,
    Email,
    UnrecordedSend,
    send_keyed,
)
from tasks.notifications import (
    NOTIFICATION_TASK_OPTIONS,
    _deliver,
    _retry,
    deliver_with_retries,
)

logger = logging.getLogger(__name__)

# The event type a digest's delivery is logged under (it has no event of its own), and the
# namespace its derived event id is taken from.
DIGEST_EVENT_TYPE = "alert.digest"
_DIGEST_NAMESPACE = uuid.UUID("0b7f3c56-5a4c-4f4e-9f3e-6d1c0a2b9e11")
# The advisory lock class whose keys 0..JOB_ALERT_DIGEST_CONCURRENCY-1 are the batch slots.
_DIGEST_LOCK_CLASS = 0x6A6F6261  # "joba"


def _unsubscribe_headers(alert: JobAlert) -> dict[str, str]:
    """RFC 8058 one-click unsubscribe: the URL, and that a POST to it needs nothing else."""
    return {
        "List-Unsubscribe": f"<{selectors.unsubscribe_url(alert)}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def _job_item(job: Job) -> dict:
    return {"job": job, "url": selectors.job_url(job)}


def _alert_item(alert: JobAlert) -> dict:
    return {"alert": alert, "manage_url": selectors.manage_url(alert)}


def listing_url(alert: JobAlert) -> str:
    """The public listing with the alert's filters: every job it matches, not only the newest."""
    filters = {
        name: ("true" if value else "false") if isinstance(value, bool) else value
        for name, value in vars(selectors.filters_of(alert)).items()
        if value not in ("", None)
    }
    query = urlencode(filters)
    return f"{settings.PUBLIC_BASE_URL}/api/jobs/" + (f"?{query}" if query else "")


# --- Instant alerts ---------------------------------------------------------------------------


def compose_instant_alert(event: OutboxEvent, *, user_id: int, matched: list[int]) -> Email | None:
    """The seeker's email about a published job, or None when none of their active instant
    alerts matches it now (paused, deleted, changed, or the job closed since)."""
    job_id = event.payload.get("job_id")
    alert_ids = [a for a, _ in selectors.instant_alerts_matching(job_id=job_id, user_id=user_id)]
    if not alert_ids:
        return None
    matched[:] = alert_ids
    alerts = list(JobAlert.objects.select_related("user").filter(pk__in=alert_ids).order_by("pk"))
    job = Job.objects.select_related("category").defer("search_vector").get(pk=job_id)
    first = alerts[0]
    return Email(
        template="job_alert",
        recipient=first.user.email,
        subject=f"New job for your alert {first.name}: {job.title} at {job.company_name}",
        context={
            "name": first.user.get_full_name() or first.user.username,
            **_job_item(job),
            "alerts": [_alert_item(alert) for alert in alerts],
            "unsubscribe_url": selectors.unsubscribe_url(first),
        },
        # One email for several alerts unsubscribes the first of them; the email links each.
        headers=_unsubscribe_headers(first),
    )


@events.subscribe(events.JOB_PUBLISHED)
@shared_task(name="tasks.alerts.match_instant_alerts", **NOTIFICATION_TASK_OPTIONS)
def match_instant_alerts(self: Task, event_id: str) -> str:
    """Queue one email per seeker with an active instant alert the published job matches."""
    try:
        event = OutboxEvent.objects.filter(pk=event_id).first()
        if event is None:
            logger.warning("%s: event %s not found", self.name, event_id)
            return "missing"
        matches = selectors.instant_alerts_matching(job_id=event.payload.get("job_id"))
    except (OperationalError, InterfaceError) as exc:
        raise _retry(self, exc) from exc
    seekers = sorted({user_id for _, user_id in matches})
    for user_id in seekers:
        send_instant_alert.delay(event_id, user_id)
    return f"{len(seekers)} seeker(s)"


@shared_task(name="tasks.alerts.send_instant_alert", **NOTIFICATION_TASK_OPTIONS)
def send_instant_alert(
    self: Task, event_id: str, user_id: int, smtp_failures: int = 0, sent: dict | None = None
) -> str:
    """Email one seeker the published job their instant alerts match, once per event."""
    matched: list[int] = []
    outcome = _deliver(
        self,
        event_id,
        lambda event: compose_instant_alert(event, user_id=user_id, matched=matched),
        smtp_failures=smtp_failures,
        sent=sent,
    )
    if outcome == "sent":
        JobAlert.objects.filter(pk__in=matched).update(last_sent_at=timezone.now())
    return outcome


# --- Digests ----------------------------------------------------------------------------------


def digest_key(digest: JobAlertDigest) -> str:
    """The digest's delivery key: one per digest row, which is one per alert and period."""
    return f"job_alert_digest:{digest.pk}"


def compose_digest(digest: JobAlertDigest) -> Email | None:
    """The digest's email, or None when its alert is paused or unsubscribed now, or none of its
    jobs is still open."""
    alert = digest.alert
    if not alert.is_active:
        return None
    jobs = selectors.jobs_in_order(digest.job_ids)
    if not jobs:
        return None
    frequency = AlertFrequency(alert.frequency).label.lower()
    return Email(
        template="job_alert_digest",
        recipient=alert.user.email,
        subject=f"Your {frequency} job alert {alert.name}: {digest.total} new job(s)",
        context={
            "name": alert.user.get_full_name() or alert.user.username,
            "alert": alert,
            "frequency": frequency,
            "jobs": [_job_item(job) for job in jobs],
            "total": digest.total,
            "more": max(digest.total - len(jobs), 0),
            "listing_url": listing_url(alert),
            "manage_url": selectors.manage_url(alert),
            "unsubscribe_url": selectors.unsubscribe_url(alert),
        },
        headers=_unsubscribe_headers(alert),
    )


def deliver_digest(digest_id: int, *, final_attempt: bool) -> str:
    """Send one claimed digest unless it was sent already; "sent", "duplicate" or "skipped"
    (the digest or its alert was deleted, or the alert was paused or unsubscribed)."""
    digest = JobAlertDigest.objects.select_related("alert__user").filter(pk=digest_id).first()
    if digest is None:
        return "skipped"
    email = compose_digest(digest)
    if email is None or not email.recipient:
        return "skipped"
    key = digest_key(digest)
    outcome = send_keyed(
        key=key,
        event_id=uuid.uuid5(_DIGEST_NAMESPACE, key),
        event_type=DIGEST_EVENT_TYPE,
        email=email,
        final_attempt=final_attempt,
    )
    if outcome == "sent":
        services.mark_sent(alert_id=digest.alert_id, at=timezone.now())
    return outcome


@shared_task(name="tasks.alerts.send_alert_digest", **NOTIFICATION_TASK_OPTIONS)
def send_alert_digest(
    self: Task, digest_id: int, smtp_failures: int = 0, sent: dict | None = None
) -> str:
    """Send one claimed digest, with the retry policy of every email."""
    return deliver_with_retries(
        self,
        f"digest {digest_id}",
        lambda final_attempt: deliver_digest(digest_id, final_attempt=final_attempt),
        smtp_failures=smtp_failures,
        sent=sent,
    )


@contextmanager
def _batch_slot() -> Iterator[None]:
    """Hold one of `JOB_ALERT_DIGEST_CONCURRENCY` slots (session advisory locks, released with
    the connection too), waiting while every slot is taken by a batch of some run."""
    if connection.vendor != "postgresql":
        yield
        return
    while True:
        with connection.cursor() as cursor:
            for slot in range(max(settings.JOB_ALERT_DIGEST_CONCURRENCY, 1)):
                cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [_DIGEST_LOCK_CLASS, slot])
                if cursor.fetchone()[0]:
                    break
            else:
                slot = None
        if slot is not None:
            break
        time.sleep(0.1)
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [_DIGEST_LOCK_CLASS, slot])


def run_digests(
    frequency: str, *, send: Callable[[int], object], now: datetime | None = None
) -> dict[str, int]:
    """Claim this period's digest of every active `frequency` alert with something new, batch by
    batch, and hand each claimed digest's id to `send`. Returns how many alerts were looked at
    and how many digests claimed. Safe to run again, or at the same time: claiming is unique per
    alert and period, and an alert another run holds is skipped."""
    now = now or timezone.now()
    period = selectors.digest_period(frequency, now)
    after, alerts, claimed = 0, 0, 0
    while True:
        with _batch_slot():
            alert_ids = selectors.digest_alert_ids(
                frequency=frequency, after_id=after, limit=settings.JOB_ALERT_DIGEST_BATCH_SIZE
            )
            digest_ids = [
                digest_id
                for alert_id in alert_ids
                if (
                    digest_id := services.claim_digest(
                        alert_id=alert_id, frequency=frequency, period=period, now=now
                    )
                )
                is not None
            ]
        if not alert_ids:
            break
        after = alert_ids[-1]
        alerts += len(alert_ids)
        claimed += len(digest_ids)
        for digest_id in digest_ids:
            send(digest_id)
    logger.info(
        "%s digests for %s: %d alert(s) looked at, %d digest(s) claimed",
        frequency,
        period,
        alerts,
        claimed,
    )
    return {"alerts": alerts, "digests": claimed}


def send_now_or_queue(digest_id: int) -> str:
    """Send a digest in this process; one that cannot go now is queued for the worker's retries."""
    try:
        return deliver_digest(digest_id, final_attempt=False)
    except UnrecordedSend as exc:  # sent: the worker records it, and sends nothing again
        sent = {"key": exc.key, "at": exc.sent_at.isoformat()}
        send_alert_digest.apply_async((digest_id,), {"sent": sent})
        return "sent"
    except (DeliveryError, DeliveryInProgress, OperationalError, InterfaceError) as exc:
        logger.warning("digest %s: not sent now (%s); queued", digest_id, exc)
        send_alert_digest.delay(digest_id)
        return "queued"


@shared_task(name="tasks.alerts.send_job_alert_digests", **NOTIFICATION_TASK_OPTIONS)
def send_job_alert_digests(self: Task, frequency: str) -> dict[str, int]:
    """The periodic digest run (beat): claim the period's digests and queue each one's email."""
    if frequency not in (AlertFrequency.DAILY, AlertFrequency.WEEKLY):
        raise ValueError(f"no digests of frequency {frequency!r}")
    try:
        return run_digests(frequency, send=lambda digest_id: send_alert_digest.delay(digest_id))
    except (OperationalError, InterfaceError) as exc:
        raise _retry(self, exc) from exc
