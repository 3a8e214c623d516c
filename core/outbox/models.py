"""The outbox (events stored in the transaction of the change they describe) and the delivery log
of the emails those events caused."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone


class OutboxEvent(models.Model):
    """An event stored in the same transaction as the change it describes (transactional outbox).

    The relay publishes rows whose `published_at` is null and stamps it once the broker confirmed.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    event_type = models.CharField(max_length=64)
    payload = models.JSONField(default=dict)
    occurred_at = models.DateTimeField(default=timezone.now)
    published_at = models.DateTimeField(null=True, blank=True)
    publish_attempts = models.PositiveIntegerField(default=0)
    # The id of the API request (or task run) that recorded the event, empty when there was none
    # (beat's periodic work); the relay passes it on to the subscribers' task runs and their logs.
    request_id = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        ordering = ["occurred_at"]
        indexes = [
            models.Index(
                fields=["occurred_at"],
                name="outbox_pending_idx",
                condition=models.Q(published_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.id}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    # An attempt took the lease and has not recorded its outcome (yet): tasks/email.py.
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class EmailDelivery(models.Model):
    """One email an event caused, and what became of it.

    `idempotency_key` (event, template, recipient) is unique, so a redelivered event finds its
    delivery already sent and sends nothing; a failed one keeps its attempts and last error.
    """

    idempotency_key = models.CharField(max_length=255, unique=True)
    event_id = models.UUIDField(db_index=True)
    event_type = models.CharField(max_length=64)
    template = models.CharField(max_length=64)
    recipient = models.EmailField()
    subject = models.CharField(max_length=255, blank=True)
    status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    # Attempts that ended with no outcome recorded (the worker stopped between the SMTP
    # transaction and the write): the email may have gone out more than once.
    unknown_outcomes = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "email deliveries"
        indexes = [models.Index(fields=["status", "created_at"], name="delivery_status_idx")]

    def __str__(self) -> str:
        return f"{self.template} to {self.recipient} ({self.status})"
