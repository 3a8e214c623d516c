"""The notification tasks, run in-process: which email each event causes, and what becomes of it.

Every task is executed eagerly with `task.apply(args=[event_id])`, the way a worker runs it but in
this process. The assertions are what a recipient or an operator can observe: the messages in
Django's locmem outbox (recipient, subject, plain text, HTML alternative, headers) and the
`EmailDelivery` row that records each email's status, attempts and last error.

Celery's eager `apply` handles `self.retry()` by running the task again at once, in the same
call, with `request.retries` increased by one (the countdown is ignored), and returns the result of
the last run; a `Reject` raised by the last run ends as an `EagerResult` in state `REJECTED`
whose result is the `Reject` exception (nothing is raised, since `task_eager_propagates` is off).
"""

from __future__ import annotations

import email
import email.policy
import smtplib
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from celery import states
from celery.exceptions import Reject
from django.conf import settings
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.db import OperationalError, transaction
from django.utils import timezone

import tasks.email
from core.accounts.models import User
from core.applications import services as application_services
from core.applications.models import Application, ApplicationStatus
from core.jobs.models import Job
from core.outbox import events
from core.outbox import services as outbox_services
from core.outbox.models import DeliveryStatus, EmailDelivery, OutboxEvent
from tasks import notifications
from tasks.notifications import (
    backoff_seconds,
    notify_applicant_of_status,
    notify_employer_of_application,
    notify_employer_of_expiry,
    notify_employer_of_withdrawal,
)

LOCMEM_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
RESUME_URL = "https://example.com/cv/alice.pdf"


@pytest.fixture(autouse=True)
def _locmem_email(settings):
    """Emails go to `mail.outbox`; the SMTP connection cached by a previous test is dropped."""
    settings.EMAIL_BACKEND = LOCMEM_BACKEND
    tasks.email.close_connection()
    mail.outbox = []
    yield
    tasks.email.close_connection()


@pytest.fixture
def backoff_calls(monkeypatch) -> list[int]:
    """Record the `retries` value of every backoff the tasks compute (one per retry)."""
    calls: list[int] = []

    def recording_backoff(retries: int) -> float:
        calls.append(retries)
        return 0.0

    monkeypatch.setattr(notifications, "backoff_seconds", recording_backoff)
    return calls


def failing_send(monkeypatch, error: Callable[[], Exception], *, failures: int | None) -> list[str]:
    """Make `tasks.email._send` raise `error()` `failures` times (always when None), then send.

    Returns the list of outcomes ("error" / "sent"), one per SMTP attempt.
    """
    real_send = tasks.email._send
    attempts: list[str] = []

    def send(message):
        if failures is None or attempts.count("error") < failures:
            attempts.append("error")
            raise error()
        attempts.append("sent")
        real_send(message)

    monkeypatch.setattr(tasks.email, "_send", send)
    return attempts


def transient_error() -> Exception:
    return smtplib.SMTPResponseException(451, b"try later")


def event_for(application: Application, event_type: str) -> OutboxEvent:
    return OutboxEvent.objects.filter(
        event_type=event_type, payload__application_id=application.pk
    ).latest("occurred_at")


def submitted_event(application: Application) -> OutboxEvent:
    return event_for(application, events.APPLICATION_SUBMITTED)


def apply(seeker: User, job: Job, cover_letter: str = "I love APIs.") -> Application:
    return application_services.apply_to_job(
        applicant=seeker, job=job, cover_letter=cover_letter, resume_url=RESUME_URL
    )


def run(task, event: OutboxEvent | str):
    event_id = event if isinstance(event, str) else str(event.id)
    return task.apply(args=[event_id])


def html_of(message: mail.EmailMultiAlternatives) -> str:
    htmls = [content for content, mimetype in message.alternatives if mimetype == "text/html"]
    assert len(htmls) == 1, message.alternatives
    return htmls[0]


def record_job_expired(job: Job) -> OutboxEvent:
    with transaction.atomic():
        return events.record_event(
            event_type=events.JOB_EXPIRED,
            payload={
                "job_id": job.pk,
                "employer_id": job.employer_id,
                "category_id": job.category_id,
            },
        )


# --- application.submitted ---------------------------------------------------------------------


def test_new_application_emails_the_employer_once_naming_job_and_applicant(
    employer, seeker, job, settings
):
    settings.FRONTEND_APPLICATION_URL = "https://app.example.com/applications/{id}?from=email"
    application = apply(seeker, job, cover_letter="I have built REST APIs for ten years.")
    event = submitted_event(application)

    result = run(notify_employer_of_application, event)

    assert result.state == states.SUCCESS
    assert result.result == "sent"
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [employer.email]
    assert message.from_email == settings.DEFAULT_FROM_EMAIL
    assert job.title in message.subject
    assert "alice" in message.subject  # no full name: the username
    assert "I have built REST APIs for ten years." in message.body
    assert RESUME_URL in message.body
    # The front end's page, not the API's URL (which needs a token).
    link = f"https://app.example.com/applications/{application.pk}?from=email"
    assert link in message.body
    assert f'href="{link}"' in html_of(message)
    assert "/api/" not in message.body
    assert seeker.email in message.body


def test_new_application_subject_uses_the_applicants_full_name_when_set(employer, seeker, job):
    seeker.first_name, seeker.last_name = "Alice", "Liddell"
    seeker.save(update_fields=["first_name", "last_name"])
    application = apply(seeker, job)

    run(notify_employer_of_application, submitted_event(application))

    [message] = mail.outbox
    assert "Alice Liddell" in message.subject
    assert job.title in message.subject


def test_new_application_email_headers_identify_the_event_and_the_delivery(seeker, job):
    application = apply(seeker, job)
    event = submitted_event(application)

    run(notify_employer_of_application, event)

    [message] = mail.outbox
    delivery = EmailDelivery.objects.get(event_id=event.id)
    expected_message_id = tasks.email.message_id_for(delivery.idempotency_key)
    mime = message.message()
    assert mime["Message-ID"] == expected_message_id
    assert mime["X-Jobboard-Event-Id"] == str(event.id)
    assert mime["X-Jobboard-Event-Type"] == events.APPLICATION_SUBMITTED
    assert delivery.recipient == job.employer.email
    assert delivery.template == "application_submitted"
    assert delivery.subject == message.subject


@pytest.mark.parametrize("domain", [None, "mail.jobs.example.com"])
def test_every_email_has_a_real_zone_a_message_id_domain_and_auto_submitted(
    seeker, job, settings, domain
):
    if domain:
        settings.EMAIL_MESSAGE_ID_DOMAIN = domain
    run(notify_employer_of_application, submitted_event(apply(seeker, job)))

    [message] = mail.outbox
    raw = message.message().as_bytes()
    mime = email.message_from_bytes(raw, policy=email.policy.default)
    assert mime["Date"].endswith(" +0000"), mime["Date"]  # not -0000, "zone unknown"
    assert mime["Date"].datetime.utcoffset() == timedelta(0)
    assert abs(mime["Date"].datetime - timezone.now()) < timedelta(minutes=1)
    assert raw.count(b"\nDate: ") == 1
    assert mime["Message-ID"].endswith(f"@{domain or 'jobboard.local'}>")
    assert mime["Auto-Submitted"] == "auto-generated"


def test_message_id_is_stable_per_key_and_differs_between_keys():
    first = tasks.email.message_id_for("event-1:application_submitted:a@example.com")
    again = tasks.email.message_id_for("event-1:application_submitted:a@example.com")
    other = tasks.email.message_id_for("event-2:application_submitted:a@example.com")

    assert first == again
    assert first != other
    assert first.startswith("<")
    assert first.endswith(">")
    assert "@" in first


def test_new_application_email_has_an_html_alternative_that_escapes_the_cover_letter(seeker, job):
    letter = 'Hi! <script>alert("x")</script> <b>bold</b> & more'
    application = apply(seeker, job, cover_letter=letter)

    run(notify_employer_of_application, submitted_event(application))

    [message] = mail.outbox
    html = html_of(message)
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert "<b>bold</b>" not in html
    assert "&lt;b&gt;bold&lt;/b&gt;" in html
    assert RESUME_URL in html
    assert f'{settings.FRONTEND_APPLICATION_URL.format(id=application.pk)}"' in html
    # The plain text part is not HTML: the letter appears as written.
    assert letter in message.body


def test_new_application_email_truncates_a_long_cover_letter_to_600_characters(seeker, job):
    letter = "A" * 599 + "B" * 401
    application = apply(seeker, job, cover_letter=letter)

    run(notify_employer_of_application, submitted_event(application))

    [message] = mail.outbox
    assert "A" * 599 + "…" in message.body
    assert "B" not in message.body.split("Cover letter:")[1].split("Résumé")[0]
    assert "A" * 599 + "…" in html_of(message)


def test_new_application_email_keeps_a_cover_letter_of_exactly_600_characters(seeker, job):
    letter = "C" * 600
    application = apply(seeker, job, cover_letter=letter)

    run(notify_employer_of_application, submitted_event(application))

    [message] = mail.outbox
    assert letter in message.body
    assert "…" not in message.body


def test_new_application_email_without_cover_letter_says_so(seeker, job):
    application = apply(seeker, job, cover_letter="")

    run(notify_employer_of_application, submitted_event(application))

    [message] = mail.outbox
    assert "(no cover letter)" in message.body


# --- idempotency -------------------------------------------------------------------------------


def test_running_the_task_twice_for_one_event_sends_one_email(seeker, job):
    application = apply(seeker, job)
    event = submitted_event(application)

    first = run(notify_employer_of_application, event)
    second = run(notify_employer_of_application, event)

    assert (first.result, second.result) == ("sent", "duplicate")
    assert len(mail.outbox) == 1
    delivery = EmailDelivery.objects.get(event_id=event.id)
    assert delivery.status == DeliveryStatus.SENT
    assert delivery.attempts == 1
    assert delivery.sent_at is not None
    assert delivery.last_error == ""


def test_two_applications_to_one_job_send_two_emails(seeker, other_seeker, job):
    first = apply(seeker, job)
    second = apply(other_seeker, job)

    run(notify_employer_of_application, submitted_event(first))
    run(notify_employer_of_application, submitted_event(second))

    assert len(mail.outbox) == 2
    assert {m.extra_headers["Message-ID"] for m in mail.outbox} == {
        tasks.email.message_id_for(d.idempotency_key) for d in EmailDelivery.objects.all()
    }
    assert EmailDelivery.objects.filter(status=DeliveryStatus.SENT).count() == 2


# --- the other events --------------------------------------------------------------------------


def test_status_change_emails_the_applicant_with_new_status_and_note(employer, seeker, application):
    application_services.change_application_status(
        application=application,
        to_status=ApplicationStatus.REVIEWED,
        actor=employer,
        note="Great profile, expect a call on Monday.",
    )
    event = event_for(application, events.APPLICATION_STATUS_CHANGED)

    result = run(notify_applicant_of_status, event)

    assert result.result == "sent"
    [message] = mail.outbox
    assert message.to == [seeker.email]
    assert "Reviewed" in message.subject
    assert application.job.title in message.subject
    assert "Reviewed" in message.body
    assert "Submitted" in message.body  # the status it moved from
    assert "Great profile, expect a call on Monday." in message.body
    assert "Great profile, expect a call on Monday." in html_of(message)
    assert message.extra_headers["X-Jobboard-Event-Type"] == events.APPLICATION_STATUS_CHANGED


def test_each_status_change_gets_its_own_email_with_its_own_note(employer, seeker, application):
    application_services.change_application_status(
        application=application,
        to_status=ApplicationStatus.REVIEWED,
        actor=employer,
        note="First note.",
    )
    reviewed = event_for(application, events.APPLICATION_STATUS_CHANGED)
    application_services.change_application_status(
        application=application,
        to_status=ApplicationStatus.INTERVIEWING,
        actor=employer,
        note="Second note.",
    )
    interviewing = (
        OutboxEvent.objects.filter(
            event_type=events.APPLICATION_STATUS_CHANGED,
            payload__application_id=application.pk,
        )
        .exclude(pk=reviewed.pk)
        .get()
    )

    run(notify_applicant_of_status, reviewed)
    run(notify_applicant_of_status, interviewing)

    assert len(mail.outbox) == 2
    first, second = mail.outbox
    assert "Reviewed" in first.subject
    assert "First note." in first.body
    assert "Interviewing" in second.subject
    assert "Second note." in second.body


def test_withdrawal_emails_the_employer(employer, seeker, application):
    application_services.withdraw_application(application=application, actor=seeker)
    event = event_for(application, events.APPLICATION_WITHDRAWN)

    result = run(notify_employer_of_withdrawal, event)

    assert result.result == "sent"
    [message] = mail.outbox
    assert message.to == [employer.email]
    assert "alice" in message.subject
    assert application.job.title in message.subject
    assert settings.FRONTEND_APPLICATION_URL.format(id=application.pk) in message.body
    assert message.extra_headers["X-Jobboard-Event-Type"] == events.APPLICATION_WITHDRAWN


def test_job_expiry_emails_the_employer(employer, job):
    event = record_job_expired(job)

    result = run(notify_employer_of_expiry, event)

    assert result.result == "sent"
    [message] = mail.outbox
    assert message.to == [employer.email]
    assert job.title in message.subject
    assert "expired" in message.subject
    assert settings.FRONTEND_JOB_URL.format(id=job.pk) in message.body
    assert "/api/" not in message.body
    assert job.title in html_of(message)
    assert EmailDelivery.objects.get(event_id=event.id).template == "job_expired"


# --- nothing to send ---------------------------------------------------------------------------


def test_unknown_event_id_sends_nothing_and_reports_missing(db):
    result = run(notify_employer_of_application, str(uuid.uuid4()))

    assert result.state == states.SUCCESS
    assert result.result == "missing"
    assert mail.outbox == []
    assert not EmailDelivery.objects.exists()


def test_employer_without_email_address_is_skipped(employer, seeker, job):
    User.objects.filter(pk=employer.pk).update(email="")
    application = apply(seeker, job)

    result = run(notify_employer_of_application, submitted_event(application))

    assert result.result == "skipped"
    assert mail.outbox == []
    assert not EmailDelivery.objects.exists()


def test_event_whose_application_is_gone_is_skipped(db):
    with transaction.atomic():
        event = events.record_event(
            event_type=events.APPLICATION_SUBMITTED,
            payload={"application_id": 987654, "job_id": 1, "applicant_id": 1, "employer_id": 1},
        )

    result = run(notify_employer_of_application, event)

    assert result.result == "skipped"
    assert mail.outbox == []


# --- header injection --------------------------------------------------------------------------


def test_job_title_with_newlines_gives_a_single_line_subject(employer, seeker, make_job):
    job = make_job(title="Backend Engineer\nBcc: victim@example.com\r\nX-Evil: 1")
    application = apply(seeker, job)

    result = run(notify_employer_of_application, submitted_event(application))

    assert result.state == states.SUCCESS
    [message] = mail.outbox
    assert "\n" not in message.subject
    assert "\r" not in message.subject
    assert "Backend Engineer Bcc: victim@example.com X-Evil: 1" in message.subject
    mime = message.message()  # raises BadHeaderError on a multi-line header
    assert mime["Bcc"] is None
    assert mime["X-Evil"] is None
    assert message.recipients() == [employer.email]


def test_delivery_records_the_subject_that_was_sent(seeker, make_job):
    """The delivery row is the record of the email: its subject is the one in the message."""
    job = make_job(title="Backend Engineer\nBcc: victim@example.com")
    application = apply(seeker, job)
    event = submitted_event(application)

    run(notify_employer_of_application, event)

    [message] = mail.outbox
    delivery = EmailDelivery.objects.get(event_id=event.id)
    assert "\n" not in delivery.subject
    assert delivery.subject == message.subject


# --- the SMTP connection -----------------------------------------------------------------------


class CountingBackend(LocmemBackend):
    """The locmem backend, counting connections; the first `disconnects` sends find it closed."""

    opened: int = 0
    disconnects: int = 0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        type(self).opened += 1

    def send_messages(self, messages):
        if type(self).disconnects:
            type(self).disconnects -= 1
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        return super().send_messages(messages)


@pytest.fixture
def counting_backend(monkeypatch) -> type[CountingBackend]:
    backend = type("Backend", (CountingBackend,), {"opened": 0, "disconnects": 0})
    monkeypatch.setattr(tasks.email, "get_connection", lambda **kwargs: backend(**kwargs))
    return backend


def test_consecutive_emails_reuse_one_connection(counting_backend, seeker, other_seeker, job):
    first, second = apply(seeker, job), apply(other_seeker, job)

    run(notify_employer_of_application, submitted_event(first))
    run(notify_employer_of_application, submitted_event(second))

    assert len(mail.outbox) == 2
    assert counting_backend.opened == 1


def test_connection_closed_by_the_server_is_reopened_without_costing_an_attempt(
    counting_backend, backoff_calls, seeker, job
):
    counting_backend.disconnects = 1
    application = apply(seeker, job)
    event = submitted_event(application)

    result = run(notify_employer_of_application, event)

    assert result.result == "sent"
    assert backoff_calls == []
    assert len(mail.outbox) == 1
    assert counting_backend.opened == 2
    delivery = EmailDelivery.objects.get(event_id=event.id)
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.SENT, 1)


def test_a_failed_send_drops_the_connection_so_the_retry_opens_a_new_one(
    counting_backend, backoff_calls, seeker, job
):
    counting_backend.disconnects = 2  # the reopened connection is closed too: a transient error
    application = apply(seeker, job)
    event = submitted_event(application)

    result = run(notify_employer_of_application, event)

    assert result.result == "sent"
    assert backoff_calls == [0]
    assert counting_backend.opened == 3
    assert len(mail.outbox) == 1
    assert EmailDelivery.objects.get(event_id=event.id).attempts == 2


# --- transient failures: retry with backoff ----------------------------------------------------


def test_transient_smtp_error_is_retried_and_the_email_sent_once(monkeypatch, seeker, job):
    backoff = []
    monkeypatch.setattr(notifications, "backoff_seconds", lambda r: backoff.append(r) or 0.0)
    smtp = failing_send(monkeypatch, transient_error, failures=1)
    application = apply(seeker, job)
    event = submitted_event(application)

    result = run(notify_employer_of_application, event)

    assert smtp == ["error", "sent"]
    assert backoff == [0]  # one retry, computed for the first attempt
    assert result.state == states.SUCCESS
    assert result.result == "sent"
    assert len(mail.outbox) == 1
    delivery = EmailDelivery.objects.get(event_id=event.id)
    assert delivery.status == DeliveryStatus.SENT
    assert delivery.attempts == 2
    assert delivery.last_error == ""
    assert delivery.sent_at is not None


def test_transient_error_leaves_the_delivery_pending_with_the_error_until_retried(
    monkeypatch, seeker, job
):
    """What a worker records between two attempts: still pending, one attempt, the 451."""
    application = apply(seeker, job)
    event = submitted_event(application)
    failing_send(monkeypatch, transient_error, failures=None)
    seen: list[tuple[str, int, str]] = []

    def observe_then_stop(retries: int) -> float:
        delivery = EmailDelivery.objects.get(event_id=event.id)
        seen.append((delivery.status, delivery.attempts, delivery.last_error))
        raise LookupError("stop after the first failure")

    monkeypatch.setattr(notifications, "backoff_seconds", observe_then_stop)

    result = run(notify_employer_of_application, event)

    assert result.state == states.FAILURE
    assert len(seen) == 1
    status, attempts, last_error = seen[0]
    assert status == DeliveryStatus.PENDING
    assert attempts == 1
    assert "451" in last_error
    assert "try later" in last_error
    assert mail.outbox == []


def test_refused_recipient_with_4xx_code_is_transient(monkeypatch, backoff_calls, seeker, job):
    def refused_451() -> Exception:
        return smtplib.SMTPRecipientsRefused({"acme_hr@example.com": (451, b"greylisted")})

    smtp = failing_send(monkeypatch, refused_451, failures=1)
    application = apply(seeker, job)
    event = submitted_event(application)

    result = run(notify_employer_of_application, event)

    assert smtp == ["error", "sent"]
    assert backoff_calls == [0]
    assert result.result == "sent"
    assert len(mail.outbox) == 1
    assert EmailDelivery.objects.get(event_id=event.id).attempts == 2


def test_connection_failure_is_transient(monkeypatch, backoff_calls, seeker, job):
    smtp = failing_send(monkeypatch, lambda: ConnectionRefusedError(111, "refused"), failures=2)
    application = apply(seeker, job)
    event = submitted_event(application)

    result = run(notify_employer_of_application, event)

    assert smtp == ["error", "error", "sent"]
    assert backoff_calls == [0, 1]
    assert result.result == "sent"
    assert len(mail.outbox) == 1
    assert EmailDelivery.objects.get(event_id=event.id).attempts == 3


def test_database_error_while_composing_is_retried(monkeypatch, backoff_calls, seeker, job):
    real_compose = notifications.compose_application_submitted
    calls: list[str] = []

    def flaky_compose(event):
        calls.append("compose")
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return real_compose(event)

    monkeypatch.setattr(notifications, "compose_application_submitted", flaky_compose)
    application = apply(seeker, job)

    result = run(notify_employer_of_application, submitted_event(application))

    assert calls == ["compose", "compose"]
    assert backoff_calls == [0]
    assert result.result == "sent"
    assert len(mail.outbox) == 1


def test_transient_error_on_every_attempt_fails_after_the_last_retry(
    monkeypatch, settings, backoff_calls, seeker, job
):
    settings.NOTIFY_MAX_RETRIES = 2
    smtp = failing_send(monkeypatch, transient_error, failures=None)
    application = apply(seeker, job)
    event = submitted_event(application)

    result = run(notify_employer_of_application, event)

    assert smtp == ["error", "error", "error"]  # the first try and two retries
    assert backoff_calls == [0, 1]
    assert result.state == states.REJECTED
    assert isinstance(result.result, Reject)
    assert result.result.requeue is False
    assert mail.outbox == []
    delivery = EmailDelivery.objects.get(event_id=event.id)
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.attempts == 3
    assert "451" in delivery.last_error
    assert delivery.sent_at is None


def test_with_no_retries_allowed_a_transient_error_is_final(
    monkeypatch, settings, backoff_calls, seeker, job
):
    settings.NOTIFY_MAX_RETRIES = 0
    smtp = failing_send(monkeypatch, transient_error, failures=None)
    application = apply(seeker, job)
    event = submitted_event(application)

    result = run(notify_employer_of_application, event)

    assert smtp == ["error"]
    assert backoff_calls == []
    assert result.state == states.REJECTED
    assert isinstance(result.result, Reject)
    delivery = EmailDelivery.objects.get(event_id=event.id)
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.attempts == 1
    assert "451" in delivery.last_error
    assert mail.outbox == []


def test_database_errors_are_retried_past_the_smtp_retry_limit_and_never_dead_lettered(
    monkeypatch, settings, backoff_calls, seeker, job
):
    # NOTIFY_MAX_RETRIES counts SMTP failures; a database that is away says nothing about the
    # email, so however many times it fails the task waits it out and sends once it is back.
    settings.NOTIFY_MAX_RETRIES = 0
    real_compose = notifications.compose_application_submitted
    calls: list[str] = []

    def compose_while_the_database_is_away(event):
        calls.append("compose")
        if len(calls) <= 3:
            raise OperationalError("could not connect to server")
        return real_compose(event)

    monkeypatch.setattr(
        notifications, "compose_application_submitted", compose_while_the_database_is_away
    )
    application = apply(seeker, job)

    result = run(notify_employer_of_application, submitted_event(application))

    assert result.state == states.SUCCESS
    assert result.result == "sent"
    assert backoff_calls == [0, 1, 2]
    assert len(mail.outbox) == 1


def test_reading_the_event_is_inside_the_retry(monkeypatch, backoff_calls, seeker, job):
    application = apply(seeker, job)
    event = submitted_event(application)
    real_filter = OutboxEvent.objects.filter
    calls: list[str] = []

    def filter_while_the_database_restarts(*args, **kwargs):
        calls.append("read")
        if len(calls) == 1:
            raise OperationalError("the database system is starting up")
        return real_filter(*args, **kwargs)

    monkeypatch.setattr(OutboxEvent.objects, "filter", filter_while_the_database_restarts)

    result = run(notify_employer_of_application, event)

    assert result.result == "sent"
    assert backoff_calls == [0]
    assert len(mail.outbox) == 1


def test_an_email_sent_while_the_database_is_away_is_recorded_not_sent_again(
    monkeypatch, backoff_calls, seeker, job
):
    # The SMTP server took the email, then every write failed: the retry carries the record of
    # the send and writes it, and nothing goes out a second time.
    monkeypatch.setattr(tasks.email.time, "sleep", lambda seconds: None)
    real_update = tasks.email.EmailDelivery.objects.filter
    broken = {"left": tasks.email.RECORD_ATTEMPTS}

    def filter_failing_the_sent_record(*args, **kwargs):
        queryset = real_update(*args, **kwargs)
        if mail.outbox and broken["left"] > 0:
            broken["left"] -= 1
            raise OperationalError("server closed the connection unexpectedly")
        return queryset

    application = apply(seeker, job)
    event = submitted_event(application)
    monkeypatch.setattr(tasks.email.EmailDelivery.objects, "filter", filter_failing_the_sent_record)

    result = run(notify_employer_of_application, event)

    assert result.result == "duplicate"  # the retry found its record written, and sent nothing
    assert backoff_calls == [0]
    assert len(mail.outbox) == 1
    delivery = EmailDelivery.objects.get(event_id=event.id)
    assert delivery.status == DeliveryStatus.SENT
    assert delivery.attempts == 1
    assert delivery.sent_at is not None


def delivery_left_sending(seeker, job) -> tuple[OutboxEvent, tasks.email.Email, EmailDelivery]:
    """An application's email whose first attempt took the lease and recorded no outcome."""
    event = submitted_event(apply(seeker, job))
    email = notifications.compose_application_submitted(event)
    delivery = EmailDelivery.objects.create(
        idempotency_key=f"{event.id}:{email.template}:{email.recipient.lower()}",
        event_id=event.id,
        event_type=event.event_type,
        template=email.template,
        recipient=email.recipient,
        status=DeliveryStatus.SENDING,
        attempts=1,
    )
    return event, email, delivery


def test_a_delivery_being_sent_by_another_attempt_is_left_to_it(seeker, job):
    event, email, delivery = delivery_left_sending(seeker, job)

    with pytest.raises(tasks.email.DeliveryInProgress):
        tasks.email.send_once(event=event, email=email, final_attempt=False)

    assert mail.outbox == []
    delivery.refresh_from_db()
    assert delivery.attempts == 1


def test_an_attempt_that_recorded_no_outcome_is_sent_again_once_its_lease_ran_out(seeker, job):
    event, email, delivery = delivery_left_sending(seeker, job)
    expired = timezone.now() - timedelta(seconds=tasks.email.SENDING_LEASE_SECONDS + 1)
    EmailDelivery.objects.filter(pk=delivery.pk).update(updated_at=expired)

    assert tasks.email.send_once(event=event, email=email, final_attempt=False) == "sent"

    assert len(mail.outbox) == 1
    assert mail.outbox[0].extra_headers["Message-ID"] == tasks.email.message_id_for(
        delivery.idempotency_key
    )
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT
    assert delivery.attempts == 2
    assert delivery.unknown_outcomes == 1  # attempt 1 may have gone out too


# --- permanent failures: no retry, dead-lettered -----------------------------------------------


def _refused_550() -> Exception:
    return smtplib.SMTPRecipientsRefused({"acme_hr@example.com": (550, b"no such user")})


def _rejected_550() -> Exception:
    return smtplib.SMTPResponseException(550, b"mailbox unavailable")


@pytest.mark.parametrize("error", [_refused_550, _rejected_550], ids=["recipients", "response"])
def test_permanent_smtp_error_fails_the_delivery_and_rejects_without_retry(
    monkeypatch, backoff_calls, seeker, job, error: Callable[[], Exception]
):
    smtp = failing_send(monkeypatch, error, failures=None)
    application = apply(seeker, job)
    event = submitted_event(application)

    result = run(notify_employer_of_application, event)

    assert smtp == ["error"]
    assert backoff_calls == []
    assert result.state == states.REJECTED
    assert isinstance(result.result, Reject)
    assert result.result.requeue is False
    assert "550" in str(result.result.reason)
    delivery = EmailDelivery.objects.get(event_id=event.id)
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.attempts == 1
    assert "550" in delivery.last_error
    assert delivery.sent_at is None
    assert mail.outbox == []


def test_redelivered_message_after_a_permanent_failure_tries_once_more(
    monkeypatch, backoff_calls, seeker, job
):
    """A message moved back from the dead-letter queue tries again (once), and records it."""
    smtp = failing_send(monkeypatch, _rejected_550, failures=None)
    application = apply(seeker, job)
    event = submitted_event(application)

    run(notify_employer_of_application, event)
    again = run(notify_employer_of_application, event)

    assert again.state == states.REJECTED
    assert smtp == ["error", "error"]
    delivery = EmailDelivery.objects.get(event_id=event.id)
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.attempts == 2
    assert mail.outbox == []


def test_operator_retry_of_a_failed_delivery_sends_it(monkeypatch, seeker, job, employer):
    application = apply(seeker, job)
    event = submitted_event(application)
    failing_send(monkeypatch, _rejected_550, failures=1)
    run(notify_employer_of_application, event)
    delivery = EmailDelivery.objects.get(event_id=event.id)
    assert delivery.status == DeliveryStatus.FAILED

    monkeypatch.setattr(events, "_publisher", lambda ids: None)
    retried, missing = outbox_services.retry_failed_deliveries(delivery_ids=[delivery.pk])
    result = run(notify_employer_of_application, event)

    assert (retried, missing) == (1, 0)
    assert result.result == "sent"
    [message] = mail.outbox
    assert message.to == [employer.email]
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT
    assert delivery.attempts == 2
    assert delivery.last_error == ""


# --- backoff -----------------------------------------------------------------------------------


def _expected_delay(retries: int) -> float:
    return min(settings.NOTIFY_RETRY_BASE_SECONDS * 2**retries, settings.NOTIFY_RETRY_MAX_SECONDS)


@pytest.fixture
def backoff_settings(settings) -> Any:
    settings.NOTIFY_RETRY_BASE_SECONDS = 2.0
    settings.NOTIFY_RETRY_MAX_SECONDS = 600.0
    return settings


def test_backoff_without_jitter_doubles_from_the_base_up_to_the_cap(monkeypatch, backoff_settings):
    monkeypatch.setattr(notifications.random, "uniform", lambda low, high: (low + high) / 2)

    delays = [backoff_seconds(retries) for retries in range(12)]

    assert delays[:9] == [2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0]
    assert delays[9:] == [600.0, 600.0, 600.0]


def test_backoff_jitter_stays_within_half_either_way(backoff_settings):
    for retries in range(15):
        nominal = _expected_delay(retries)
        samples = [backoff_seconds(retries) for _ in range(300)]
        assert min(samples) >= 0.5 * nominal, retries
        assert max(samples) <= 1.5 * nominal, retries
        # Jitter really spreads retries: 300 uniform draws cover most of the ±50 % band.
        assert min(samples) < 0.75 * nominal, retries
        assert max(samples) > 1.25 * nominal, retries


def test_backoff_never_exceeds_one_and_a_half_times_the_cap(backoff_settings):
    samples = [backoff_seconds(retries) for retries in range(20, 40) for _ in range(50)]

    assert max(samples) <= 1.5 * backoff_settings.NOTIFY_RETRY_MAX_SECONDS
    assert min(samples) >= 0.5 * backoff_settings.NOTIFY_RETRY_MAX_SECONDS
