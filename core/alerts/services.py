"""Writes of job alerts: save, change, delete and unsubscribe an alert, and claim a digest.

No event is recorded: nothing outside this domain needs to hear of an alert changing (instant
matching and digests read the alerts table when they run).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.accounts.models import User
from core.alerts import selectors
from core.alerts.models import FILTER_FIELDS, JobAlert, JobAlertDigest
from core.exceptions import DomainError


class TooManyAlerts(DomainError):
    default_code = "too_many_alerts"
    default_detail = "You have as many job alerts as allowed; delete one first."


class InvalidUnsubscribeToken(DomainError):
    """A forged or altered token: no such unsubscribe link (404, like any unknown URL)."""

    status_code = 404
    default_code = "invalid_token"
    default_detail = "This unsubscribe link is invalid."


class AlertNotFound(DomainError):
    status_code = 404
    default_code = "not_found"
    default_detail = "This job alert no longer exists."


def _filter_columns(filters: dict[str, Any]) -> dict[str, Any]:
    """Every filter column: the given ones, the rest emptied (a saved search is replaced whole)."""
    columns: dict[str, Any] = {
        name: None if name in ("remote", "salary_min", "salary_max") else ""
        for name in FILTER_FIELDS
    }
    for name, value in filters.items():
        if name in columns and value is not None:
            columns[name] = value.strip() if isinstance(value, str) else value
    return columns


@transaction.atomic
def create_alert(*, user: User, name: str, filters: dict[str, Any], frequency: str) -> JobAlert:
    """Save a search; refused past `JOB_ALERTS_PER_USER` alerts (counted under the user's row
    lock, so two concurrent requests cannot both take the last place)."""
    User.objects.select_for_update().filter(pk=user.pk).first()
    if JobAlert.objects.filter(user=user).count() >= settings.JOB_ALERTS_PER_USER:
        raise TooManyAlerts(
            f"You already have {settings.JOB_ALERTS_PER_USER} job alerts, the most allowed; "
            "delete one first.",
            field="non_field_errors",
        )
    now = timezone.now()
    return JobAlert.objects.create(
        user=user,
        name=name,
        frequency=frequency,
        created_at=now,
        digest_through=now,
        **_filter_columns(filters),
    )


@transaction.atomic
def update_alert(*, alert: JobAlert, changes: dict[str, Any]) -> JobAlert:
    """Rename, re-filter, change the frequency of, pause (`is_active=False`) or resume an alert.

    New filters or a resumed alert start their digests from now: jobs published while the alert
    said something else, or was paused, are not sent late."""
    alert = JobAlert.objects.select_for_update().get(pk=alert.pk)
    restart = False
    if "filters" in changes:
        for name, value in _filter_columns(changes["filters"]).items():
            setattr(alert, name, value)
        restart = True
    for name in ("name", "frequency", "is_active"):
        if name in changes:
            if name == "is_active" and changes[name] and not alert.is_active:
                restart = True
            setattr(alert, name, changes[name])
    if restart:
        alert.digest_through = timezone.now()
    alert.save()
    return alert


def delete_alert(*, alert: JobAlert) -> None:
    """Delete the alert and its digests; a digest being sent finds it gone and sends nothing."""
    JobAlert.objects.filter(pk=alert.pk).delete()


def unsubscribe(*, token: str) -> JobAlert:
    """Deactivate the alert the one-click unsubscribe token names, at once (idempotent)."""
    alert = alert_for_token(token)
    JobAlert.objects.filter(pk=alert.pk, is_active=True).update(
        is_active=False, updated_at=timezone.now()
    )
    alert.is_active = False
    return alert


def alert_for_token(token: str) -> JobAlert:
    """The alert of an unsubscribe token; `InvalidUnsubscribeToken` (404) for a forged one,
    `AlertNotFound` (404) when its alert was deleted."""
    try:
        alert = selectors.alert_for_token(token)
    except signing.BadSignature:
        raise InvalidUnsubscribeToken() from None
    if alert is None:
        raise AlertNotFound()
    return alert


def claim_digest(*, alert_id: int, frequency: str, period: str, now: datetime) -> int | None:
    """Record this period's digest of one alert and advance its high-water mark; the digest's id,
    or None when there is nothing new, the alert is not an active `frequency` alert (any more),
    another run holds it, or it has its digest for `period` already.

    The unique (alert, period) constraint, not a check beforehand, is what makes a period's digest
    one: a concurrent or repeated run's insert fails and changes nothing.
    """
    with transaction.atomic():
        alert = (
            JobAlert.objects.select_for_update(skip_locked=True)
            .filter(pk=alert_id, is_active=True, frequency=frequency)
            .first()
        )
        if alert is None:
            return None
        job_ids, total, through = selectors.new_jobs_for_digest(
            alert=alert, limit=settings.JOB_ALERT_MAX_JOBS
        )
        if not job_ids:
            return None
        try:
            with transaction.atomic():
                digest = JobAlertDigest.objects.create(
                    alert=alert,
                    period=period,
                    job_ids=job_ids,
                    total=total,
                    through=through,
                    created_at=now,
                )
        except IntegrityError:
            return None
        JobAlert.objects.filter(pk=alert.pk).update(digest_through=through)
    return digest.pk


def mark_sent(*, alert_id: int, at: datetime) -> None:
    """Stamp the alert's `last_sent_at` after one of its emails went out."""
    JobAlert.objects.filter(pk=alert_id).update(last_sent_at=at)
