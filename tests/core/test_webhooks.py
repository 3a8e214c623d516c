"""Webhooks without a worker: the API (tenancy, the secret shown once, SSRF refusals with a
code), and attempts run in this process against a real receiver (`http.server` in a thread)
that verifies every request with `standardwebhooks`."""

from __future__ import annotations

import json
import socket
from datetime import timedelta

import pytest
from django.utils import timezone

from core.outbox.models import OutboxEvent
from core.webhooks import selectors, services
from core.webhooks.models import WebhookDelivery, WebhookDeliveryStatus, WebhookEndpoint
from tasks import webhooks as webhook_tasks
from tests.conftest import client_for
from tests.webhook_receiver import webhook_receiver

pytestmark = pytest.mark.django_db

PUBLIC_URL = "https://93.184.215.14/hooks"
ALL_EVENTS = list(services.SUBSCRIBABLE_EVENTS)


@pytest.fixture
def local_receivers_allowed(settings):
    """What the tests and development open: plain http and 127.0.0.0/8."""
    settings.WEBHOOK_ALLOW_HTTP = True
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    settings.WEBHOOK_TIMEOUT_SECONDS = 2
    settings.WEBHOOK_RETRY_SCHEDULE = [1, 1]


@pytest.fixture
def fake_dns(monkeypatch):
    """Names a test resolves to addresses of its choice (a list of answers, one per lookup;
    the last one repeats); IP literals and other names resolve as usual."""
    answers: dict[str, list[str]] = {}
    lookups: list[str] = []
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host in answers:
            lookups.append(host)
            queue = answers[host]
            address = queue.pop(0) if len(queue) > 1 else queue[0]
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            return [(family, socket.SOCK_STREAM, 6, "", (address, port or 443))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    answers["lookups"] = lookups  # type: ignore[assignment]
    return answers


def create(client, url=PUBLIC_URL, events=None, **extra):
    return client.post(
        "/api/webhooks/",
        {"url": url, "events": events or ALL_EVENTS, "description": "ATS", **extra},
        format="json",
    )


# --- The API --------------------------------------------------------------------------------


def test_an_employer_creates_an_endpoint_and_sees_its_secret_once(employer_client):
    response = create(employer_client)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["secret"].startswith("whsec_")
    assert set(body) == {"id", "url", "events", "description", "is_active", "created_at", "secret"}
    assert body["is_active"] is True
    assert body["events"] == ALL_EVENTS

    listed = employer_client.get("/api/webhooks/").json()
    read = employer_client.get(f"/api/webhooks/{body['id']}/").json()
    assert "secret" not in read
    assert "secret" not in str(listed)
    assert [item["id"] for item in listed["results"]] == [body["id"]]


def test_another_employers_endpoint_is_404_everywhere(employer_client, other_employer_client):
    endpoint_id = create(employer_client).json()["id"]
    base = f"/api/webhooks/{endpoint_id}/"
    assert other_employer_client.get(base).status_code == 404
    assert other_employer_client.patch(base, {"description": "x"}, format="json").status_code == 404
    assert other_employer_client.post(f"{base}rotate-secret/").status_code == 404
    assert other_employer_client.post(f"{base}ping/").status_code == 404
    assert other_employer_client.get(f"{base}deliveries/").status_code == 404
    assert other_employer_client.delete(base).status_code == 404
    assert other_employer_client.get("/api/webhooks/").json()["results"] == []
    assert WebhookEndpoint.objects.filter(pk=endpoint_id, description="ATS").exists()


def test_a_job_seeker_cannot_register_an_endpoint(seeker_client):
    assert create(seeker_client).status_code == 403


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("https://localhost/hooks", "address_not_allowed"),
        ("https://127.0.0.1/hooks", "address_not_allowed"),
        ("https://[::1]/hooks", "address_not_allowed"),
        ("https://10.0.0.1/hooks", "address_not_allowed"),
        ("https://169.254.169.254/latest/meta-data/", "address_not_allowed"),
        ("https://100.64.0.1/hooks", "address_not_allowed"),
        ("https://224.0.0.1/hooks", "address_not_allowed"),
        ("https://240.0.0.1/hooks", "address_not_allowed"),
        ("https://0.0.0.0/hooks", "address_not_allowed"),
        ("https://[::ffff:127.0.0.1]/hooks", "address_not_allowed"),
        ("https://[::ffff:93.184.215.14]/hooks", "address_not_allowed"),
        ("https://[fe80::1]/hooks", "address_not_allowed"),
        ("http://93.184.215.14/hooks", "https_required"),
        ("ftp://93.184.215.14/hooks", "https_required"),
        ("https://user:secret@93.184.215.14/hooks", "credentials_in_url"),
        ("https://token@93.184.215.14/hooks", "credentials_in_url"),
        ("https:///hooks", "invalid_url"),
        ("https://93.184.215.14:99999/hooks", "invalid_url"),
    ],
)
def test_unsafe_urls_are_refused_with_a_field_error_and_a_code(employer_client, url, code):
    response = create(employer_client, url=url)
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == code, body
    assert body["url"]
    assert isinstance(body["url"][0], str)
    assert not WebhookEndpoint.objects.exists()


def test_a_name_resolving_to_a_private_address_is_refused(employer_client, fake_dns):
    fake_dns["ats.internal.example"] = ["10.1.2.3"]
    response = create(employer_client, url="https://ats.internal.example/hooks")
    assert response.status_code == 400
    assert response.json()["code"] == "address_not_allowed"


def test_the_settings_open_http_and_named_networks(employer_client, settings):
    settings.WEBHOOK_ALLOW_HTTP = True
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    assert create(employer_client, url="http://127.0.0.1:9/hooks").status_code == 201
    # Only the named network: the rest stays closed.
    refused = create(employer_client, url="http://10.0.0.1/hooks")
    assert refused.status_code == 400
    assert refused.json()["code"] == "address_not_allowed"


@pytest.mark.parametrize("events", [["application.deleted"], [], "job.published"])
def test_unknown_or_missing_event_types_are_refused(employer_client, events):
    response = employer_client.post(
        "/api/webhooks/", {"url": PUBLIC_URL, "events": events}, format="json"
    )
    assert response.status_code == 400, response.content
    assert "events" in response.json()
    assert response.json()["code"]


def test_patch_rechecks_the_url_and_pauses(employer_client):
    endpoint_id = create(employer_client).json()["id"]
    url = f"/api/webhooks/{endpoint_id}/"
    refused = employer_client.patch(url, {"url": "https://10.0.0.1/x"}, format="json")
    assert refused.status_code == 400
    assert refused.json()["code"] == "address_not_allowed"
    paused = employer_client.patch(url, {"is_active": False}, format="json")
    assert paused.status_code == 200
    assert paused.json()["is_active"] is False
    assert WebhookEndpoint.objects.get(pk=endpoint_id).url == PUBLIC_URL
    assert employer_client.delete(url).status_code == 204
    assert employer_client.get(url).status_code == 404


def test_rotation_answers_a_new_secret_and_both_sign(employer_client):
    endpoint_id = create(employer_client).json()["id"]
    old = WebhookEndpoint.objects.get(pk=endpoint_id).secret
    response = employer_client.post(f"/api/webhooks/{endpoint_id}/rotate-secret/")
    assert response.status_code == 200
    new = response.json()["secret"]
    assert new.startswith("whsec_")
    assert new != old
    endpoint = WebhookEndpoint.objects.get(pk=endpoint_id)
    assert endpoint.signing_secrets() == [new, old]
    later = timezone.now() + timedelta(hours=25)
    assert endpoint.signing_secrets(now=later) == [new]


# --- Deliveries, attempted in this process ----------------------------------------------------


def endpoint_for(employer, url, events=None) -> WebhookEndpoint:
    return services.create_endpoint(
        employer=employer, url=url, event_types=events or ALL_EVENTS, description=""
    )


def deliveries_of_event(event_type: str, monkeypatch) -> list[WebhookDelivery]:
    """Run the subscriber for the newest event of `event_type`, keeping the attempts it would
    start; return the deliveries it created."""
    started: list = []
    monkeypatch.setattr(webhook_tasks, "start_attempts", started.extend)
    event = OutboxEvent.objects.filter(event_type=event_type).latest("occurred_at")
    # The tests' fixtures make the event's subject first; their endpoints count as registered
    # before it happened (an endpoint younger than an event never hears of it: tested below).
    WebhookEndpoint.objects.update(created_at=event.occurred_at - timedelta(seconds=1))
    webhook_tasks.create_deliveries(str(event.id))
    webhook_tasks.create_deliveries(str(event.id))  # relayed twice: still one row per endpoint
    deliveries = list(WebhookDelivery.objects.filter(event_id=event.id))
    assert sorted(started) == sorted([d.id for d in deliveries] * 2)
    return deliveries


def test_an_application_is_delivered_signed_with_its_snapshot(
    local_receivers_allowed, employer, other_employer, application, monkeypatch
):
    with webhook_receiver() as receiver, webhook_receiver() as other:
        endpoint = endpoint_for(employer, receiver.url)
        receiver.secrets.append(endpoint.secret)
        endpoint_for(other_employer, other.url)
        [delivery] = deliveries_of_event("application.submitted", monkeypatch)
        # An edit after the event changes nothing that is sent.
        application.cover_letter = "Edited later."
        application.save()

        result = services.attempt_delivery(delivery_id=delivery.id)

        assert result.outcome == "succeeded"
        assert other.count() == 0
        [request] = receiver.received
    assert request.verified_with == [endpoint.secret]
    assert request.webhook_id == f"msg_{delivery.id.hex}"
    assert request.headers["content-type"] == "application/json"
    payload = request.payload
    assert payload["type"] == "application.submitted"
    data = payload["data"]
    assert data["id"] == application.pk
    assert data["status"] == "submitted"
    assert data["cover_letter"] == "I love APIs."
    assert data["resume_url"] == "https://example.com/alice.pdf"
    assert data["job"]["id"] == application.job_id
    assert data["job"]["title"]
    assert data["applicant"]["username"]
    assert data["applicant"]["email"]
    assert data["created_at"]
    delivery.refresh_from_db()
    assert delivery.status == WebhookDeliveryStatus.SUCCEEDED
    [attempt] = delivery.attempts.all()
    assert attempt.status_code == 200
    assert attempt.response_excerpt == "answered 200"


def test_an_endpoint_registered_after_an_event_never_hears_of_it(
    local_receivers_allowed, employer, job, monkeypatch
):
    """The relay may deliver an event late (a broker outage): an endpoint registered in the
    meantime gets no delivery for what happened before it existed."""
    started: list = []
    monkeypatch.setattr(webhook_tasks, "start_attempts", started.extend)
    event = OutboxEvent.objects.filter(event_type="job.published").latest("occurred_at")
    endpoint_for(employer, "http://127.0.0.1:9/late")

    assert webhook_tasks.create_deliveries(str(event.id)) == 0
    assert not WebhookDelivery.objects.filter(event_id=event.id).exists()
    assert started == []


def test_an_endpoint_hears_only_of_its_event_types(
    local_receivers_allowed, employer, job, monkeypatch
):
    endpoint_for(employer, "http://127.0.0.1:9/a", events=["application.submitted"])
    wanted = endpoint_for(employer, "http://127.0.0.1:9/b", events=["job.published"])
    [delivery] = deliveries_of_event("job.published", monkeypatch)
    assert delivery.endpoint_id == wanted.pk
    assert delivery.body.startswith('{"type":"job.published"')
    # The job as its public detail shows it.
    public = client_for(None).get(f"/api/jobs/{job.pk}/").json()
    assert json.loads(delivery.body)["data"] == public


def test_500_twice_then_200_is_three_attempts_with_one_webhook_id(
    local_receivers_allowed, employer, application, monkeypatch
):
    with webhook_receiver(answers=[500, 500]) as receiver:
        endpoint = endpoint_for(employer, receiver.url)
        receiver.secrets.append(endpoint.secret)
        [delivery] = deliveries_of_event("application.submitted", monkeypatch)
        outcomes = []
        for _ in range(3):
            outcomes.append(services.attempt_delivery(delivery_id=delivery.id).outcome)
            # Not due yet (or ended): a second run sends nothing.
            again = services.attempt_delivery(delivery_id=delivery.id).outcome
            assert again == ("done" if outcomes[-1] == "succeeded" else "not_due")
            WebhookDelivery.objects.filter(pk=delivery.id).update(next_attempt_at=timezone.now())
        ids = {request.webhook_id for request in receiver.received}
        bodies = {request.body for request in receiver.received}
    assert outcomes == ["retry", "retry", "succeeded"]
    assert ids == {delivery.message_id}
    assert len(bodies) == 1
    delivery.refresh_from_db()
    assert delivery.status == WebhookDeliveryStatus.SUCCEEDED
    assert [a.status_code for a in delivery.attempts.all()] == [500, 500, 200]


def test_the_schedule_runs_out_then_the_delivery_fails(
    local_receivers_allowed, employer, application, monkeypatch
):
    with webhook_receiver(default_status=500) as receiver:
        endpoint_for(employer, receiver.url)
        [delivery] = deliveries_of_event("application.submitted", monkeypatch)
        before = timezone.now()
        outcome = services.attempt_delivery(delivery_id=delivery.id).outcome
        delivery.refresh_from_db()
        assert outcome == "retry"
        assert before + timedelta(seconds=1) <= delivery.next_attempt_at
        for _ in range(2):
            WebhookDelivery.objects.filter(pk=delivery.id).update(next_attempt_at=timezone.now())
            outcome = services.attempt_delivery(delivery_id=delivery.id).outcome
    assert outcome == "failed"
    delivery.refresh_from_db()
    assert delivery.status == WebhookDeliveryStatus.FAILED
    assert delivery.next_attempt_at is None
    assert delivery.attempts.count() == 3


def test_410_disables_the_endpoint_and_records_the_event(
    local_receivers_allowed, employer, application, monkeypatch
):
    with webhook_receiver(answers=[410]) as receiver:
        endpoint = endpoint_for(employer, receiver.url)
        [delivery] = deliveries_of_event("application.submitted", monkeypatch)
        assert services.attempt_delivery(delivery_id=delivery.id).outcome == "gone"
    endpoint.refresh_from_db()
    assert not endpoint.is_active
    assert endpoint.disabled_reason == "gone"
    delivery.refresh_from_db()
    assert delivery.status == WebhookDeliveryStatus.FAILED
    event = OutboxEvent.objects.get(event_type="webhook.endpoint_disabled")
    assert event.payload == {
        "endpoint_id": endpoint.pk,
        "employer_id": employer.pk,
        "reason": "gone",
    }


@pytest.mark.parametrize("status", [429, 503])
def test_429_and_503_honour_retry_after(
    local_receivers_allowed, settings, employer, application, monkeypatch, status
):
    settings.WEBHOOK_RETRY_SCHEDULE = [1, 600]
    with webhook_receiver(answers=[status], headers_to_send={"Retry-After": "120"}) as receiver:
        endpoint_for(employer, receiver.url)
        [delivery] = deliveries_of_event("application.submitted", monkeypatch)
        before = timezone.now()
        assert services.attempt_delivery(delivery_id=delivery.id).outcome == "retry"
    delivery.refresh_from_db()
    waited = (delivery.next_attempt_at - before).total_seconds()
    assert 119 <= waited <= 125


def test_a_redirect_is_not_followed_and_counts_as_a_failure(
    local_receivers_allowed, employer, application, monkeypatch
):
    with webhook_receiver() as target:
        location = {"Location": target.url}
        with webhook_receiver(answers=[302], headers_to_send=location) as receiver:
            endpoint_for(employer, receiver.url)
            [delivery] = deliveries_of_event("application.submitted", monkeypatch)
            assert services.attempt_delivery(delivery_id=delivery.id).outcome == "retry"
        assert target.count() == 0
    [attempt] = delivery.attempts.all()
    assert attempt.status_code == 302
    assert "not followed" in attempt.error


def test_failing_for_the_disable_window_disables_the_endpoint(
    local_receivers_allowed, employer, application, monkeypatch
):
    with webhook_receiver(default_status=500) as receiver:
        endpoint = endpoint_for(employer, receiver.url)
        [delivery] = deliveries_of_event("application.submitted", monkeypatch)
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
            failing_since=timezone.now() - timedelta(hours=72, minutes=1)
        )
        services.attempt_delivery(delivery_id=delivery.id)
    endpoint.refresh_from_db()
    assert not endpoint.is_active
    assert endpoint.disabled_reason == "failing"
    assert OutboxEvent.objects.filter(
        event_type="webhook.endpoint_disabled", payload__reason="failing"
    ).exists()


def test_a_success_ends_the_failure_streak(
    local_receivers_allowed, employer, application, monkeypatch
):
    with webhook_receiver(answers=[500]) as receiver:
        endpoint = endpoint_for(employer, receiver.url)
        [delivery] = deliveries_of_event("application.submitted", monkeypatch)
        services.attempt_delivery(delivery_id=delivery.id)
        endpoint.refresh_from_db()
        assert endpoint.failing_since is not None
        WebhookDelivery.objects.filter(pk=delivery.id).update(next_attempt_at=timezone.now())
        services.attempt_delivery(delivery_id=delivery.id)
    endpoint.refresh_from_db()
    assert endpoint.failing_since is None
    assert endpoint.is_active


def test_a_dns_answer_that_changes_after_saving_is_checked_again(
    local_receivers_allowed, employer, application, monkeypatch, fake_dns
):
    with webhook_receiver() as receiver:
        port = receiver.url.split(":")[2].split("/")[0]
        # Public when saved, loopback outside the allowed networks when delivered.
        fake_dns["ats.example.test"] = ["93.184.215.14", "127.0.0.2"]
        monkeypatch.setattr(
            services.settings, "WEBHOOK_ALLOWED_NETWORKS", ["93.184.215.14/32"], raising=False
        )
        endpoint_for(employer, f"http://ats.example.test:{port}/hooks")
        [delivery] = deliveries_of_event("application.submitted", monkeypatch)
        monkeypatch.setattr(services.settings, "WEBHOOK_ALLOWED_NETWORKS", [], raising=False)
        assert services.attempt_delivery(delivery_id=delivery.id).outcome == "retry"
        assert receiver.count() == 0
    [attempt] = delivery.attempts.all()
    assert attempt.status_code is None
    assert "refused before connecting" in attempt.error


def test_the_connection_goes_to_the_checked_address(
    local_receivers_allowed, employer, application, monkeypatch, fake_dns
):
    with webhook_receiver() as receiver:
        endpoint = endpoint_for(employer, receiver.url)
        port = receiver.url.split(":")[2].split("/")[0]
        # The check resolves the name once; a second lookup (a rebinding answer) would point
        # at a closed port of another address: the request must not make one.
        fake_dns["hooks.example.test"] = ["127.0.0.1", "127.0.0.3"]
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
            url=f"http://hooks.example.test:{port}/hooks"
        )
        [delivery] = deliveries_of_event("application.submitted", monkeypatch)
        assert services.attempt_delivery(delivery_id=delivery.id).outcome == "succeeded"
        [request] = receiver.received
    assert fake_dns["lookups"] == ["hooks.example.test"]
    assert request.headers["host"] == f"hooks.example.test:{port}"


def test_one_attempt_per_endpoint_at_a_time(
    local_receivers_allowed, employer, application, job, monkeypatch
):
    with webhook_receiver() as receiver:
        endpoint = endpoint_for(employer, receiver.url)
        [first] = deliveries_of_event("application.submitted", monkeypatch)
        [second] = deliveries_of_event("job.published", monkeypatch)
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
            busy_until=timezone.now() + timedelta(seconds=30)
        )
        assert services.attempt_delivery(delivery_id=first.id).outcome == "busy"
        assert selectors.due_delivery_ids() == []
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(busy_until=None)
        assert len(selectors.due_delivery_ids()) == 1  # the oldest due one per endpoint
        result = services.attempt_delivery(delivery_id=second.id)
        assert result.outcome == "succeeded"
        assert result.next_delivery_id == first.id


def test_ping_and_redeliver_keep_the_webhook_id_and_body(
    local_receivers_allowed, employer, employer_client
):
    with webhook_receiver() as receiver:
        endpoint = endpoint_for(employer, receiver.url)
        receiver.secrets.append(endpoint.secret)
        response = employer_client.post(f"/api/webhooks/{endpoint.pk}/ping/")
        assert response.status_code == 202
        delivery_id = response.json()["id"]
        assert services.attempt_delivery(delivery_id=delivery_id).outcome == "succeeded"
        again = employer_client.post(
            f"/api/webhooks/{endpoint.pk}/deliveries/{delivery_id}/redeliver/"
        )
        assert again.status_code == 202
        assert again.json()["status"] == "pending"
        assert services.attempt_delivery(delivery_id=delivery_id).outcome == "succeeded"
        first, second = receiver.received
    assert first.payload["type"] == "webhook.ping"
    assert first.webhook_id == second.webhook_id
    assert first.body == second.body
    assert second.verified_with == [endpoint.secret]

    log = employer_client.get(f"/api/webhooks/{endpoint.pk}/deliveries/").json()
    assert [(d["id"], d["status"], d["attempts"]) for d in log["results"]] == [
        (delivery_id, "succeeded", 2)
    ]
    detail = employer_client.get(f"/api/webhooks/{endpoint.pk}/deliveries/{delivery_id}/")
    attempts = detail.json()["attempts"]
    assert [a["status_code"] for a in attempts] == [200, 200]
    assert all(a["duration_ms"] >= 0 and a["error"] == "" for a in attempts)


def test_another_employer_cannot_read_or_redeliver_a_delivery(
    employer, employer_client, other_employer_client
):
    endpoint = endpoint_for(employer, PUBLIC_URL)
    delivery = services.ping(endpoint=endpoint)
    base = f"/api/webhooks/{endpoint.pk}/deliveries/{delivery.pk}/"
    assert other_employer_client.get(base).status_code == 404
    assert other_employer_client.post(f"{base}redeliver/").status_code == 404
    assert employer_client.get(base).status_code == 200


def test_housekeeping_prunes_old_ended_deliveries(employer, settings):
    endpoint = endpoint_for(employer, PUBLIC_URL)
    old, recent = services.ping(endpoint=endpoint), services.ping(endpoint=endpoint)
    WebhookDelivery.objects.filter(pk__in=[old.pk, recent.pk]).update(status="succeeded")
    WebhookDelivery.objects.filter(pk=old.pk).update(
        updated_at=timezone.now() - timedelta(days=settings.WEBHOOK_RETENTION_DAYS + 1)
    )
    from tasks.maintenance import housekeeping

    assert housekeeping()["webhook_deliveries"] == 1
    assert list(WebhookDelivery.objects.values_list("pk", flat=True)) == [recent.pk]


# --- Operators: the admin and the management command -----------------------------------------


def test_operators_read_the_log_and_redeliver_in_the_admin(employer, admin_user, client):
    endpoint = endpoint_for(employer, PUBLIC_URL)
    delivery = services.ping(endpoint=endpoint)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status="failed", next_attempt_at=None)
    client.force_login(admin_user)
    page = client.get(f"/admin/core/webhookdelivery/{delivery.pk}/change/")
    assert page.status_code == 200
    endpoint_page = client.get(f"/admin/core/webhookendpoint/{endpoint.pk}/change/")
    assert endpoint_page.status_code == 200
    assert endpoint.secret not in endpoint_page.content.decode()
    response = client.post(
        "/admin/core/webhookdelivery/",
        {"action": "redeliver", "_selected_action": [str(delivery.pk)]},
    )
    assert response.status_code == 302
    delivery.refresh_from_db()
    assert delivery.status == "pending"
    assert delivery.next_attempt_at is not None


def test_the_command_lists_and_redelivers(employer):
    from io import StringIO

    from django.core.management import CommandError, call_command

    endpoint = endpoint_for(employer, PUBLIC_URL)
    delivery = services.ping(endpoint=endpoint)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status="failed", next_attempt_at=None)
    out = StringIO()
    call_command("webhook_deliveries", "list", "--status", "failed", stdout=out)
    assert str(delivery.pk) in out.getvalue()
    assert PUBLIC_URL in out.getvalue()
    out = StringIO()
    call_command("webhook_deliveries", "redeliver", "--failed-since", "1h", stdout=out)
    assert "Redelivered 1" in out.getvalue()
    delivery.refresh_from_db()
    assert delivery.status == "pending"
    with pytest.raises(CommandError):
        call_command("webhook_deliveries", "redeliver", "not-a-uuid")
    with pytest.raises(CommandError):
        call_command("webhook_deliveries", "redeliver")


def test_an_invalid_event_list_item_is_a_flat_field_error(employer_client):
    response = employer_client.post("/api/webhooks/", {"url": "0", "events": [{}]}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_choice"
    assert all(isinstance(message, str) for message in body["events"])
    assert body["events"][0].startswith("Item 0:")


def test_an_attempt_that_recorded_no_outcome_counts_as_failed_once_its_lease_ran_out(
    local_receivers_allowed, employer, application, monkeypatch
):
    endpoint = endpoint_for(employer, "http://127.0.0.1:9/hooks")
    [delivery] = deliveries_of_event("application.submitted", monkeypatch)
    services._claim(delivery.id)  # a worker took the attempt, then died before recording it
    # Within the lease nothing happens (the attempt may still be running).
    assert services.attempt_delivery(delivery_id=delivery.id).outcome == "not_due"
    expired = timezone.now() - timedelta(seconds=1)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(busy_until=expired)
    WebhookDelivery.objects.filter(pk=delivery.id).update(next_attempt_at=expired)

    assert services.attempt_delivery(delivery_id=delivery.id).outcome == "lost"

    delivery.refresh_from_db()
    [attempt] = delivery.attempts.all()
    assert "no outcome recorded" in attempt.error
    assert delivery.status == "pending"
    assert delivery.retries == 1
    assert delivery.attempt_started_at is None
    assert delivery.next_attempt_at > timezone.now()


def test_one_attempt_run_drains_its_endpoints_due_deliveries(
    local_receivers_allowed, employer, application, job, monkeypatch
):
    with webhook_receiver() as receiver:
        endpoint_for(employer, receiver.url)
        deliveries_of_event("application.submitted", monkeypatch)
        [second] = deliveries_of_event("job.published", monkeypatch)
        queued: list = []
        monkeypatch.setattr(webhook_tasks, "start_attempts", queued.extend)

        assert webhook_tasks.attempt_delivery(str(second.id)) == "succeeded"

        assert receiver.count() == 2
    assert queued == []  # nothing went back through the queue
    statuses = set(WebhookDelivery.objects.values_list("status", flat=True))
    assert statuses == {"succeeded"}
