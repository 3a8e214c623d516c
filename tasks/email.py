"""Sending an event's email at most once, over an SMTP connection reused across tasks.

Every email has a delivery row keyed by (event, template, recipient). The row is locked while its
email is sent and marked sent in the same transaction, so a redelivered event, or two workers
holding the same event, send it once. The Message-ID is derived from that key too, so even a
receiving server sees a resend as the same message.
"""

from __future__ import annotations

import hashlib
import logging
import smtplib
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from core.outbox.models import DeliveryStatus, EmailDelivery, OutboxEvent

logger = logging.getLogger(__name__)


class DeliveryError(Exception):
    """Sending failed; `permanent` says whether trying again can help."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class Email:
    """What to send for an event: template name (under `emails/`), recipient, subject, context."""

    template: str
    recipient: str
    subject: str
    context: dict[str, Any] = field(default_factory=dict)


_connection: BaseEmailBackend | None = None


def _open_connection() -> BaseEmailBackend:
    global _connection
    if _connection is None:
        connection = get_connection(fail_silently=False)
        connection.open()
        _connection = connection
    return _connection


def close_connection() -> None:
    """Drop the cached SMTP connection (after an error, or when a worker process exits)."""
    global _connection
    connection, _connection = _connection, None
    if connection is not None:
        try:
            connection.close()
        except Exception:  # already broken; nothing to clean up
            logger.debug("closing a broken SMTP connection failed", exc_info=True)


def _send(message: EmailMultiAlternatives) -> None:
    try:
        _open_connection().send_messages([message])
    except smtplib.SMTPServerDisconnected:
        # The server closed an idle connection: one fresh attempt before calling it an error.
        close_connection()
        _open_connection().send_messages([message])


def _classify(exc: Exception) -> DeliveryError:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        permanent = bool(codes) and all(code >= 500 for code in codes)
    elif isinstance(exc, smtplib.SMTPResponseException):
        permanent = exc.smtp_code >= 500
    else:  # connection refused, timeouts, disconnects
        permanent = False
    return DeliveryError(f"{type(exc).__name__}: {exc}", permanent=permanent)


def clean_subject(subject: str) -> str:
    """One line (no header injection from a job title), bounded."""
    return " ".join(subject.split())[:250]


def message_id_for(idempotency_key: str) -> str:
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]
    return f"<{digest}@nexus-jobboard>"


def build_message(
    email: Email, *, event: OutboxEvent, idempotency_key: str
) -> EmailMultiAlternatives:
    context = {**email.context, "base_url": settings.PUBLIC_BASE_URL}
    text = render_to_string(f"emails/{email.template}.txt", context)
    html = render_to_string(f"emails/{email.template}.html", context)
    message = EmailMultiAlternatives(
        subject=clean_subject(email.subject),
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[email.recipient],
        headers={
            "Message-ID": message_id_for(idempotency_key),
            "X-Jobboard-Event-Id": str(event.id),
            "X-Jobboard-Event-Type": event.event_type,
        },
    )
    message.attach_alternative(html, "text/html")
    return message


def send_once(*, event: OutboxEvent, email: Email, final_attempt: bool) -> str:
    """Send `email` for `event` unless it was already sent; returns "sent" or "duplicate".

    A failure is recorded on the delivery (attempts, last error; status failed when it is
    permanent or this was the last attempt) and raised as `DeliveryError`.
    """
    key = f"{event.id}:{email.template}:{email.recipient.lower()}"
    # INSERT ... ON CONFLICT DO NOTHING: one statement whether or not the row exists yet.
    EmailDelivery.objects.bulk_create(
        [
            EmailDelivery(
                idempotency_key=key,
                event_id=event.id,
                event_type=event.event_type,
                template=email.template,
                recipient=email.recipient,
                subject=clean_subject(email.subject),
            )
        ],
        ignore_conflicts=True,
    )
    error: DeliveryError | None = None
    with transaction.atomic():
        delivery = EmailDelivery.objects.select_for_update().get(idempotency_key=key)
        if delivery.status == DeliveryStatus.SENT:
            return "duplicate"
        message = build_message(email, event=event, idempotency_key=key)
        delivery.attempts += 1
        try:
            _send(message)
        except Exception as exc:
            close_connection()
            error = _classify(exc)
            delivery.last_error = str(error)[:2000]
            if error.permanent or final_attempt:
                delivery.status = DeliveryStatus.FAILED
        else:
            delivery.status = DeliveryStatus.SENT
            delivery.sent_at = timezone.now()
            delivery.last_error = ""
        delivery.save(update_fields=["status", "attempts", "last_error", "sent_at", "updated_at"])
    if error is not None:
        raise error
    return "sent"
