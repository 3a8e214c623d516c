"""Emails the events cause: the employer hears of every application and withdrawal, the applicant
of every status change, the employer of an expired posting or of a webhook endpoint the system
disabled, a user of the reset link they asked for.

Each task takes an event id, reads what it needs by id, and sends through `send_once`, so running
it twice for one event sends one email. Transient SMTP errors retry with exponential backoff and
jitter; a permanent refusal, or the last of `NOTIFY_MAX_RETRIES` retries, marks the delivery failed
and rejects the message into the dead-letter queue. A database that is away is waited out with
the same backoff and no limit: the email is delayed, never dropped. The retry state (SMTP failures
so far, an email sent but not yet recorded) travels in the retried message's keyword arguments.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from datetime import datetime

from celery import Task, shared_task
from celery.exceptions import Reject
from django.conf import settings
from django.db import InterfaceError, OperationalError

from core.accounts import services as account_services
from core.accounts.models import User
from core.applications.models import Application, ApplicationStatus
from core.jobs.models import Job
from core.outbox import events
from core.outbox.models import OutboxEvent
from core.webhooks.models import WebhookEndpoint
from tasks.email import (
    DeliveryError,
    DeliveryInProgress,
    Email,
    UnrecordedSend,
    close_connection,
    record_sent,
    send_once,
)

logger = logging.getLogger(__name__)

EXCERPT_CHARS = 600


def backoff_seconds(retries: int) -> float:
    """Exponential backoff from `NOTIFY_RETRY_BASE_SECONDS`, capped, with ±50 % jitter."""
    delay = min(settings.NOTIFY_RETRY_BASE_SECONDS * 2**retries, settings.NOTIFY_RETRY_MAX_SECONDS)
    return delay * random.uniform(0.5, 1.5)  # noqa: S311 (jitter, not cryptography)


def _display_name(user: User) -> str:
    return user.get_full_name() or user.username


def _excerpt(text: str) -> str:
    text = text.strip()
    return text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 1].rstrip() + "…"


def _retry(task: Task, error: Exception, **kwargs) -> Exception:
    countdown = backoff_seconds(task.request.retries)
    logger.warning(
        "%s: attempt %d failed (%s); retrying in %.1fs",
        task.name,
        task.request.retries + 1,
        error,
        countdown,
    )
    return task.retry(exc=error, countdown=countdown, kwargs=kwargs)


def _deliver(
    task: Task,
    event_id: str,
    compose: Callable[[OutboxEvent], Email | None],
    *,
    smtp_failures: int = 0,
    sent: dict | None = None,
) -> str:
    """Compose and send the email of one event; every database read and write is inside the
    retry, so a database that is away delays the email and never loses it.

    `smtp_failures` counts the transient SMTP failures so far: after `NOTIFY_MAX_RETRIES` of them
    the delivery fails and the message is dead-lettered. Database errors and a delivery being
    sent by another attempt are retried with the same backoff, without a limit: neither says
    anything about the email, and nothing could be recorded without the database anyway.
    `sent` (`key`, `at`) is the record of an email already accepted by the SMTP server that the
    previous run could not write: it is written first, and nothing is sent again.
    """

    def attempt(final_attempt: bool) -> str:
        event = OutboxEvent.objects.filter(pk=event_id).first()
        if event is None:
            logger.warning("%s: event %s not found; nothing to send", task.name, event_id)
            return "missing"
        email = compose(event)
        if email is None:
            return "skipped"
        if not email.recipient:
            logger.warning("%s: event %s: recipient has no email address", task.name, event_id)
            return "skipped"
        return send_once(event=event, email=email, final_attempt=final_attempt)

    return deliver_with_retries(
        task, f"event {event_id}", attempt, smtp_failures=smtp_failures, sent=sent
    )


def deliver_with_retries(
    task: Task,
    what: str,
    attempt: Callable[[bool], str],
    *,
    smtp_failures: int = 0,
    sent: dict | None = None,
) -> str:
    """Run one send `attempt(final_attempt)` under the retry policy of `_deliver` (which see);
    `what` names the email in the logs."""
    keep = {"smtp_failures": smtp_failures}
    try:
        if sent is not None:
            record_sent(sent["key"], datetime.fromisoformat(sent["at"]))
        return attempt(smtp_failures >= settings.NOTIFY_MAX_RETRIES)
    except DeliveryError as exc:
        if exc.final:
            logger.error("%s: %s: giving up: %s", task.name, what, exc)
            raise Reject(str(exc), requeue=False) from exc
        raise _retry(task, exc, smtp_failures=smtp_failures + 1) from exc
    except UnrecordedSend as exc:
        sent = {"key": exc.key, "at": exc.sent_at.isoformat()}
        raise _retry(task, exc, sent=sent, **keep) from exc
    except (OperationalError, InterfaceError, DeliveryInProgress) as exc:
        close_connection()
        raise _retry(task, exc, sent=sent, **keep) from exc


def _application(event: OutboxEvent) -> Application | None:
    return (
        Application.objects.select_related("job__employer", "applicant")
        .filter(pk=event.payload.get("application_id"))
        .first()
    )


def _application_context(application: Application) -> dict:
    return {
        "application": application,
        "job": application.job,
        "applicant_name": _display_name(application.applicant),
        "employer_name": _display_name(application.job.employer),
        # The front end's page of the application (the API's URL needs a token: a person
        # clicking it would read "Authentication credentials were not provided.").
        "application_url": settings.FRONTEND_APPLICATION_URL.format(id=application.pk),
    }


def compose_application_submitted(event: OutboxEvent) -> Email | None:
    application = _application(event)
    if application is None:
        return None
    context = _application_context(application)
    context["cover_letter_excerpt"] = _excerpt(application.cover_letter)
    return Email(
        template="application_submitted",
        recipient=application.job.employer.email,
        subject=f"New application for {application.job.title} from {context['applicant_name']}",
        context=context,
    )


def compose_application_status_changed(event: OutboxEvent) -> Email | None:
    application = _application(event)
    if application is None:
        return None
    context = _application_context(application)
    to_status = event.payload.get("to_status", application.status)
    context["to_status"] = ApplicationStatus(to_status).label
    context["from_status"] = ApplicationStatus(event.payload.get("from_status", to_status)).label
    change = application.status_changes.filter(to_status=to_status).order_by("-changed_at").first()
    context["note"] = change.note if change else ""
    return Email(
        template="application_status_changed",
        recipient=application.applicant.email,
        subject=f"Your application for {application.job.title}: {context['to_status']}",
        context=context,
    )


def compose_application_withdrawn(event: OutboxEvent) -> Email | None:
    application = _application(event)
    if application is None:
        return None
    context = _application_context(application)
    return Email(
        template="application_withdrawn",
        recipient=application.job.employer.email,
        subject=(
            f"{context['applicant_name']} withdrew their application for {application.job.title}"
        ),
        context=context,
    )


def _job_with_context(event: OutboxEvent) -> tuple[Job | None, dict]:
    job = Job.objects.select_related("employer").filter(pk=event.payload.get("job_id")).first()
    if job is None:
        return None, {}
    return job, {
        "job": job,
        "employer_name": _display_name(job.employer),
        "job_url": settings.FRONTEND_JOB_URL.format(id=job.pk),
    }


def compose_job_expired(event: OutboxEvent) -> Email | None:
    job, context = _job_with_context(event)
    if job is None:
        return None
    return Email(
        template="job_expired",
        recipient=job.employer.email,
        subject=f"Your posting {job.title} has expired",
        context=context,
    )


def compose_job_expiring_soon(event: OutboxEvent) -> Email | None:
    job, context = _job_with_context(event)
    if job is None or job.expires_at is None:
        return None
    # A page that renews it: a link cannot POST to the API.
    context["renew_url"] = settings.FRONTEND_RENEW_JOB_URL.format(id=job.pk)
    return Email(
        template="job_expiring_soon",
        recipient=job.employer.email,
        subject=f"Your posting {job.title} expires on {job.expires_at:%Y-%m-%d}",
        context=context,
    )


def compose_password_reset(event: OutboxEvent) -> Email | None:
    """The reset link, derived now from the user's current state: the event holds no token,
    and a link whose password has since changed would not work anyway."""
    user = User.objects.filter(pk=event.payload.get("user_id"), is_active=True).first()
    if user is None:
        return None
    uid, token = account_services.password_reset_link_parts(user=user)
    return Email(
        template="password_reset",
        recipient=user.email,
        subject="Reset your Nexus Job Board password",
        context={
            "name": _display_name(user),
            "username": user.username,
            "reset_url": settings.PASSWORD_RESET_URL.format(uid=uid, token=token),
            "valid_minutes": settings.PASSWORD_RESET_TIMEOUT // 60,
        },
    )


NOTIFICATION_TASK_OPTIONS = {
    "bind": True,
    "ignore_result": True,
    "acks_late": True,
    "reject_on_worker_lost": True,
    # No retry limit of Celery's own: `_deliver` decides when to give up (SMTP failures only).
    "max_retries": None,
}


@events.subscribe(events.APPLICATION_SUBMITTED)
@shared_task(name="tasks.notifications.notify_employer_of_application", **NOTIFICATION_TASK_OPTIONS)
def notify_employer_of_application(
    self: Task, event_id: str, smtp_failures: int = 0, sent: dict | None = None
) -> str:
    """Email the job's employer about a new application (job, applicant, cover letter, résumé)."""
    return _deliver(
        self, event_id, compose_application_submitted, smtp_failures=smtp_failures, sent=sent
    )


@events.subscribe(events.APPLICATION_STATUS_CHANGED)
@shared_task(name="tasks.notifications.notify_applicant_of_status", **NOTIFICATION_TASK_OPTIONS)
def notify_applicant_of_status(
    self: Task, event_id: str, smtp_failures: int = 0, sent: dict | None = None
) -> str:
    """Email the applicant that the employer moved their application."""
    return _deliver(
        self, event_id, compose_application_status_changed, smtp_failures=smtp_failures, sent=sent
    )


@events.subscribe(events.APPLICATION_WITHDRAWN)
@shared_task(name="tasks.notifications.notify_employer_of_withdrawal", **NOTIFICATION_TASK_OPTIONS)
def notify_employer_of_withdrawal(
    self: Task, event_id: str, smtp_failures: int = 0, sent: dict | None = None
) -> str:
    """Email the employer that an applicant withdrew."""
    return _deliver(
        self, event_id, compose_application_withdrawn, smtp_failures=smtp_failures, sent=sent
    )


@events.subscribe(events.JOB_EXPIRED)
@shared_task(name="tasks.notifications.notify_employer_of_expiry", **NOTIFICATION_TASK_OPTIONS)
def notify_employer_of_expiry(
    self: Task, event_id: str, smtp_failures: int = 0, sent: dict | None = None
) -> str:
    """Email the employer that their posting expired and is no longer listed."""
    return _deliver(self, event_id, compose_job_expired, smtp_failures=smtp_failures, sent=sent)


@events.subscribe(events.JOB_EXPIRING_SOON)
@shared_task(name="tasks.notifications.remind_employer_of_expiry", **NOTIFICATION_TASK_OPTIONS)
def remind_employer_of_expiry(
    self: Task, event_id: str, smtp_failures: int = 0, sent: dict | None = None
) -> str:
    """Email the employer that their posting expires soon, with how to renew it."""
    return _deliver(
        self, event_id, compose_job_expiring_soon, smtp_failures=smtp_failures, sent=sent
    )


@events.subscribe(events.USER_PASSWORD_RESET_REQUESTED)
@shared_task(name="tasks.notifications.send_password_reset_link", **NOTIFICATION_TASK_OPTIONS)
def send_password_reset_link(
    self: Task, event_id: str, smtp_failures: int = 0, sent: dict | None = None
) -> str:
    """Email the user the password reset link they asked for, once per request."""
    return _deliver(self, event_id, compose_password_reset, smtp_failures=smtp_failures, sent=sent)


# --- Webhooks (core/webhooks) ---------------------------------------------------------------

WEBHOOK_DISABLED_REASONS = {
    "gone": "its server answered 410 Gone.",
    "failing": "every delivery to it has failed for {hours:g} hours.",
}


def compose_webhook_endpoint_disabled(event: OutboxEvent) -> Email | None:
    endpoint = (
        WebhookEndpoint.objects.select_related("employer")
        .filter(pk=event.payload.get("endpoint_id"))
        .first()
    )
    if endpoint is None:
        return None
    reason = WEBHOOK_DISABLED_REASONS.get(event.payload.get("reason"), "it kept failing.")
    return Email(
        template="webhook_endpoint_disabled",
        recipient=endpoint.employer.email,
        subject=f"Your webhook endpoint {endpoint.url} was disabled",
        context={
            "endpoint": endpoint,
            "employer_name": _display_name(endpoint.employer),
            "reason": reason.format(hours=settings.WEBHOOK_DISABLE_AFTER_HOURS),
            "endpoint_url": settings.FRONTEND_WEBHOOK_URL.format(id=endpoint.pk),
        },
    )


@events.subscribe(events.WEBHOOK_ENDPOINT_DISABLED)
@shared_task(
    name="tasks.notifications.notify_employer_of_disabled_webhook", **NOTIFICATION_TASK_OPTIONS
)
def notify_employer_of_disabled_webhook(
    self: Task, event_id: str, smtp_failures: int = 0, sent: dict | None = None
) -> str:
    """Email the employer that the system disabled one of their webhook endpoints, and why."""
    return _deliver(
        self, event_id, compose_webhook_endpoint_disabled, smtp_failures=smtp_failures, sent=sent
    )
