"""The outbox and its relay, in-process: writing events, publishing them, replays and retries.

The broker is replaced by fake subscribers whose `apply_async` records what would have been
published (or raises, like a broker that is down). Assertions are on those recorded messages and
on the `OutboxEvent` rows: which are marked published, which stay pending, and how often a
publish was attempted.
"""

from __future__ import annotations

import types
import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from core import circuit_breakers
from core.applications import services as application_services
from core.outbox import events
from core.outbox import services as outbox_services
from core.outbox.models import DeliveryStatus, EmailDelivery, OutboxEvent
from tasks import relay


class BrokerDown(ConnectionError):
    """What a publish raises when RabbitMQ is unreachable."""


class FakeHandler:
    """A subscriber task as the relay sees it: a name and `apply_async`."""

    def __init__(self, name: str, *, fail_for: set[str] | None = None) -> None:
        self.name = name
        self.fail_for = fail_for if fail_for is not None else set()
        self.fail_always = False
        self.published: list[dict[str, Any]] = []

    def apply_async(self, **kwargs: Any) -> None:
        event_id = kwargs["args"][0]
        if self.fail_always or event_id in self.fail_for:
            raise BrokerDown("connection refused")
        self.published.append(kwargs)

    @property
    def event_ids(self) -> list[str]:
        return [kwargs["args"][0] for kwargs in self.published]


def record(event_type: str = events.JOB_UPDATED, **payload: Any) -> OutboxEvent:
    with transaction.atomic():
        return events.record_event(event_type=event_type, payload=payload or {"job_id": 1})


def stored(event: OutboxEvent) -> OutboxEvent:
    return OutboxEvent.objects.get(pk=event.pk)


def pending_ids() -> set[uuid.UUID]:
    return set(OutboxEvent.objects.filter(published_at__isnull=True).values_list("id", flat=True))


def events_aged(*minutes_ago: int, event_type: str = events.JOB_UPDATED) -> list[OutboxEvent]:
    """Events that occurred the given minutes ago, created in that (arbitrary) order."""
    now = timezone.now()
    return [
        OutboxEvent.objects.create(
            event_type=event_type, payload={"n": n}, occurred_at=now - timedelta(minutes=n)
        )
        for n in minutes_ago
    ]


# --- record_event --------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_record_event_outside_a_transaction_raises_and_writes_nothing(publisher_calls):
    with pytest.raises(RuntimeError, match=r"transaction\.atomic"):
        events.record_event(event_type=events.JOB_UPDATED, payload={"job_id": 1})

    assert not OutboxEvent.objects.exists()
    assert publisher_calls == []


def test_record_event_rejects_an_unknown_event_type(db, publisher_calls):
    with pytest.raises(ValueError, match=r"job\.exploded"), transaction.atomic():
        events.record_event(event_type="job.exploded", payload={"job_id": 1})

    assert not OutboxEvent.objects.exists()


def test_record_event_stores_type_and_payload(db, publisher_calls):
    event = record(events.JOB_EXPIRED, job_id=7, employer_id=3, category_id=2)

    row = stored(event)
    assert row.event_type == events.JOB_EXPIRED
    assert row.payload == {"job_id": 7, "employer_id": 3, "category_id": 2}
    assert row.published_at is None
    assert row.publish_attempts == 0


def test_publisher_is_asked_to_publish_the_event_once_the_transaction_commits(
    db, publisher_calls, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with transaction.atomic():
            event = events.record_event(event_type=events.JOB_UPDATED, payload={"job_id": 1})
        assert publisher_calls == []  # not before the commit

    assert len(callbacks) == 1
    assert publisher_calls == [[event.id]]


def test_publisher_is_not_called_when_the_transaction_rolls_back(
    db, publisher_calls, django_capture_on_commit_callbacks
):
    def record_then_fail() -> None:
        with transaction.atomic():
            events.record_event(event_type=events.JOB_UPDATED, payload={"job_id": 1})
            raise ZeroDivisionError

    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(ZeroDivisionError),
    ):
        record_then_fail()

    assert callbacks == []
    assert publisher_calls == []
    assert not OutboxEvent.objects.exists()


def test_applying_to_a_job_asks_to_publish_its_submitted_event_on_commit(
    seeker, job, publisher_calls, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        application = application_services.apply_to_job(
            applicant=seeker, job=job, cover_letter="", resume_url="https://example.com/cv.pdf"
        )

    event = OutboxEvent.objects.get(
        event_type=events.APPLICATION_SUBMITTED, payload__application_id=application.pk
    )
    assert publisher_calls == [[event.id]]
    assert event.payload == {
        "application_id": application.pk,
        "job_id": job.pk,
        "applicant_id": seeker.pk,
        "employer_id": job.employer_id,
    }


# --- relay_pending -------------------------------------------------------------------------------


def test_relay_publishes_one_message_per_subscriber_and_marks_the_event_published(db, subscribers):
    employer_email = FakeHandler("tasks.notifications.a")
    listings = FakeHandler("tasks.listings.b")
    subscribers[events.APPLICATION_SUBMITTED] += [employer_email, listings]
    unrelated = FakeHandler("tasks.notifications.c")
    subscribers[events.JOB_EXPIRED].append(unrelated)
    event = record(events.APPLICATION_SUBMITTED, application_id=1)

    count = relay.relay_pending()

    assert count == 1
    expected = {
        "args": [str(event.id)],
        "retry": False,
        "headers": {"event_id": str(event.id), "event_type": events.APPLICATION_SUBMITTED},
    }
    assert employer_email.published == [expected]
    assert listings.published == [expected]
    assert unrelated.published == []
    assert stored(event).published_at is not None


def test_relay_marks_events_without_subscribers_published(db, subscribers):
    event = record(events.JOB_CLOSED)

    assert relay.relay_pending() == 1

    assert stored(event).published_at is not None
    assert pending_ids() == set()


def test_relay_publishes_oldest_first(db, subscribers):
    handler = FakeHandler("tasks.x")
    subscribers[events.JOB_UPDATED].append(handler)
    middle, newest, oldest = events_aged(20, 10, 30)

    assert relay.relay_pending() == 3

    assert handler.event_ids == [str(oldest.id), str(middle.id), str(newest.id)]


def test_relay_publishes_at_most_limit_events_the_oldest(db, subscribers):
    handler = FakeHandler("tasks.x")
    subscribers[events.JOB_UPDATED].append(handler)
    newest, oldest, middle = events_aged(10, 30, 20)

    assert relay.relay_pending(limit=2) == 2

    assert handler.event_ids == [str(oldest.id), str(middle.id)]
    assert pending_ids() == {newest.id}


def test_relay_with_event_ids_publishes_only_those(db, subscribers):
    handler = FakeHandler("tasks.x")
    subscribers[events.JOB_UPDATED].append(handler)
    first, second, third = events_aged(30, 20, 10)

    assert relay.relay_pending(event_ids=[second.id]) == 1

    assert handler.event_ids == [str(second.id)]
    assert pending_ids() == {first.id, third.id}


def test_relay_does_not_publish_an_event_twice(db, subscribers):
    handler = FakeHandler("tasks.x")
    subscribers[events.JOB_UPDATED].append(handler)
    event = record()

    assert relay.relay_pending() == 1
    published_at = stored(event).published_at
    assert relay.relay_pending() == 0
    assert relay.relay_pending(event_ids=[event.id]) == 0

    assert handler.event_ids == [str(event.id)]
    assert stored(event).published_at == published_at


def test_relay_failure_keeps_what_was_published_and_leaves_the_rest_pending(db, subscribers):
    first, second, third = events_aged(30, 20, 10)
    handler = FakeHandler("tasks.x", fail_for={str(second.id)})
    subscribers[events.JOB_UPDATED].append(handler)

    with pytest.raises(BrokerDown):
        relay.relay_pending()

    assert handler.event_ids == [str(first.id)]  # the third was never tried
    first, second, third = stored(first), stored(second), stored(third)
    assert first.published_at is not None
    assert first.publish_attempts == 0
    assert second.published_at is None
    assert second.publish_attempts == 1
    assert third.published_at is None
    assert third.publish_attempts == 0


def test_failed_event_is_published_by_a_later_relay(db, subscribers):
    handler = FakeHandler("tasks.x", fail_for=set())
    subscribers[events.JOB_UPDATED].append(handler)
    event = record()
    handler.fail_always = True
    with pytest.raises(BrokerDown):
        relay.relay_pending()
    with pytest.raises(BrokerDown):
        relay.relay_pending()
    assert stored(event).publish_attempts == 2

    handler.fail_always = False
    assert relay.relay_pending() == 1

    assert handler.event_ids == [str(event.id)]
    assert stored(event).published_at is not None


def test_relay_partial_failure_among_subscribers_keeps_the_event_pending(db, subscribers):
    """When the second subscriber's publish fails the event is not marked; the sweep resends
    it to both (subscribers are idempotent: at least once)."""
    first = FakeHandler("tasks.a")
    second = FakeHandler("tasks.b")
    subscribers[events.JOB_UPDATED] += [first, second]
    event = record()
    second.fail_always = True

    with pytest.raises(BrokerDown):
        relay.relay_pending()

    assert stored(event).published_at is None
    second.fail_always = False
    assert relay.relay_pending() == 1
    assert first.event_ids == [str(event.id), str(event.id)]
    assert second.event_ids == [str(event.id)]


# --- publish_after_commit and its circuit breaker ----------------------------------------------


@pytest.fixture
def clock(monkeypatch) -> types.SimpleNamespace:
    """A monotonic clock for the circuit breakers that only moves when a test moves it."""
    now = types.SimpleNamespace(value=1_000.0)
    monkeypatch.setattr(
        circuit_breakers, "time", types.SimpleNamespace(monotonic=lambda: now.value)
    )
    return now


def test_publish_after_commit_publishes_the_given_events(db, subscribers):
    handler = FakeHandler("tasks.x")
    subscribers[events.JOB_UPDATED].append(handler)
    event, other = record(), record()

    relay.publish_after_commit([event.id])

    assert handler.event_ids == [str(event.id)]
    assert pending_ids() == {other.id}


def test_publish_after_commit_never_raises_and_leaves_the_event_for_the_sweep(
    db, subscribers, caplog
):
    handler = FakeHandler("tasks.x")
    handler.fail_always = True
    subscribers[events.JOB_UPDATED].append(handler)
    event = record()

    relay.publish_after_commit([event.id])  # must not raise

    assert stored(event).published_at is None
    assert stored(event).publish_attempts == 1
    assert "sweep will retry" in caplog.text


def test_publish_failure_opens_the_circuit_so_the_next_publish_skips_the_broker(
    db, settings, subscribers, clock
):
    settings.OUTBOX_CIRCUIT_SECONDS = 5.0
    handler = FakeHandler("tasks.x")
    subscribers[events.JOB_UPDATED].append(handler)
    first, second = record(), record()
    handler.fail_always = True
    relay.publish_after_commit([first.id])
    handler.fail_always = False

    clock.value += 4.999
    relay.publish_after_commit([second.id])

    assert handler.published == []  # the broker was not even tried
    assert stored(second).published_at is None
    assert stored(second).publish_attempts == 0


def test_publishing_resumes_once_the_circuit_time_has_passed(db, settings, subscribers, clock):
    settings.OUTBOX_CIRCUIT_SECONDS = 5.0
    handler = FakeHandler("tasks.x")
    subscribers[events.JOB_UPDATED].append(handler)
    first, second = record(), record()
    handler.fail_always = True
    relay.publish_after_commit([first.id])
    handler.fail_always = False

    clock.value += 5.0
    relay.publish_after_commit([second.id])

    assert handler.event_ids == [str(second.id)]
    assert stored(second).published_at is not None
    assert stored(first).published_at is None  # left for the sweep


def test_resetting_the_circuit_lets_the_next_publish_through(db, subscribers):
    handler = FakeHandler("tasks.x")
    subscribers[events.JOB_UPDATED].append(handler)
    first, second, third = record(), record(), record()
    handler.fail_always = True
    relay.publish_after_commit([first.id])
    handler.fail_always = False
    relay.publish_after_commit([second.id])
    assert handler.published == []

    relay.broker_circuit.close()
    relay.publish_after_commit([third.id])

    assert handler.event_ids == [str(third.id)]


def test_open_circuit_does_not_stop_the_sweep(db, subscribers):
    handler = FakeHandler("tasks.x")
    subscribers[events.JOB_UPDATED].append(handler)
    event = record()
    handler.fail_always = True
    relay.publish_after_commit([event.id])
    handler.fail_always = False

    assert relay.relay_outbox() == 1

    assert handler.event_ids == [str(event.id)]


# --- relay_outbox (the periodic sweep) -----------------------------------------------------------


def test_sweep_publishes_every_pending_event_across_batches(db, monkeypatch, subscribers):
    monkeypatch.setattr(relay, "SWEEP_BATCH", 2)
    batches: list[int] = []
    real_relay_pending = relay.relay_pending

    def counting_relay_pending(**kwargs):
        published = real_relay_pending(**kwargs)
        batches.append(published)
        return published

    monkeypatch.setattr(relay, "relay_pending", counting_relay_pending)
    handler = FakeHandler("tasks.x")
    subscribers[events.JOB_UPDATED].append(handler)
    created = events_aged(50, 40, 30, 20, 10)

    assert relay.relay_outbox() == 5

    assert batches == [2, 2, 1]
    assert handler.event_ids == [str(event.id) for event in created]
    assert pending_ids() == set()
    assert relay.relay_outbox() == 0
    assert len(handler.published) == 5


def test_sweep_publishes_events_however_old(db, subscribers):
    handler = FakeHandler("tasks.x")
    subscribers[events.JOB_UPDATED].append(handler)
    [ancient] = events_aged(60 * 24 * 400)

    assert relay.relay_outbox() == 1

    assert handler.event_ids == [str(ancient.id)]


def test_sweep_run_through_celery_apply_publishes_pending_events(db, subscribers):
    handler = FakeHandler("tasks.x")
    subscribers[events.JOB_UPDATED].append(handler)
    event = record()

    result = relay.relay_outbox.apply()

    assert result.successful()
    assert result.result == 1
    assert handler.event_ids == [str(event.id)]


# --- operators: replay_events and retry_failed_deliveries ------------------------------------


def test_replay_resets_published_events_and_asks_to_publish_them_on_commit(
    db, subscribers, publisher_calls, django_capture_on_commit_callbacks
):
    handler = FakeHandler("tasks.x")
    subscribers[events.JOB_UPDATED].append(handler)
    replayed, untouched = record(), record()
    relay.relay_pending()
    missing = uuid.uuid4()

    with django_capture_on_commit_callbacks(execute=True):
        found = outbox_services.replay_events(event_ids=[replayed.id, missing])
        assert publisher_calls == []

    assert found == 1
    assert publisher_calls == [[replayed.id]]
    assert stored(replayed).published_at is None
    assert stored(untouched).published_at is not None


def test_replayed_event_is_published_to_its_subscribers_again(
    db, subscribers, publisher_calls, django_capture_on_commit_callbacks
):
    handler = FakeHandler("tasks.x")
    subscribers[events.JOB_UPDATED].append(handler)
    event = record()
    relay.relay_pending()

    with django_capture_on_commit_callbacks(execute=True):
        outbox_services.replay_events(event_ids=[event.id])
    assert relay.relay_pending(event_ids=publisher_calls[0]) == 1

    assert handler.event_ids == [str(event.id), str(event.id)]


def test_replay_of_nothing_found_does_not_call_the_publisher(
    db, publisher_calls, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        found = outbox_services.replay_events(event_ids=[uuid.uuid4()])

    assert found == 0
    assert publisher_calls == []


def delivery(event_id: uuid.UUID, status: str, recipient: str = "a@example.com") -> EmailDelivery:
    return EmailDelivery.objects.create(
        idempotency_key=f"{event_id}:application_submitted:{recipient}",
        event_id=event_id,
        event_type=events.APPLICATION_SUBMITTED,
        template="application_submitted",
        recipient=recipient,
        status=status,
        attempts=1,
        last_error="" if status != DeliveryStatus.FAILED else "SMTPResponseException: (550, ...)",
    )


def test_retry_failed_deliveries_resets_only_failed_ones_whose_event_exists(
    db, publisher_calls, django_capture_on_commit_callbacks
):
    event = record(events.APPLICATION_SUBMITTED, application_id=1)
    relay_time = timezone.now()
    OutboxEvent.objects.filter(pk=event.pk).update(published_at=relay_time)
    failed = delivery(event.id, DeliveryStatus.FAILED)
    orphaned = delivery(uuid.uuid4(), DeliveryStatus.FAILED)
    sent = delivery(event.id, DeliveryStatus.SENT, recipient="b@example.com")
    pending = delivery(event.id, DeliveryStatus.PENDING, recipient="c@example.com")

    with django_capture_on_commit_callbacks(execute=True):
        result = outbox_services.retry_failed_deliveries(
            delivery_ids=[failed.pk, orphaned.pk, sent.pk, pending.pk]
        )

    assert result == (1, 1)
    failed.refresh_from_db()
    assert failed.status == DeliveryStatus.PENDING
    assert failed.last_error == ""
    orphaned.refresh_from_db()
    assert orphaned.status == DeliveryStatus.FAILED
    assert orphaned.last_error != ""
    sent.refresh_from_db()
    assert sent.status == DeliveryStatus.SENT
    pending.refresh_from_db()
    assert pending.status == DeliveryStatus.PENDING
    assert stored(event).published_at is None
    assert publisher_calls == [[event.id]]


def test_retry_failed_deliveries_with_no_failed_ones_replays_nothing(
    db, publisher_calls, django_capture_on_commit_callbacks
):
    event = record(events.APPLICATION_SUBMITTED, application_id=1)
    sent = delivery(event.id, DeliveryStatus.SENT)

    with django_capture_on_commit_callbacks(execute=True):
        result = outbox_services.retry_failed_deliveries(delivery_ids=[sent.pk, 424242])

    assert result == (0, 0)
    assert publisher_calls == []
