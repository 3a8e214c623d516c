"""Reads of job alerts: a seeker's alerts, what an alert matches, the set-based instant matcher,
digest periods and the unsubscribe token.

"A job matches an alert" has one definition: the public listing's (`list_open_jobs` with the
alert's filters). The instant matcher asks the opposite question (one job, every alert) in one
statement, which the listing cannot; `tests/core/test_alert_matching.py` checks on PostgreSQL,
with generated jobs and filters (full-text search included), that the two always agree.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from django.conf import settings
from django.core import signing
from django.db import connection
from django.db.models import Q, QuerySet
from django.utils import timezone

from core.accounts.models import User
from core.alerts.models import FILTER_FIELDS, AlertFrequency, JobAlert
from core.jobs.models import Category, Job, JobStatus
from core.jobs.selectors import SEARCH_CONFIG, JobListFilters, list_open_jobs

UNSUBSCRIBE_SALT = "core.alerts.unsubscribe"


def alerts_of(*, user: User) -> QuerySet[JobAlert]:
    """The user's own alerts, newest first (another user's are not in it: 404, not 403)."""
    return JobAlert.objects.filter(user=user).order_by("-created_at", "-id")


def filters_of(alert: JobAlert, *, ordering: str = "") -> JobListFilters:
    """The alert's saved search as the listing's filters."""
    return JobListFilters(
        **{name: getattr(alert, name) for name in FILTER_FIELDS}, ordering=ordering
    )


def category_exists(value: str) -> bool:
    """Whether the listing's `category` filter `value` (a slug or an id) names a category."""
    named = Q(slug=value)
    if value.isascii() and value.isdigit() and int(value) < 2**63:
        named |= Q(pk=int(value))
    return Category.objects.filter(named).exists()


def jobs_matching(*, alert: JobAlert) -> QuerySet[Job]:
    """The open jobs the alert matches now: exactly the listing with its filters."""
    return list_open_jobs(filters=filters_of(alert))


# --- The instant matcher ----------------------------------------------------------------------


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


# Each condition is the listing's filter (`core.jobs.selectors._open_jobs_matching`) read the
# other way round: the alert's column is the value, and an empty or null column no filter.
# The listing's search keeps only its newest SEARCH_RESULT_LIMIT matches; a job just published is
# the newest of them all, so the matcher, which is asked about such a job, needs no such limit.
_MATCH_SQL = f"""
SELECT a.id, a.user_id
FROM {_table(JobAlert)} a, {_table(Job)} j INNER JOIN {_table(Category)} c ON j.category_id = c.id
WHERE j.id = %(job)s
  AND j.deleted_at IS NULL AND j.status = %(published)s AND j.expires_at > %(now)s
  AND a.is_active AND a.frequency = %(frequency)s
  AND (%(user)s::bigint IS NULL OR a.user_id = %(user)s::bigint)
  AND (a.employment_type = '' OR a.employment_type = j.employment_type)
  AND (a.remote IS NULL OR a.remote = j.remote)
  AND (a.salary_min IS NULL OR j.salary_max >= a.salary_min
       OR (j.salary_max IS NULL AND j.salary_min >= a.salary_min))
  AND (a.salary_max IS NULL OR j.salary_min <= a.salary_max)
  AND (a.category = '' OR a.category = c.slug
       OR CASE WHEN a.category ~ '^[0-9]+$' THEN a.category::numeric = j.category_id
          ELSE false END)
  AND (a.location = '' OR strpos(upper(j.location::text), upper(a.location)) > 0)
  AND (a.search = ''
       OR j.search_vector @@ websearch_to_tsquery(%(config)s::regconfig, a.search))
ORDER BY a.user_id, a.id
"""  # noqa: S608 (table names from the models; every value is a parameter)


def instant_alerts_matching(*, job_id: int, user_id: int | None = None) -> list[tuple[int, int]]:
    """(alert id, user id) of every active instant alert the job matches, by user then alert;
    only `user_id`'s when given. An empty list when the job is not open.

    On PostgreSQL one statement for all alerts, whatever their number. Elsewhere (the embedded
    SQLite default) the listing is asked once per alert, which is fine for a handful.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                _MATCH_SQL,
                {
                    "job": job_id,
                    "published": JobStatus.PUBLISHED,
                    "now": timezone.now(),
                    "frequency": AlertFrequency.INSTANT,
                    "user": user_id,
                    "config": SEARCH_CONFIG,
                },
            )
            return [(alert_id, owner) for alert_id, owner in cursor.fetchall()]
    alerts = JobAlert.objects.filter(is_active=True, frequency=AlertFrequency.INSTANT)
    if user_id is not None:
        alerts = alerts.filter(user_id=user_id)
    return [
        (alert.pk, alert.user_id)
        for alert in alerts.order_by("user_id", "id")
        if jobs_matching(alert=alert).filter(pk=job_id).exists()
    ]


# --- Digests --------------------------------------------------------------------------------


def digest_period(frequency: str, now: datetime) -> str:
    """The period a digest belongs to: the UTC calendar day, or the ISO week (`2026-W49`)."""
    day = now.astimezone(UTC).date()
    if frequency == AlertFrequency.WEEKLY:
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    return day.isoformat()


def digest_alert_ids(*, frequency: str, after_id: int, limit: int) -> list[int]:
    """The next `limit` active alerts of `frequency` after `after_id` (keyset pagination)."""
    return list(
        JobAlert.objects.filter(is_active=True, frequency=frequency, pk__gt=after_id)
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )


def new_jobs_for_digest(*, alert: JobAlert, limit: int) -> tuple[list[int], int, datetime | None]:
    """The open jobs the alert matches published after its high-water mark: the newest `limit`
    ids, how many there are in all, and the newest one's `published_at` (the next mark)."""
    jobs = list_open_jobs(filters=filters_of(alert, ordering="-published_at")).filter(
        published_at__gt=alert.digest_through
    )
    newest = list(jobs.values_list("pk", "published_at")[:limit])
    if not newest:
        return [], 0, None
    total = len(newest) if len(newest) < limit else jobs.count()
    return [pk for pk, _ in newest], total, newest[0][1]


def jobs_in_order(job_ids: list[int]) -> list[Job]:
    """The open jobs among `job_ids`, in that order (a digest's list, read when it is sent)."""
    found = Job.objects.open().select_related("category").defer("search_vector").in_bulk(job_ids)
    return [found[pk] for pk in job_ids if pk in found]


# --- Unsubscribe ----------------------------------------------------------------------------


def unsubscribe_token(alert: JobAlert) -> str:
    """The alert's one-click unsubscribe token: its random key, signed (salted) with the secret
    key, so it names no id and cannot be altered; the same in every email of the alert."""
    return signing.Signer(salt=UNSUBSCRIBE_SALT).sign(alert.unsubscribe_key.hex)


def alert_for_token(token: str) -> JobAlert | None:
    """The alert a token names; None when the token is forged or its alert was deleted.

    Raises `signing.BadSignature` for a token that was not signed by us."""
    key = signing.Signer(salt=UNSUBSCRIBE_SALT).unsign(token)
    try:
        key = uuid.UUID(hex=key)
    except (TypeError, ValueError, AttributeError):
        raise signing.BadSignature("not an unsubscribe token") from None
    return JobAlert.objects.filter(unsubscribe_key=key).first()


def unsubscribe_url(alert: JobAlert) -> str:
    return f"{settings.PUBLIC_BASE_URL}/api/alerts/unsubscribe/{unsubscribe_token(alert)}/"


def manage_url(alert: JobAlert) -> str:
    return settings.FRONTEND_ALERTS_URL.format(id=alert.pk)


def job_url(job: Job) -> str:
    return settings.FRONTEND_JOB_URL.format(id=job.pk)
