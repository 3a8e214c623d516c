"""The operators' manage.py commands: outbox lag, failed deliveries and their retry, event replay,
and demo data of a chosen size.

Commands run through `call_command`; assertions are on what an operator reads (the printed
report, the JSON a monitoring script parses, the exit status) and on what a command changed: the
delivery rows, the outbox rows, the messages the relay published and the email that went out.
The broker is replaced by fake subscribers that record what would have been published.
"""

from __future__ import annotations

import json
import re
import smtplib
import uuid
from datetime import timedelta
from io import StringIO
from itertools import pairwise
from typing import Any

import pytest
from django.conf import settings
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

import tasks.email
from core import demo_data
from core.accounts.models import Role, User
from core.applications import services as application_services
from core.applications.models import Application, ApplicationStatus
from core.jobs import expiry, listing_cache
from core.jobs.models import Category, Job, JobStatus
from core.management.commands import outbox_status
from core.management.commands.load_demo_data import DEMO_PASSWORD
from core.outbox import events
from core.outbox.models import DeliveryStatus, EmailDelivery, OutboxEvent
from tasks.notifications import notify_employer_of_application


def run(*args: str, **options: Any) -> str:
    out = StringIO()
    call_command(*args, stdout=out, **options)
    return out.getvalue()


class BrokerDown(ConnectionError):
    """What a publish raises when RabbitMQ is unreachable."""


class FakeHandler:
    """A subscriber task as the relay sees it: a name and `apply_async`, recording messages
    (or raising, like a broker that is down)."""

    def __init__(self, name: str, *, broker_down: bool = False) -> None:
        self.name = name
        self.broker_down = broker_down
        self.event_ids: list[str] = []

    def apply_async(self, **kwargs: Any) -> None:
        if self.broker_down:
            raise BrokerDown("connection refused")
        self.event_ids.append(kwargs["args"][0])


def aged_event(
    minutes_ago: float,
    *,
    event_type: str = events.JOB_UPDATED,
    published_minutes_ago: float | None = None,
    attempts: int = 0,
) -> OutboxEvent:
    now = timezone.now()
    return OutboxEvent.objects.create(
        event_type=event_type,
        payload={"job_id": 1},
        occurred_at=now - timedelta(minutes=minutes_ago),
        published_at=(
            None
            if published_minutes_ago is None
            else now - timedelta(minutes=published_minutes_ago)
        ),
        publish_attempts=attempts,
    )


def stored(event: OutboxEvent) -> OutboxEvent:
    return OutboxEvent.objects.get(pk=event.pk)


# --- outbox_status -----------------------------------------------------------------------------


def test_outbox_status_of_a_drained_outbox(db):
    aged_event(30, published_minutes_ago=29)

    report = run("outbox_status")
    document = json.loads(run("outbox_status", "--json", "--max-lag", "0"))

    assert "unpublished events:  0" in report
    assert "EVENT TYPE" not in report
    assert document["unpublished"] == 0
    assert document["oldest_unpublished_at"] is None
    assert document["lag_seconds"] == 0
    assert document["by_type"] == []
    assert document["max_lag_exceeded"] is False


@pytest.fixture
def backlog(db) -> dict[str, OutboxEvent]:
    """Three pending events of two types, two published within five minutes, one long ago."""
    return {
        "oldest": aged_event(10, event_type=events.APPLICATION_SUBMITTED, attempts=3),
        "newer": aged_event(2, event_type=events.APPLICATION_SUBMITTED),
        "job": aged_event(4, event_type=events.JOB_UPDATED, attempts=1),
        "recent_1": aged_event(3, published_minutes_ago=1),
        "recent_2": aged_event(6, published_minutes_ago=4),
        "old": aged_event(60, published_minutes_ago=30),
    }


def test_outbox_status_json_counts_the_backlog_per_type_and_the_recent_publishes(backlog):
    document = json.loads(run("outbox_status", "--json"))

    assert document["unpublished"] == 3
    assert document["oldest_unpublished_at"] == backlog["oldest"].occurred_at.isoformat()
    assert 600 <= document["lag_seconds"] < 610
    assert document["window_seconds"] == 300
    assert document["published_in_window"] == 2
    assert document["publish_rate_per_second"] == pytest.approx(2 / 300, abs=1e-3)
    assert [
        (row["event_type"], row["unpublished"], row["max_publish_attempts"])
        for row in document["by_type"]
    ] == [(events.APPLICATION_SUBMITTED, 2, 3), (events.JOB_UPDATED, 1, 1)]
    assert 240 <= document["by_type"][1]["lag_seconds"] < 250
    assert document["max_lag_seconds"] is None
    assert document["max_lag_exceeded"] is False


def test_outbox_status_window_sets_what_counts_as_recent(backlog):
    document = json.loads(run("outbox_status", "--json", "--window", "60"))

    assert document["window_seconds"] == 3600
    assert document["published_in_window"] == 3


def test_outbox_status_prints_a_table_per_event_type(backlog):
    report = run("outbox_status")

    assert "unpublished events:  3" in report
    assert re.search(r"oldest unpublished:  10m 0\ds old", report)
    assert "published in the last 5 min:  2 (0.4/min)" in report
    lines = report.splitlines()
    header = next(line for line in lines if line.startswith("EVENT TYPE"))
    assert header.split() == ["EVENT", "TYPE", "UNPUBLISHED", "OLDEST", "MAX", "ATTEMPTS"]
    rows = [line.split() for line in lines[lines.index(header) + 1 :]]
    assert [row[0] for row in rows] == [events.APPLICATION_SUBMITTED, events.JOB_UPDATED]
    assert rows[0][1] == "2"
    assert rows[0][-1] == "3"
    assert rows[1][1] == "1"
    assert re.fullmatch(r"4m 0\ds", " ".join(rows[1][2:4]))


def test_outbox_status_fails_with_status_2_when_the_lag_exceeds_max_lag(backlog):
    out = StringIO()

    with pytest.raises(CommandError, match=r"Outbox lag 60\ds exceeds --max-lag 300s") as error:
        call_command("outbox_status", "--max-lag", "300", stdout=out)

    assert error.value.returncode == outbox_status.LAG_EXCEEDED_STATUS == 2
    assert "unpublished events:  3" in out.getvalue()  # the report is printed all the same


def test_outbox_status_json_reports_the_exceeded_max_lag_too(backlog):
    out = StringIO()

    with pytest.raises(CommandError):
        call_command("outbox_status", "--json", "--max-lag", "300", stdout=out)

    document = json.loads(out.getvalue())
    assert document["max_lag_seconds"] == 300
    assert document["max_lag_exceeded"] is True


def test_outbox_status_passes_when_the_lag_is_within_max_lag(backlog):
    document = json.loads(run("outbox_status", "--json", "--max-lag", "900"))

    assert document["max_lag_exceeded"] is False


@pytest.mark.django_db(transaction=True)
def test_outbox_status_exits_with_status_2_from_the_command_line(capsys):
    aged_event(10)
    command = outbox_status.Command()

    with pytest.raises(SystemExit) as exit_:
        command.run_from_argv(["manage.py", "outbox_status", "--max-lag", "60"])

    assert exit_.value.code == 2
    captured = capsys.readouterr()
    assert "unpublished events:  1" in captured.out
    assert "exceeds --max-lag 60s" in captured.err


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--max-lag", "-1"], "--max-lag"), (["--window", "0"], "--window")],
)
def test_outbox_status_refuses_nonsensical_limits(db, args, message):
    with pytest.raises(CommandError, match=message):
        run("outbox_status", *args)


# --- failed_deliveries -------------------------------------------------------------------------


def delivery(
    event_id: uuid.UUID,
    status: str = DeliveryStatus.FAILED,
    *,
    recipient: str = "hr@acme.test",
    template: str = "application_submitted",
    attempts: int = 1,
    error: str = "SMTPResponseException: (550, b'mailbox unavailable')",
    failed_minutes_ago: float = 0,
) -> EmailDelivery:
    row = EmailDelivery.objects.create(
        idempotency_key=f"{event_id}:{template}:{recipient}",
        event_id=event_id,
        event_type=events.APPLICATION_SUBMITTED,
        template=template,
        recipient=recipient,
        subject="New application",
        status=status,
        attempts=attempts,
        last_error=error if status == DeliveryStatus.FAILED else "",
    )
    if failed_minutes_ago:
        # updated_at is stamped on save; a queryset update sets the time of the last attempt.
        EmailDelivery.objects.filter(pk=row.pk).update(
            updated_at=timezone.now() - timedelta(minutes=failed_minutes_ago)
        )
        row.refresh_from_db()
    return row


def recorded_event(event_type: str = events.APPLICATION_SUBMITTED) -> OutboxEvent:
    with transaction.atomic():
        event = events.record_event(event_type=event_type, payload={"application_id": 1})
    OutboxEvent.objects.filter(pk=event.pk).update(published_at=timezone.now())
    return stored(event)


def test_failed_deliveries_with_none_says_so(db):
    delivery(uuid.uuid4(), DeliveryStatus.SENT)

    assert run("failed_deliveries").strip() == "No failed deliveries."


def test_failed_deliveries_lists_only_failed_ones_newest_failure_first(db, publisher_calls):
    event = recorded_event()
    older = delivery(
        event.id,
        recipient="old@acme.test",
        attempts=7,
        error="SMTPServerDisconnected: gone\nTraceback line",
        failed_minutes_ago=90,
    )
    newer = delivery(uuid.uuid4(), recipient="new@acme.test", template="application_withdrawn")
    delivery(event.id, DeliveryStatus.SENT, recipient="sent@acme.test")
    delivery(event.id, DeliveryStatus.PENDING, recipient="pending@acme.test")

    report = run("failed_deliveries")

    lines = report.splitlines()
    assert lines[0] == "2 failed delivery(ies)."
    header = lines[2]
    assert header.split()[:4] == ["ID", "FAILED", "AT", "ATTEMPTS"]
    first, second = lines[3], lines[4]
    assert first.split()[0] == str(newer.pk)
    assert "new@acme.test" in first
    assert "application_withdrawn" in first
    assert "no (event pruned)" in first
    assert "mailbox unavailable" in first
    assert second.split()[0] == str(older.pk)
    assert "old@acme.test" in second
    assert " 7 " in second
    assert "application.submitted" in second
    assert re.search(r"\byes\b", second)
    assert "SMTPServerDisconnected: gone" in second
    assert "Traceback line" not in report  # one line per delivery
    assert "sent@acme.test" not in report
    assert "pending@acme.test" not in report


def test_failed_deliveries_since_keeps_the_recent_failures(db):
    delivery(uuid.uuid4(), recipient="old@acme.test", failed_minutes_ago=3 * 60)
    delivery(uuid.uuid4(), recipient="new@acme.test", failed_minutes_ago=30)

    report = run("failed_deliveries", "--since", "2h")

    assert report.startswith("1 failed delivery(ies) since ")
    assert "new@acme.test" in report
    assert "old@acme.test" not in report


def test_failed_deliveries_since_takes_an_iso_date(db):
    delivery(uuid.uuid4(), recipient="old@acme.test", failed_minutes_ago=3 * 24 * 60)
    yesterday = (timezone.now() - timedelta(days=1)).date().isoformat()

    report = run("failed_deliveries", "--since", yesterday)

    assert report.strip() == f"No failed deliveries since {yesterday} 00:00:00 UTC."


def test_failed_deliveries_limit_shows_the_newest_and_the_total(db):
    for minutes in (50, 40, 30, 20, 10):
        delivery(uuid.uuid4(), recipient=f"r{minutes}@acme.test", failed_minutes_ago=minutes)

    report = run("failed_deliveries", "--limit", "2")

    assert report.splitlines()[0] == "5 failed delivery(ies); the newest 2 shown (--limit)."
    assert "r10@acme.test" in report
    assert "r20@acme.test" in report
    assert "r30@acme.test" not in report


def test_failed_deliveries_json_has_the_full_error_and_the_event(db, publisher_calls):
    event = recorded_event()
    row = delivery(event.id, attempts=3, error="first line\nsecond line")

    [document] = json.loads(run("failed_deliveries", "--json"))

    assert document == {
        "id": row.pk,
        "failed_at": row.updated_at.isoformat(),
        "created_at": row.created_at.isoformat(),
        "event_id": str(event.id),
        "event_type": events.APPLICATION_SUBMITTED,
        "template": "application_submitted",
        "recipient": "hr@acme.test",
        "subject": "New application",
        "attempts": 3,
        "last_error": "first line\nsecond line",
        "retryable": True,
    }


@pytest.mark.parametrize("since", ["yesterday", "2 hours", "2026-02-30", "3x"])
def test_failed_deliveries_refuses_an_unreadable_since(db, since):
    with pytest.raises(CommandError, match="--since"):
        run("failed_deliveries", "--since", since)


# --- retry_failed_deliveries -------------------------------------------------------------------


@pytest.fixture
def _locmem_email(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    tasks.email.close_connection()
    mail.outbox = []
    yield
    tasks.email.close_connection()


def refuse_mailbox(message) -> None:
    """An SMTP server refusing the recipient for good: the delivery fails at once."""
    raise smtplib.SMTPResponseException(550, b"mailbox unavailable")


@pytest.mark.django_db(transaction=True)  # commits, so the relay publishes as in production
@pytest.mark.usefixtures("_locmem_email")
def test_retry_failed_deliveries_publishes_the_event_again_and_the_email_goes_out(
    monkeypatch, subscribers, seeker, job, employer
):
    """The admin action's path, from the command line: failed, retried, sent once."""
    handler = FakeHandler("tasks.notify")
    subscribers[events.APPLICATION_SUBMITTED].append(handler)
    application = application_services.apply_to_job(
        applicant=seeker, job=job, cover_letter="", resume_url="https://example.com/cv.pdf"
    )
    event = OutboxEvent.objects.get(payload__application_id=application.pk)
    assert handler.event_ids == [str(event.id)]
    with monkeypatch.context() as refusing:
        refusing.setattr(tasks.email, "_send", refuse_mailbox)
        notify_employer_of_application.apply(args=[str(event.id)])
    failed = EmailDelivery.objects.get(event_id=event.id)
    assert failed.status == DeliveryStatus.FAILED
    assert mail.outbox == []

    report = run("retry_failed_deliveries", str(failed.pk))

    assert "Retried 1 failed delivery(ies)" in report
    assert "wait in the outbox" not in report
    assert handler.event_ids == [str(event.id), str(event.id)]  # published again
    assert stored(event).published_at is not None
    failed.refresh_from_db()
    assert failed.status == DeliveryStatus.PENDING
    assert failed.last_error == ""

    result = notify_employer_of_application.apply(args=[str(event.id)])

    assert result.result == "sent"
    [message] = mail.outbox
    assert message.to == [employer.email]
    failed.refresh_from_db()
    assert failed.status == DeliveryStatus.SENT
    assert failed.attempts == 2


def test_retry_failed_deliveries_since_retries_those_with_a_stored_event(
    db, publisher_calls, django_capture_on_commit_callbacks
):
    event = recorded_event()
    recent = delivery(event.id, failed_minutes_ago=10)
    pruned = delivery(uuid.uuid4(), recipient="pruned@acme.test", failed_minutes_ago=20)
    old = delivery(event.id, recipient="old@acme.test", failed_minutes_ago=3 * 24 * 60)
    sent = delivery(event.id, DeliveryStatus.SENT, recipient="sent@acme.test")

    with django_capture_on_commit_callbacks(execute=True):
        report = run("retry_failed_deliveries", "--since", "1d")

    assert "Retried 1 failed delivery(ies)" in report
    assert "1 could not be retried: their event was pruned." in report
    statuses = dict(EmailDelivery.objects.values_list("pk", "status"))
    assert statuses == {
        recent.pk: DeliveryStatus.PENDING,
        pruned.pk: DeliveryStatus.FAILED,
        old.pk: DeliveryStatus.FAILED,
        sent.pk: DeliveryStatus.SENT,
    }
    assert publisher_calls == [[event.id]]
    assert stored(event).published_at is None  # until the publisher relays it


@pytest.mark.django_db(transaction=True)
def test_retry_failed_deliveries_says_when_the_broker_did_not_take_the_events(subscribers):
    handler = FakeHandler("tasks.notify", broker_down=True)
    subscribers[events.APPLICATION_SUBMITTED].append(handler)
    event = recorded_event()
    failed = delivery(event.id)

    report = run("retry_failed_deliveries", str(failed.pk))

    assert "Retried 1 failed delivery(ies)" in report
    assert "1 event(s) wait in the outbox" in report
    assert stored(event).published_at is None
    assert stored(event).publish_attempts == 1  # tried once; the sweep takes over


def test_retry_failed_deliveries_by_id_leaves_other_ids_alone_and_says_so(
    db, publisher_calls, django_capture_on_commit_callbacks
):
    event = recorded_event()
    failed = delivery(event.id)
    sent = delivery(event.id, DeliveryStatus.SENT, recipient="sent@acme.test")

    with django_capture_on_commit_callbacks(execute=True):
        report = run("retry_failed_deliveries", str(failed.pk), str(sent.pk), "424242")

    assert f"Left alone, not failed deliveries: {sent.pk}, 424242." in report
    assert "Retried 1 failed delivery(ies)" in report
    failed.refresh_from_db()
    assert failed.status == DeliveryStatus.PENDING
    assert publisher_calls == [[event.id]]


def test_retry_failed_deliveries_all_retries_every_failed_one(
    db, publisher_calls, django_capture_on_commit_callbacks, monkeypatch
):
    from core.management.commands import retry_failed_deliveries

    monkeypatch.setattr(retry_failed_deliveries, "BATCH_SIZE", 2)
    first, second = recorded_event(), recorded_event()
    rows = [delivery(first.id, recipient=f"r{n}@acme.test") for n in range(3)]
    rows.append(delivery(second.id))

    with django_capture_on_commit_callbacks(execute=True):
        report = run("retry_failed_deliveries", "--all")

    assert "Retried 4 failed delivery(ies)" in report
    assert not EmailDelivery.objects.filter(status=DeliveryStatus.FAILED).exists()
    # Two batches, each replaying the events of its deliveries.
    assert len(publisher_calls) == 2
    assert {event_id for call in publisher_calls for event_id in call} == {first.id, second.id}


def test_retry_failed_deliveries_dry_run_changes_nothing(
    db, publisher_calls, django_capture_on_commit_callbacks
):
    event = recorded_event()
    failed = delivery(event.id)
    pruned = delivery(uuid.uuid4(), recipient="pruned@acme.test")

    with django_capture_on_commit_callbacks(execute=True):
        report = run("retry_failed_deliveries", "--all", "--dry-run")

    assert "Dry run: would retry 1 failed delivery(ies) by publishing their 1 event(s)" in report
    assert f"ids: {failed.pk}" in report
    assert "1 cannot be retried: their event was pruned." in report
    assert set(EmailDelivery.objects.values_list("status", flat=True)) == {DeliveryStatus.FAILED}
    assert stored(event).published_at is not None
    assert publisher_calls == []
    pruned.refresh_from_db()
    assert pruned.last_error


def test_retry_failed_deliveries_with_nothing_to_retry_says_so(db, publisher_calls):
    delivery(uuid.uuid4(), DeliveryStatus.SENT)

    assert run("retry_failed_deliveries", "--all").strip() == "No failed deliveries to retry."
    assert publisher_calls == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "Name the deliveries"),
        (["--all", "7"], "--all retries every failed delivery"),
        (["--all", "--since", "1h"], "--all retries every failed delivery"),
    ],
)
def test_retry_failed_deliveries_needs_an_explicit_selection(db, publisher_calls, args, message):
    delivery(uuid.uuid4())

    with pytest.raises(CommandError, match=message):
        run("retry_failed_deliveries", *args)

    assert EmailDelivery.objects.get().status == DeliveryStatus.FAILED


# --- replay_events -----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_replay_events_publishes_an_event_to_its_subscribers_again(subscribers):
    handler = FakeHandler("tasks.listings")
    subscribers[events.JOB_UPDATED].append(handler)
    with transaction.atomic():
        event = events.record_event(event_type=events.JOB_UPDATED, payload={"job_id": 1})
    first_publish = stored(event).published_at
    assert handler.event_ids == [str(event.id)]

    report = run("replay_events", str(event.id))

    assert "Replayed 1 event(s)." in report
    assert re.search(rf"{re.escape(events.JOB_UPDATED)}\s+1", report)
    assert "wait in the outbox" not in report
    assert handler.event_ids == [str(event.id), str(event.id)]
    assert stored(event).published_at > first_publish


def test_replay_events_since_and_type_select_the_events(
    db, publisher_calls, django_capture_on_commit_callbacks
):
    wanted = aged_event(30, event_type=events.APPLICATION_SUBMITTED, published_minutes_ago=29)
    other_type = aged_event(30, event_type=events.JOB_UPDATED, published_minutes_ago=29)
    too_old = aged_event(300, event_type=events.APPLICATION_SUBMITTED, published_minutes_ago=299)

    with django_capture_on_commit_callbacks(execute=True):
        report = run("replay_events", "--since", "1h", "--type", events.APPLICATION_SUBMITTED)

    assert "Replayed 1 event(s)." in report
    assert publisher_calls == [[wanted.id]]
    assert stored(wanted).published_at is None  # until the publisher relays it
    assert stored(other_type).published_at is not None
    assert stored(too_old).published_at is not None


@pytest.mark.django_db(transaction=True)
def test_replay_events_says_when_the_broker_did_not_take_the_events(subscribers):
    subscribers[events.JOB_UPDATED].append(FakeHandler("tasks.listings", broker_down=True))
    event = aged_event(10, published_minutes_ago=9)

    report = run("replay_events", str(event.id))

    assert "Replayed 1 event(s)." in report
    assert "1 event(s) wait in the outbox" in report
    assert stored(event).published_at is None


def test_replay_events_dry_run_counts_per_type_and_changes_nothing(
    db, publisher_calls, django_capture_on_commit_callbacks
):
    for event_type in (events.JOB_UPDATED, events.JOB_UPDATED, events.JOB_CLOSED):
        aged_event(10, event_type=event_type, published_minutes_ago=9)

    with django_capture_on_commit_callbacks(execute=True):
        report = run("replay_events", "--since", "30m", "--dry-run")

    assert "Dry run: would replay 3 event(s)." in report
    assert re.search(rf"{re.escape(events.JOB_CLOSED)}\s+1\n", report)
    assert re.search(rf"{re.escape(events.JOB_UPDATED)}\s+2", report)
    assert publisher_calls == []
    assert not OutboxEvent.objects.filter(published_at__isnull=True).exists()


def test_replay_events_names_ids_it_did_not_find(
    db, publisher_calls, django_capture_on_commit_callbacks
):
    event = aged_event(10, published_minutes_ago=9)
    missing = uuid.uuid4()

    with django_capture_on_commit_callbacks(execute=True):
        report = run("replay_events", str(event.id), str(missing))

    assert f"Not found (pruned, or not of the selection): {missing}." in report
    assert "Replayed 1 event(s)." in report
    assert publisher_calls == [[event.id]]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "Name the events"),
        (["--type", events.JOB_UPDATED], "Name the events"),
        (["not-a-uuid"], "is not an event id"),
    ],
)
def test_replay_events_needs_valid_explicit_selection(db, publisher_calls, args, message):
    aged_event(10, published_minutes_ago=9)

    with pytest.raises(CommandError, match=message):
        run("replay_events", *args)

    assert publisher_calls == []
    assert not OutboxEvent.objects.filter(published_at__isnull=True).exists()


# --- load_demo_data ----------------------------------------------------------------------------


@pytest.fixture
def demo_settings(db, settings, monkeypatch):
    """DEBUG on (demo accounts are refused without it); no publisher, so nothing is relayed."""
    settings.DEBUG = True
    monkeypatch.setattr(events, "_publisher", None)
    return settings


def test_load_demo_data_without_sizes_loads_the_small_set_once(demo_settings):
    first = run("load_demo_data")
    again = run("load_demo_data")

    assert first.strip() == (
        "Demo data loaded. Accounts (password demo-Pass-2026): admin, demo_employer, demo_seeker."
    )
    assert again.strip() == "Demo data already loaded."
    assert set(User.objects.values_list("username", flat=True)) == {
        "admin",
        "demo_employer",
        "demo_seeker",
    }
    assert Job.objects.count() == 4
    assert list(Category.objects.values_list("slug", flat=True)) == [
        "data",
        "design",
        "engineering",
    ]


def test_load_demo_data_refuses_without_debug(settings, db):
    settings.DEBUG = False

    with pytest.raises(CommandError, match="DEBUG off"):
        run("load_demo_data", "--jobs", "5")

    assert not User.objects.exists()


SIZES = ("--employers", "4", "--seekers", "12", "--jobs", "30", "--applications", "150")


def generated_jobs():
    return Job.objects.filter(employer__username__startswith=demo_data.EMPLOYER_PREFIX)


def generated_applications():
    return Application.objects.filter(applicant__username__startswith=demo_data.SEEKER_PREFIX)


def test_load_demo_data_generates_the_requested_sizes_without_events(demo_settings, monkeypatch):
    monkeypatch.setattr(demo_data, "BATCH_SIZE", 7)  # several batches of every kind

    report = run("load_demo_data", *SIZES)

    assert "employers: 4 (4 new)" in report
    assert "seekers: 12 (12 new)" in report
    assert "jobs: 30 (30 new)" in report
    assert "applications: 150 (150 new)" in report
    employers = User.objects.filter(username__startswith=demo_data.EMPLOYER_PREFIX)
    seekers = User.objects.filter(username__startswith=demo_data.SEEKER_PREFIX)
    assert sorted(employers.values_list("username", flat=True)) == [
        f"demo_employer_{n:05d}" for n in range(1, 5)
    ]
    assert set(employers.values_list("role", flat=True)) == {Role.EMPLOYER}
    assert seekers.count() == 12
    assert set(seekers.values_list("role", flat=True)) == {Role.JOB_SEEKER}
    assert seekers.get(username="demo_seeker_00012").check_password(DEMO_PASSWORD)
    assert generated_jobs().count() == 30
    assert generated_applications().count() == 150
    # Only the small set's four postings went through the services and recorded an event.
    assert OutboxEvent.objects.count() == 4
    assert not EmailDelivery.objects.exists()


def test_load_demo_data_generates_varied_consistent_postings(demo_settings):
    run("load_demo_data", "--employers", "20", "--jobs", "300")
    jobs = list(generated_jobs().select_related("employer", "category"))
    now = timezone.now()

    assert len({job.title for job in jobs}) > 100
    assert len({job.location for job in jobs}) > 20
    assert all(job.company_name == demo_data.company_of(job.employer.username) for job in jobs)
    assert len({job.company_name for job in jobs}) > 10
    assert len({job.category.slug for job in jobs}) == 6
    assert len({job.employment_type for job in jobs}) == 5
    assert {job.status for job in jobs} == set(JobStatus.values)
    with_salary = [job for job in jobs if job.salary_min is not None]
    assert 0.7 * len(jobs) < len(with_salary) < len(jobs)
    assert all(job.salary_min < job.salary_max and job.salary_currency for job in with_salary)
    assert len({job.salary_min for job in with_salary}) > 20
    reminder_window = timedelta(days=settings.JOB_EXPIRY_REMINDER_DAYS)
    for job in jobs:
        if job.status == JobStatus.PUBLISHED:
            # Listed, and no expiry reminder (an email) due for a day at least.
            assert job.is_open
            assert job.expires_at > now + reminder_window + timedelta(hours=23)
            assert job.created_at == job.published_at
        elif job.status == JobStatus.DRAFT:
            assert job.published_at is None
            assert job.expires_at is None
        elif job.status == JobStatus.EXPIRED:
            assert job.expires_at < now
            assert job.expiry_reminder_sent_at is not None
        else:
            assert job.published_at <= job.closed_at <= now
    assert expiry.flag_jobs_expiring_soon() == 0
    assert expiry.expire_stale_jobs() == 0


def test_load_demo_data_applications_are_unique_with_a_history_that_matches(demo_settings):
    run("load_demo_data", *SIZES)
    applications = list(
        generated_applications().select_related("job").prefetch_related("status_changes")
    )

    pairs = {(application.job_id, application.applicant_id) for application in applications}
    assert len(pairs) == len(applications) == 150
    assert len({application.status for application in applications}) >= 4
    for application in applications:
        history = list(application.status_changes.all())
        assert application.job.status != JobStatus.DRAFT
        assert (history[0].from_status, history[0].to_status) == ("", ApplicationStatus.SUBMITTED)
        assert history[0].changed_by_id == application.applicant_id
        assert history[-1].to_status == application.status
        for before, after in pairwise(history):
            assert after.from_status == before.to_status
            assert after.changed_at >= before.changed_at
        assert application.created_at == history[0].changed_at
        assert application.updated_at == history[-1].changed_at
        assert application.created_at >= application.job.published_at


def test_load_demo_data_sizes_are_totals_so_a_rerun_adds_only_the_difference(demo_settings):
    run("load_demo_data", *SIZES)

    again = run("load_demo_data", *SIZES)
    larger = run("load_demo_data", "--seekers", "15", "--applications", "200")

    assert "applications: 150 (0 new)" in again
    assert "jobs: 30 (0 new)" in again
    assert "seekers: 15 (3 new)" in larger
    assert "applications: 200 (50 new)" in larger
    assert "jobs: 30 (0 new)" in larger  # sizes not given are left as they are
    assert generated_applications().count() == 200
    assert (
        generated_applications()
        .values("job_id", "applicant_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
        == 0
    )


def test_load_demo_data_refuses_more_applications_than_pairs_and_writes_nothing(demo_settings):
    with pytest.raises(CommandError, match="distinct \\(job, seeker\\) pairs"):
        run(
            "load_demo_data",
            "--employers",
            "2",
            "--seekers",
            "2",
            "--jobs",
            "3",
            "--applications",
            "7",
        )

    assert not User.objects.filter(username__startswith="demo_seeker_").exists()
    assert not generated_jobs().exists()


def test_load_demo_data_refuses_jobs_without_employers(demo_settings):
    with pytest.raises(CommandError, match="--employers"):
        run("load_demo_data", "--jobs", "3")

    assert not generated_jobs().exists()


def test_load_demo_data_makes_cached_listings_show_the_new_jobs(
    demo_settings, django_capture_on_commit_callbacks
):
    run("load_demo_data", "--employers", "1")  # the categories exist (creating one bumps too)
    listing_cache.forget_local()
    before = listing_cache.current_generation()

    with django_capture_on_commit_callbacks(execute=True):
        run("load_demo_data", "--employers", "1", "--jobs", "2")

    listing_cache.forget_local()
    assert listing_cache.current_generation() == before + 1
