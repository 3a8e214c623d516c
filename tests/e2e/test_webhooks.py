"""Webhooks end to end: API → outbox → RabbitMQ → real Celery worker (and beat, for retries) →
a real HTTP receiver in this process that verifies every request with `standardwebhooks`.

The worker runs with what tests and development open (`WEBHOOK_ALLOW_HTTP`, 127.0.0.0/8) and a
short retry schedule.
"""

from __future__ import annotations

import time

import pytest

from core.accounts.models import Role
from core.webhooks.models import WebhookDelivery, WebhookDeliveryStatus, WebhookEndpoint
from tests.conftest import client_for
from tests.e2e.conftest import wait_until
from tests.e2e.test_pipeline import apply, make_open_job
from tests.factories import make_user
from tests.webhook_receiver import webhook_receiver

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

WEBHOOK_ENV = {
    "WEBHOOK_ALLOW_HTTP": "true",
    "WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
    "WEBHOOK_RETRY_SCHEDULE": "1,1,1",
    "WEBHOOK_SWEEP_SECONDS": "0.5",
    "WEBHOOK_TIMEOUT_SECONDS": "8",
}


@pytest.fixture(autouse=True)
def _local_receivers(settings):
    settings.WEBHOOK_ALLOW_HTTP = True
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]


@pytest.fixture
def start_webhook_workers(start_celery):
    def start(*, beat: bool = False, concurrency: int = 2):
        start_celery(concurrency=concurrency, **WEBHOOK_ENV)
        if beat:
            start_celery("beat", **WEBHOOK_ENV)

    return start


def register(employer, url: str, events=("application.submitted",)) -> dict:
    response = client_for(employer).post(
        "/api/webhooks/", {"url": url, "events": list(events)}, format="json"
    )
    assert response.status_code == 201, response.content
    return response.json()


def delivery_of(endpoint_id: int) -> WebhookDelivery:
    return WebhookDelivery.objects.get(endpoint_id=endpoint_id)


def test_an_application_reaches_its_employers_receiver_signed_and_no_one_elses(
    start_webhook_workers,
):
    start_webhook_workers()
    employer, rival = make_user(Role.EMPLOYER), make_user(Role.EMPLOYER)
    seeker = make_user(Role.JOB_SEEKER)
    job = make_open_job(employer, title="Platform Engineer")
    make_open_job(rival, title="Rival job")
    with webhook_receiver() as receiver, webhook_receiver() as rivals:
        mine = register(employer, receiver.url)
        theirs = register(rival, rivals.url, events=("application.submitted", "job.published"))
        receiver.secrets.append(mine["secret"])
        rivals.secrets.append(theirs["secret"])

        application = apply(seeker, job)

        wait_until(lambda: receiver.count() == 1, timeout=20, what="the employer's webhook")
        time.sleep(1.0)  # a duplicate, or the rival's copy, would arrive in this time
        assert receiver.count() == 1
        assert rivals.count() == 0
        [request] = receiver.received
    assert request.verified_with == [mine["secret"]]
    assert request.payload["type"] == "application.submitted"
    assert request.payload["data"]["id"] == application["id"]
    assert request.payload["data"]["job"]["title"] == "Platform Engineer"
    delivery = delivery_of(mine["id"])
    wait_until(
        lambda: WebhookDelivery.objects.get(pk=delivery.pk).status == "succeeded",
        timeout=10,
        what="the delivery to be recorded",
    )
    assert request.webhook_id == delivery.message_id


def test_500_twice_then_200_is_three_attempts_of_one_webhook_id(start_webhook_workers):
    start_webhook_workers(beat=True)
    employer, seeker = make_user(Role.EMPLOYER), make_user(Role.JOB_SEEKER)
    job = make_open_job(employer)
    with webhook_receiver(answers=[500, 500]) as receiver:
        endpoint = register(employer, receiver.url)
        receiver.secrets.append(endpoint["secret"])
        apply(seeker, job)
        wait_until(lambda: receiver.count() == 3, timeout=30, what="three attempts")
        requests = list(receiver.received)
    assert len({request.webhook_id for request in requests}) == 1
    assert len({request.body for request in requests}) == 1
    assert all(request.verified_with == [endpoint["secret"]] for request in requests)
    wait_until(
        lambda: delivery_of(endpoint["id"]).status == WebhookDeliveryStatus.SUCCEEDED,
        timeout=10,
        what="the delivery to succeed",
    )
    delivery = delivery_of(endpoint["id"])
    assert [a.status_code for a in delivery.attempts.all()] == [500, 500, 200]
    detail = client_for(employer).get(f"/api/webhooks/{endpoint['id']}/deliveries/{delivery.pk}/")
    assert [a["status_code"] for a in detail.json()["attempts"]] == [500, 500, 200]


def test_410_disables_the_endpoint_and_emails_the_employer(start_webhook_workers, smtp_sink):
    start_webhook_workers()
    employer, seeker = make_user(Role.EMPLOYER), make_user(Role.JOB_SEEKER)
    job = make_open_job(employer)
    with webhook_receiver(answers=[410]) as receiver:
        endpoint = register(employer, receiver.url)
        apply(seeker, job)
        wait_until(
            lambda: not WebhookEndpoint.objects.get(pk=endpoint["id"]).is_active,
            timeout=20,
            what="the endpoint to be disabled",
        )
        assert receiver.count() == 1
    assert delivery_of(endpoint["id"]).status == WebhookDeliveryStatus.FAILED

    def disabled_email():
        return [m for m in smtp_sink.received if "webhook endpoint" in m.message["Subject"]]

    wait_until(lambda: disabled_email(), timeout=20, what="the email about the disabled endpoint")
    [email] = disabled_email()
    assert email.envelope_to == [employer.email]
    assert "410" in email.text()
    assert receiver.url in email.text()
    # The link is the front end's page for the endpoint, not the API's JSON (which needs a token).
    assert f"http://localhost:3000/webhooks/{endpoint['id']}" in email.text()
    assert "/api/webhooks/" not in email.text()


def test_after_a_rotation_requests_verify_with_the_old_and_the_new_secret(
    start_webhook_workers,
):
    start_webhook_workers()
    employer, seeker = make_user(Role.EMPLOYER), make_user(Role.JOB_SEEKER)
    job = make_open_job(employer)
    with webhook_receiver() as receiver:
        endpoint = register(employer, receiver.url)
        rotated = client_for(employer).post(f"/api/webhooks/{endpoint['id']}/rotate-secret/")
        assert rotated.status_code == 200
        old, new = endpoint["secret"], rotated.json()["secret"]
        receiver.secrets.extend([old, new])
        apply(seeker, job)
        wait_until(lambda: receiver.count() == 1, timeout=20, what="the webhook")
        [request] = receiver.received
    assert sorted(request.verified_with) == sorted([old, new])
    assert len(request.headers["webhook-signature"].split(" ")) == 2


def test_a_receiver_that_never_answers_does_not_delay_a_healthy_one(start_webhook_workers):
    start_webhook_workers(concurrency=2)
    stuck_employer, healthy_employer = make_user(Role.EMPLOYER), make_user(Role.EMPLOYER)
    seekers = [make_user(Role.JOB_SEEKER) for _ in range(3)]
    stuck_job = make_open_job(stuck_employer, title="Stuck")
    healthy_job = make_open_job(healthy_employer, title="Healthy")
    with webhook_receiver(hang=True) as stuck, webhook_receiver() as healthy:
        stuck_endpoint = register(stuck_employer, stuck.url)
        register(healthy_employer, healthy.url)
        for seeker in seekers:  # queued first: three deliveries to the endpoint that hangs
            apply(seeker, stuck_job)
        wait_until(
            lambda: WebhookEndpoint.objects.get(pk=stuck_endpoint["id"]).busy_until is not None,
            timeout=20,
            what="an attempt to the hanging receiver to start",
        )
        apply(seekers[0], healthy_job)
        wait_until(lambda: healthy.count() == 1, timeout=20, what="the healthy webhook")
        # The healthy one arrived while the hanging receiver still held its first attempt
        # (WEBHOOK_TIMEOUT_SECONDS=8), and the other two waited without taking a process.
        stuck_attempts = WebhookDelivery.objects.filter(
            endpoint_id=stuck_endpoint["id"], attempts__isnull=False
        ).count()
        assert stuck_attempts == 0
        assert stuck.count() == 1  # one request held, the other two not sent yet
        assert WebhookDelivery.objects.filter(endpoint_id=stuck_endpoint["id"]).count() == 3
