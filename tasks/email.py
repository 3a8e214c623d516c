"""Sending an event's email once, over an SMTP connection reused across tasks.

Every email has a delivery row keyed by (event, template, recipient), and its Message-ID is
derived from that key, so even a receiving server sees a resend as the same message. One attempt:

1. Under the row's lock, check it is not sent yet, then mark it `sending` (attempts + 1) and
   commit. A redelivered event, or a second worker holding the same event, finds it `sent`, or
   `sending` within its lease (`DeliveryInProgress`: try again later), and sends nothing.
2. Send, holding no lock and no transaction: the database may go away meanwhile.
3. Record the outcome. Once the SMTP server has accepted the message, what is retried is the
   write, never the send: a few times here, then (`UnrecordedSend`) by the task's own retry,
   whose message carries the key of the email already sent.

If the worker dies between 2 and 3, nothing can know whether the server took the message: the
row stays `sending`. Policy: once its lease (`SENDING_LEASE_SECONDS`) has run out, the next
attempt sends it again, with the same Message-ID, and says so in `last_error`. A job board would
rather tell an employer twice about an application than not at all.
"""

from __future__ import annotations

import hashlib
import logging
import smtplib
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db import InterfaceError, OperationalError, connection, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from core.outbox.models import DeliveryStatus, EmailDelivery, OutboxEvent

logger = logging.getLogger(__name__)


class DeliveryError(Exception):
    """Sending failed; `permanent` says whether trying again can help, `final` whether this
    was the last attempt allowed (the delivery is then marked failed)."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.final = permanent


class DeliveryInProgress(Exception):
    """Another attempt holds this email's lease (it is being sent right now): try again later."""


class UnrecordedSend(Exception):
    """The SMTP server accepted the email, but recording that failed (the database is away).

    `key` and `sent_at` go into the retry, which records them instead of sending again."""

    def __init__(self, key: str, sent_at: datetime) -> None:
        super().__init__(f"sent {key} at {sent_at.isoformat()}, not recorded yet")
        self.key = key
        self.sent_at = sent_at


# A `sending` row older than this belongs to an attempt that ended without recording its outcome.
# Longer than the slowest SMTP transaction (connect and each command wait EMAIL_TIMEOUT at most).
SENDING_LEASE_SECONDS = settings.EMAIL_TIMEOUT * 3
# Tries of the write that records a sent email before the task's retry takes it over.
RECORD_ATTEMPTS = 3


@dataclass(frozen=True)
class Email:
    """What to send for an event: template name (under `emails/`), recipient, subject, context,
    and headers of its own (`List-Unsubscribe` of an alert email) beside the delivery's."""

    template: str
    recipient: str
    subject: str
    context: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


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
    """The email's Message-ID, the same for every resend: under `EMAIL_MESSAGE_ID_DOMAIN`, a
    fully qualified domain of ours (RFC 5322 ids are globally unique by their right side)."""
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]
    return f"<{digest}@{settings.EMAIL_MESSAGE_ID_DOMAIN}>"


def standard_headers(idempotency_key: str) -> dict[str, str]:
    """The headers mail software expects of every email here.

    `Date` with a real zone (`+0000`; Django writes `-0000`, "zone unknown", RFC 5322 3.3),
    the Message-ID, and `Auto-Submitted: auto-generated` (RFC 3834): every email here is sent by
    a machine, so autoresponders and vacation replies must not answer it.
    """
    return {
        "Date": format_datetime(datetime.now(UTC)),
        "Message-ID": message_id_for(idempotency_key),
        "Auto-Submitted": "auto-generated",
    }


def build_message(
    email: Email, *, event_id: object, event_type: str, idempotency_key: str
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
            # One line each, like the subject: no header injection through a value.
            **{name: " ".join(value.split()) for name, value in email.headers.items()},
            **standard_headers(idempotency_key),
            "X-Jobboard-Event-Id": str(event_id),
            "X-Jobboard-Event-Type": event_type,
        },
    )
    message.attach_alternative(html, "text/html")
    return message


def record_sent(key: str, sent_at: datetime) -> None:
    """Mark the delivery `key` sent at `sent_at`; retries the write, never the send.

    Raises `UnrecordedSend` when the database is still unavailable after `RECORD_ATTEMPTS`.
    """
    for attempt in range(RECORD_ATTEMPTS):
        try:
            EmailDelivery.objects.filter(idempotency_key=key).exclude(
                status=DeliveryStatus.SENT
            ).update(status=DeliveryStatus.SENT, sent_at=sent_at, last_error="", updated_at=sent_at)
            return
        except (OperationalError, InterfaceError) as exc:
            logger.warning("delivery %s: sent, but recording it failed (%s); retrying", key, exc)
            if not connection.in_atomic_block:
                connection.close()  # the next query opens a fresh connection
            if attempt + 1 < RECORD_ATTEMPTS:
                time.sleep(0.5 * 2**attempt)
    raise UnrecordedSend(key, sent_at)


def _start_attempt(key: str) -> EmailDelivery | None:
    """Take the lease on the delivery `key` for one attempt; None when it was sent already."""
    with transaction.atomic():
        delivery = EmailDelivery.objects.select_for_update().get(idempotency_key=key)
        if delivery.status == DeliveryStatus.SENT:
            return None
        if delivery.status == DeliveryStatus.SENDING:
            if delivery.updated_at > timezone.now() - timedelta(seconds=SENDING_LEASE_SECONDS):
                raise DeliveryInProgress(f"delivery {key} is being sent by another attempt")
            delivery.last_error = (
                f"attempt {delivery.attempts} recorded no outcome (its worker stopped, or the "
                "database went away, between the SMTP transaction and recording it); "
                "sent again with the same Message-ID"
            )
            delivery.unknown_outcomes += 1
            logger.warning("delivery %s: %s", key, delivery.last_error)
        delivery.attempts += 1
        delivery.status = DeliveryStatus.SENDING
        delivery.save(
            update_fields=["status", "attempts", "unknown_outcomes", "last_error", "updated_at"]
        )
    return delivery


def send_once(*, event: OutboxEvent, email: Email, final_attempt: bool) -> str:
    """Send `email` for `event` unless it was already sent; returns "sent" or "duplicate".

    A failure is recorded on the delivery (attempts, last error; status failed when it is
    permanent or this was the last attempt) and raised as `DeliveryError`. Raises
    `DeliveryInProgress` while another attempt holds the lease, and `UnrecordedSend` when the
    email went out but the database did not take the record of it.
    """
    return send_keyed(
        key=f"{event.id}:{email.template}:{email.recipient.lower()}",
        event_id=event.id,
        event_type=event.event_type,
        email=email,
        final_attempt=final_attempt,
    )


def send_keyed(
    *, key: str, event_id: object, event_type: str, email: Email, final_attempt: bool
) -> str:
    """`send_once` for an email whose delivery key is given: periodic work with no event (a job
    alert's digest) names its delivery itself, and `event_id` is then derived from that key."""
    # INSERT ... ON CONFLICT DO NOTHING: one statement whether or not the row exists yet.
    EmailDelivery.objects.bulk_create(
        [
            EmailDelivery(
                idempotency_key=key,
                event_id=event_id,
                event_type=event_type,
                template=email.template,
                recipient=email.recipient,
                subject=clean_subject(email.subject),
            )
        ],
        ignore_conflicts=True,
    )
    delivery = _start_attempt(key)
    if delivery is None:
        return "duplicate"
    message = build_message(email, event_id=event_id, event_type=event_type, idempotency_key=key)
    try:
        _send(message)
    except Exception as exc:
        close_connection()
        error = _classify(exc)
        error.final = error.permanent or final_attempt
        EmailDelivery.objects.filter(pk=delivery.pk).update(
            status=DeliveryStatus.FAILED if error.final else DeliveryStatus.PENDING,
            last_error=str(error)[:2000],
            updated_at=timezone.now(),
        )
        raise error from exc
    record_sent(key, timezone.now())
    return "sent"
