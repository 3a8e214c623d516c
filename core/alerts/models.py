"""A job alert (a seeker's saved search of the public listing) and the digests it was sent.

The filters are the listing's own (`core.jobs.selectors.JobListFilters`), stored one column
each so that one published job can be matched against every instant alert in one statement.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class AlertFrequency(models.TextChoices):
    INSTANT = "instant", "Instant"
    DAILY = "daily", "Daily"
    WEEKLY = "weekly", "Weekly"


DIGEST_FREQUENCIES = (AlertFrequency.DAILY, AlertFrequency.WEEKLY)
# The filters of `GET /api/jobs/` an alert saves (`posted_since` and `ordering` make no sense
# for "new jobs from now on"), in the order the API shows them.
FILTER_FIELDS = (
    "search",
    "category",
    "employment_type",
    "location",
    "remote",
    "salary_min",
    "salary_max",
)


class JobAlert(models.Model):
    """A seeker's saved search, sent instantly or as a daily or weekly digest while active."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="job_alerts"
    )
    name = models.CharField(max_length=100)
    search = models.CharField(max_length=200, blank=True)
    # As the listing takes it: a category slug or id (checked to exist when saved).
    category = models.CharField(max_length=100, blank=True)
    employment_type = models.CharField(max_length=16, blank=True)
    location = models.CharField(max_length=200, blank=True)
    remote = models.BooleanField(null=True, blank=True)
    salary_min = models.PositiveIntegerField(null=True, blank=True)
    salary_max = models.PositiveIntegerField(null=True, blank=True)
    frequency = models.CharField(max_length=8, choices=AlertFrequency.choices)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    last_sent_at = models.DateTimeField(null=True, blank=True)
    # The digest's high-water mark: the newest `published_at` a digest of this alert covered.
    # The next digest lists only jobs published after it, so no job is sent twice and a slow run
    # skips none. Starts at the alert's creation.
    digest_through = models.DateTimeField(default=timezone.now)
    # What the signed unsubscribe token names: random, so the token carries no id to guess.
    unsubscribe_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="alert_user_created_idx"),
            # The matcher and the digest runs read active alerts of one frequency.
            models.Index(
                fields=["frequency", "id"],
                name="alert_active_frequency_idx",
                condition=models.Q(is_active=True),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(salary_min__isnull=True)
                | models.Q(salary_max__isnull=True)
                | models.Q(salary_min__lte=models.F("salary_max")),
                name="alert_salary_min_lte_max",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.frequency})"


class JobAlertDigest(models.Model):
    """One digest of one alert for one period (a UTC calendar day or ISO week).

    Unique per (alert, period): however often or concurrently a digest run happens, a period has
    at most one digest, and so one email (its delivery key is the digest's). `job_ids` are the
    jobs it lists (at most `JOB_ALERT_MAX_JOBS`), `total` how many new jobs there were.
    """

    alert = models.ForeignKey(JobAlert, on_delete=models.CASCADE, related_name="digests")
    period = models.CharField(max_length=16)
    job_ids = models.JSONField(default=list)
    total = models.PositiveIntegerField(default=0)
    through = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["alert", "period"], name="alert_digest_once_per_period")
        ]

    def __str__(self) -> str:
        return f"digest of alert {self.alert_id} for {self.period}"
