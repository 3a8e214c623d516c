"""Webhook endpoints an employer registers, the deliveries events cause, and each attempt.

A delivery is one message (one `webhook-id`, one body) to one endpoint; it is attempted until it
succeeds, fails for good or its endpoint is disabled. Its body is the snapshot taken when the
delivery was created, so a later edit of the job or application changes nothing sent or resent.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class WebhookEndpoint(models.Model):
    """A URL of an employer's system and the event types it wants, with its signing secret(s).

    During a rotation `previous_secret` signs too, until `previous_secret_expires_at`.
    `busy_until` is the lease of the attempt in flight: one attempt per endpoint at a time, so a
    receiver that hangs holds at most one worker process (see `services.claim_attempt`).
    """

    employer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="webhook_endpoints"
    )
    url = models.URLField(max_length=2000)
    events = models.JSONField(default=list)
    description = models.CharField(max_length=200, blank=True, default="")
    is_active = models.BooleanField(default=True)
    secret = models.CharField(max_length=100)
    previous_secret = models.CharField(max_length=100, blank=True, default="")
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    # Why the system (not the employer) disabled it: "gone" (410) or "failing" (72 h of failures).
    disabled_reason = models.CharField(max_length=32, blank=True, default="")
    disabled_at = models.DateTimeField(null=True, blank=True)
    # Since when every attempt has failed (cleared by any success).
    failing_since = models.DateTimeField(null=True, blank=True)
    busy_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["employer", "-created_at"], name="webhook_endpoint_owner_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.url} ({self.employer_id})"

    def signing_secrets(self, *, now=None) -> list[str]:
        """The secrets that sign a request now: the current one, and the previous one while the
        rotation window lasts."""
        now = now or timezone.now()
        secrets = [self.secret]
        if (
            self.previous_secret
            and self.previous_secret_expires_at
            and self.previous_secret_expires_at > now
        ):
            secrets.append(self.previous_secret)
        return secrets


class WebhookDeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class WebhookDelivery(models.Model):
    """One message to one endpoint: the same `webhook-id` (`msg_<id>`) and body on every attempt.

    `next_attempt_at` is when the next attempt is due (null once the delivery has ended); an
    attempt claims the row by pushing it past its own lease, so a worker that dies mid-attempt
    leaves a row the periodic sweep picks up again once the lease has run out.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    # Null for a ping, which no event caused.
    event_id = models.UUIDField(null=True, blank=True)
    event_type = models.CharField(max_length=64)
    # The exact JSON text signed and sent, `{"type", "timestamp", "data"}`: one snapshot, the
    # same bytes on every attempt and redelivery.
    body = models.TextField()
    status = models.CharField(
        max_length=16, choices=WebhookDeliveryStatus.choices, default=WebhookDeliveryStatus.PENDING
    )
    attempts_count = models.PositiveIntegerField(default=0)
    # Attempts since the delivery was last (re)started: indexes WEBHOOK_RETRY_SCHEDULE.
    retries = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # When the attempt in flight was claimed; still set at the next claim means that attempt
    # recorded no outcome (its worker died, or it outlived the task's time limit).
    attempt_started_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["event_id", "endpoint"],
                name="webhook_delivery_once_per_event",
                condition=models.Q(event_id__isnull=False),
            ),
        ]
        indexes = [
            models.Index(fields=["endpoint", "-created_at"], name="webhook_delivery_log_idx"),
            models.Index(
                fields=["next_attempt_at"],
                name="webhook_delivery_due_idx",
                condition=models.Q(status="pending"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} -> {self.endpoint_id} ({self.status})"

    @property
    def message_id(self) -> str:
        """The `webhook-id` header: the same on every attempt and redelivery."""
        return f"msg_{self.id.hex}"


class WebhookAttempt(models.Model):
    """One POST of a delivery: when, the answer (status, a ≤1 KB excerpt) or the error, and how
    long it took."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempts")
    at = models.DateTimeField(default=timezone.now)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    response_excerpt = models.TextField(blank=True, default="")
    error = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["delivery", "at"], name="webhook_attempt_delivery_idx")]

    def __str__(self) -> str:
        return (
            f"{self.delivery_id} at {self.at:%Y-%m-%d %H:%M:%S}: {self.status_code or self.error}"
        )
