"""The event pipeline end to end: API → outbox → RabbitMQ → a real Celery worker → an SMTP server.

Each test runs real `celery` processes against the test database and RabbitMQ, and reads what
the SMTP server (aiosmtpd, in this process) received.
"""

from __future__ import annotations

import signal
import time

import pytest

from core.accounts.models import Role
from core.applications import services as application_services
from core.applications.models import Application
from core.jobs import services as job_services
from core.outbox import services as outbox_services
from core.outbox.models import DeliveryStatus, EmailDelivery, OutboxEvent
from tests.conftest import client_for
from tests.e2e.conftest import broker_unreachable, dead_letters, wait_until
from tests.factories import make_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def make_open_job(employer, **fields):
    category = job_services.create_category(name=f"Cat {employer.pk}", slug=f"cat-{employer.pk}")
    return job_services.create_job(
        employer=employer,
        fields={
            "title": fields.pop("title", "Backend Engineer"),
            "description": "Django, PostgreSQL and RabbitMQ.",
            "company_name": "Acme",
            "location": "Berlin",
            "employment_type": "full_time",
            "category": category,
            **fields,
        },
    )


def apply(seeker, job, **body):
    response = client_for(seeker).post(
        "/api/applications/apply/",
        {
            "job": job.pk,
            "cover_letter": body.get("cover_letter", "I have shipped three job boards."),
            "resume_url": "https://example.com/cv.pdf",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    return response.json()


def test_applying_emails_the_employer_exactly_once(start_celery, smtp_sink):
    start_celery()
    employer = make_user(Role.EMPLOYER, username="hiring_manager", first_name="Hana")
    seeker = make_user(Role.JOB_SEEKER, username="sam", first_name="Sam", last_name="Seeker")
    job = make_open_job(employer, title="Staff Platform Engineer")

    application = apply(seeker, job, cover_letter="I love queues.\nAnd idempotency.")

    wait_until(lambda: smtp_sink.count() >= 1, timeout=15, what="the employer's email")
    time.sleep(1.0)  # a second email, if one were coming, would arrive in this time
    assert smtp_sink.count() == 1
    received = smtp_sink.received[0]
    assert received.envelope_to == [employer.email]
    assert "Staff Platform Engineer" in received.message["Subject"]
    assert "Sam Seeker" in received.message["Subject"]
    text = received.text()
    assert "I love queues." in text
    assert "https://example.com/cv.pdf" in text
    assert f"http://localhost:3000/applications/{application['id']}" in text  # the front end's page
    assert "https://example.com/cv.pdf" in received.html()

    delivery = EmailDelivery.objects.get()
    assert delivery.status == DeliveryStatus.SENT
    assert delivery.attempts == 1
    assert delivery.recipient == employer.email
    assert not OutboxEvent.objects.filter(published_at__isnull=True).exists()


def test_status_change_and_withdrawal_email_the_other_party(start_celery, smtp_sink):
    start_celery()
    employer = make_user(Role.EMPLOYER)
    seeker = make_user(Role.JOB_SEEKER)
    job = make_open_job(employer, title="Data Engineer")
    application_id = apply(seeker, job)["id"]
    wait_until(lambda: smtp_sink.count() == 1, timeout=15, what="the application email")

    response = client_for(employer).patch(
        f"/api/applications/{application_id}/status/",
        {"status": "reviewed", "note": "Strong profile."},
        format="json",
    )
    assert response.status_code == 200
    wait_until(lambda: smtp_sink.count() == 2, timeout=15, what="the status email")
    status_email = smtp_sink.received[1]
    assert status_email.envelope_to == [seeker.email]
    assert "Reviewed" in status_email.message["Subject"]
    assert "Strong profile." in status_email.text()

    response = client_for(seeker).post(f"/api/applications/{application_id}/withdraw/")
    assert response.status_code == 200
    wait_until(lambda: smtp_sink.count() == 3, timeout=15, what="the withdrawal email")
    withdrawal = smtp_sink.received[2]
    assert withdrawal.envelope_to == [employer.email]
    assert "withdrew" in withdrawal.message["Subject"]


def test_broker_down_loses_nothing_and_the_sweep_delivers_every_email_once(start_celery, smtp_sink):
    start_celery()
    employer = make_user(Role.EMPLOYER)
    job = make_open_job(employer)
    seekers = [make_user(Role.JOB_SEEKER) for _ in range(50)]

    slowest = 0.0
    with broker_unreachable():
        for seeker in seekers:
            started = time.monotonic()
            apply(seeker, job)
            slowest = max(slowest, time.monotonic() - started)
        assert OutboxEvent.objects.filter(published_at__isnull=True).count() == 50
        assert smtp_sink.count() == 0
    # "Promptly": the broker's absence costs a request milliseconds, nowhere near a timeout.
    assert slowest < 2.0, f"slowest application took {slowest:.2f}s with the broker down"

    # The broker is back; beat's periodic sweep finds the 50 waiting events.
    start_celery("beat")

    wait_until(lambda: smtp_sink.count() >= 50, timeout=60, what="50 emails after recovery")
    time.sleep(1.5)
    message_ids = [received.message_id for received in smtp_sink.received]
    assert len(message_ids) == 50
    assert len(set(message_ids)) == 50
    assert not OutboxEvent.objects.filter(published_at__isnull=True).exists()
    assert EmailDelivery.objects.filter(status=DeliveryStatus.SENT).count() == 50


def test_worker_killed_mid_batch_delivers_each_of_100_emails_exactly_once(start_celery, smtp_sink):
    employer = make_user(Role.EMPLOYER)
    job = make_open_job(employer)
    smtp_sink.delay_seconds = 0.02  # a realistic MTA round trip, so the kill lands mid-batch
    for _ in range(100):
        application_services.apply_to_job(
            applicant=make_user(Role.JOB_SEEKER),
            job=job,
            cover_letter="",
            resume_url="https://example.com/cv.pdf",
        )
    assert OutboxEvent.objects.filter(published_at__isnull=True).count() == 0

    worker = start_celery()
    wait_until(lambda: smtp_sink.count() >= 20, timeout=30, what="the batch to be under way")
    worker.process.send_signal(signal.SIGKILL)
    worker.process.wait(timeout=10)
    killed_at = smtp_sink.count()
    assert killed_at < 100, "the batch finished before the kill; nothing was tested"

    start_celery()
    wait_until(lambda: smtp_sink.count() >= 100, timeout=60, what="all 100 emails")
    time.sleep(2.0)
    message_ids = [received.message_id for received in smtp_sink.received]
    assert len(set(message_ids)) == 100, "an email was lost"
    assert len(message_ids) == 100, "an email was sent twice"
    assert EmailDelivery.objects.filter(status=DeliveryStatus.SENT).count() == 100
    assert Application.objects.count() == 100


def test_smtp_refusing_for_a_while_is_retried_until_it_accepts(start_celery, smtp_sink):
    smtp_sink.refuse_next_data = 2
    start_celery()
    employer = make_user(Role.EMPLOYER)
    apply(make_user(Role.JOB_SEEKER), make_open_job(employer))

    wait_until(lambda: smtp_sink.count() >= 1, timeout=30, what="the email after retries")
    time.sleep(1.0)
    assert smtp_sink.count() == 1
    delivery = EmailDelivery.objects.get()
    assert delivery.status == DeliveryStatus.SENT
    assert delivery.attempts == 3
    assert delivery.last_error == ""


def test_a_permanently_refused_email_is_failed_and_dead_lettered(start_celery, smtp_sink):
    start_celery()
    employer = make_user(Role.EMPLOYER, username="bounces")
    smtp_sink.refuse_recipients[employer.email] = "550 5.1.1 No such mailbox"
    apply(make_user(Role.JOB_SEEKER), make_open_job(employer))

    def failed() -> bool:
        return EmailDelivery.objects.filter(status=DeliveryStatus.FAILED).exists()

    wait_until(failed, timeout=15, what="the delivery to be marked failed")
    delivery = EmailDelivery.objects.get()
    assert delivery.attempts == 1  # a 5xx is not worth retrying
    assert "550" in delivery.last_error
    event_id = str(delivery.event_id)
    wait_until(lambda: bool(dead_letters()), timeout=10, what="the dead-lettered message")
    assert {
        "task": "tasks.notifications.notify_employer_of_application",
        "args": [event_id],
    } in dead_letters()
    assert smtp_sink.count() == 0


def test_transient_failures_past_the_last_retry_are_failed_and_dead_lettered(
    start_celery, smtp_sink
):
    start_celery()  # NOTIFY_MAX_RETRIES=3 in the workers' environment
    employer = make_user(Role.EMPLOYER, username="greylisted")
    smtp_sink.refuse_recipients[employer.email] = "451 4.7.1 Greylisted, try again later"
    apply(make_user(Role.JOB_SEEKER), make_open_job(employer))

    def failed() -> bool:
        return EmailDelivery.objects.filter(status=DeliveryStatus.FAILED).exists()

    wait_until(failed, timeout=30, what="the retries to run out")
    delivery = EmailDelivery.objects.get()
    assert delivery.attempts == 4  # the first try and three retries
    assert "451" in delivery.last_error
    wait_until(lambda: bool(dead_letters()), timeout=10, what="the dead-lettered message")
    assert [letter["args"] for letter in dead_letters()] == [[str(delivery.event_id)]]

    # An operator fixes the mailbox and retries from the admin: the email goes out once.
    smtp_sink.refuse_recipients.clear()
    assert outbox_services.retry_failed_deliveries(delivery_ids=[delivery.pk]) == (1, 0)
    wait_until(lambda: smtp_sink.count() == 1, timeout=15, what="the retried email")
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT


def test_replaying_an_event_sends_no_second_email(start_celery, smtp_sink):
    start_celery()
    employer = make_user(Role.EMPLOYER)
    apply(make_user(Role.JOB_SEEKER), make_open_job(employer))
    wait_until(lambda: smtp_sink.count() == 1, timeout=15, what="the first email")

    event_ids = list(OutboxEvent.objects.values_list("id", flat=True))
    assert outbox_services.replay_events(event_ids=event_ids) == len(event_ids)
    wait_until(
        lambda: not OutboxEvent.objects.filter(published_at__isnull=True).exists(),
        timeout=15,
        what="the replay to be published",
    )
    time.sleep(1.5)
    assert smtp_sink.count() == 1
    assert EmailDelivery.objects.get().attempts == 1
