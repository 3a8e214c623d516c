"""Expiry of stale postings, expiry reminders, renewal, housekeeping and their emails, in-process.

`expiry.expire_stale_jobs` and `expiry.flag_jobs_expiring_soon` are the set-based work beat
schedules (`tasks.maintenance`): each job is handled once, however many runs, batches or
concurrent copies, and each handled job has exactly one event. `POST /api/jobs/{id}/renew/` is
the employer's way back. Housekeeping prunes what is safe to prune and nothing else. The
notification tasks subscribed to `job.expired` and `job.expiring_soon` email the employer.
"""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

import tasks.email
from core.accounts import services as account_services
from core.accounts.models import Role, User
from core.jobs import expiry
from core.jobs import services as job_services
from core.jobs.models import Category, Job, JobStatus
from core.outbox import events
from core.outbox import services as outbox_services
from core.outbox.models import DeliveryStatus, EmailDelivery, OutboxEvent
from tasks import maintenance
from tasks.notifications import notify_employer_of_expiry, remind_employer_of_expiry
from tests.factories import bulk_jobs, make_user
from tests.services import POSTGRESQL, require

LIST_URL = "/api/jobs/"


def renew_url(job: Job) -> str:
    return f"{LIST_URL}{job.pk}/renew/"


def events_of(event_type: str) -> list[OutboxEvent]:
    return list(OutboxEvent.objects.filter(event_type=event_type))


def payload_of(job: Job) -> dict[str, int]:
    return {"job_id": job.pk, "employer_id": job.employer_id, "category_id": job.category_id}


def status_of(job: Job) -> str:
    return Job.objects.values_list("status", flat=True).get(pk=job.pk)


def bulk_stale_jobs(*, employer: User, category: Category, count: int) -> list[Job]:
    """`count` published jobs whose `expires_at` passed a minute ago (no events recorded)."""
    bulk_jobs(count, title="Stale posting", stale=True, employer=employer, category=category)
    return list(Job.objects.filter(title__startswith="Stale posting").order_by("id"))


@pytest.fixture
def no_publisher(monkeypatch):
    """Committed events stay in the outbox: transactional tests send nothing to a broker."""
    monkeypatch.setattr(events, "_publisher", None)


# --- expire_stale_jobs ---------------------------------------------------------------------------


def test_expiry_expires_only_published_jobs_past_their_date(make_job):
    stale = [make_job(expired=True, title=f"Stale {n}") for n in range(3)]
    future = make_job(title="Still Open")
    draft = make_job(status=JobStatus.DRAFT, title="Draft")
    closed = make_job(status=JobStatus.CLOSED, title="Closed")
    deleted = make_job(expired=True, title="Deleted")
    already_expired = make_job(status=JobStatus.EXPIRED, title="Already Expired")
    past = timezone.now() - timedelta(hours=1)
    Job.objects.filter(pk__in=[draft.pk, closed.pk]).update(expires_at=past)
    # Deleted while still published: the expiry must leave it alone all the same.
    Job.objects.filter(pk=deleted.pk).update(deleted_at=timezone.now())
    before = set(OutboxEvent.objects.values_list("id", flat=True))

    expired = expiry.expire_stale_jobs()

    assert expired == 3
    assert {job.pk: status_of(job) for job in stale} == {job.pk: JobStatus.EXPIRED for job in stale}
    assert status_of(future) == JobStatus.PUBLISHED
    assert status_of(draft) == JobStatus.DRAFT
    assert status_of(closed) == JobStatus.CLOSED
    assert status_of(deleted) == JobStatus.PUBLISHED
    assert status_of(already_expired) == JobStatus.EXPIRED
    new_events = OutboxEvent.objects.exclude(id__in=before)
    assert {event.event_type for event in new_events} == {events.JOB_EXPIRED}
    assert sorted((event.payload for event in new_events), key=lambda p: p["job_id"]) == [
        payload_of(job) for job in stale
    ]
    assert all(event.published_at is None for event in new_events)


def test_expiry_boundary_is_expires_at_itself(make_job):
    job = make_job()
    expires_at = Job.objects.get(pk=job.pk).expires_at

    assert expiry.expire_stale_jobs(now=expires_at - timedelta(microseconds=1)) == 0
    assert status_of(job) == JobStatus.PUBLISHED
    assert expiry.expire_stale_jobs(now=expires_at) == 1
    assert status_of(job) == JobStatus.EXPIRED


def test_expiry_works_across_batches_and_emits_one_event_per_job(employer, category):
    jobs = bulk_stale_jobs(employer=employer, category=category, count=10)

    # Four batches of at most 3, each its own transaction.
    assert expiry.expire_stale_jobs(batch_size=3) == 10

    assert Job.objects.filter(status=JobStatus.EXPIRED).count() == 10
    expired_events = events_of(events.JOB_EXPIRED)
    assert len(expired_events) == 10
    assert sorted(event.payload["job_id"] for event in expired_events) == [j.pk for j in jobs]
    assert {event.payload["employer_id"] for event in expired_events} == {employer.pk}
    assert {event.payload["category_id"] for event in expired_events} == {category.pk}


def test_running_the_expiry_again_expires_and_emits_nothing_more(employer, category):
    bulk_stale_jobs(employer=employer, category=category, count=4)
    assert expiry.expire_stale_jobs(batch_size=3) == 4
    updated_at = dict(Job.objects.values_list("id", "updated_at"))

    assert expiry.expire_stale_jobs(batch_size=3) == 0
    assert expiry.expire_stale_jobs() == 0

    assert len(events_of(events.JOB_EXPIRED)) == 4
    assert dict(Job.objects.values_list("id", "updated_at")) == updated_at


def test_expiry_costs_the_same_queries_for_5_and_50_stale_jobs(employer, category):
    bulk_stale_jobs(employer=employer, category=category, count=5)
    with CaptureQueriesContext(connection) as small:
        assert expiry.expire_stale_jobs(batch_size=1000) == 5

    Job.objects.filter(title__startswith="Stale posting").update(title="Done")
    bulk_stale_jobs(employer=employer, category=category, count=50)
    with CaptureQueriesContext(connection) as big:
        assert expiry.expire_stale_jobs(batch_size=1000) == 50

    assert len(big.captured_queries) == len(small.captured_queries)
    assert len(events_of(events.JOB_EXPIRED)) == 55


def test_expire_stale_jobs_task_runs_the_service_with_the_configured_batch_size(
    settings, employer, category
):
    settings.JOB_EXPIRY_BATCH_SIZE = 4
    bulk_stale_jobs(employer=employer, category=category, count=9)

    result = maintenance.expire_stale_jobs.apply()

    assert result.successful(), result.traceback
    assert result.result == 9
    assert len(events_of(events.JOB_EXPIRED)) == 9


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_expiry_runs_expire_each_of_200_jobs_once(no_publisher):
    require(POSTGRESQL, why="row locks with SKIP LOCKED")
    employer = make_user(Role.EMPLOYER)
    category = job_services.create_category(name="Ops", slug="ops")
    jobs = bulk_stale_jobs(employer=employer, category=category, count=200)
    barrier = threading.Barrier(2)
    counts: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run() -> None:
        try:
            barrier.wait(timeout=30)
            expired = expiry.expire_stale_jobs(batch_size=7)
            with lock:
                counts.append(expired)
        except BaseException as exc:
            with lock:
                errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    assert sum(counts) == 200
    job_ids = [event.payload["job_id"] for event in events_of(events.JOB_EXPIRED)]
    assert len(job_ids) == 200
    assert sorted(job_ids) == [job.pk for job in jobs]
    assert Job.objects.filter(status=JobStatus.EXPIRED).count() == 200


@pytest.mark.django_db(transaction=True)
def test_expiry_skips_rows_another_run_holds_and_leaves_them_to_it(no_publisher):
    require(POSTGRESQL, why="row locks with SKIP LOCKED")
    employer = make_user(Role.EMPLOYER)
    category = job_services.create_category(name="Ops", slug="ops")
    jobs = bulk_stale_jobs(employer=employer, category=category, count=30)
    held = [job.pk for job in jobs[:10]]
    other_run: list[int] = []

    def expire_in_another_connection() -> None:
        try:
            other_run.append(expiry.expire_stale_jobs(batch_size=4))
        finally:
            connection.close()

    with transaction.atomic():
        list(Job.objects.select_for_update().filter(pk__in=held).values_list("id"))
        thread = threading.Thread(target=expire_in_another_connection)
        thread.start()
        thread.join(timeout=60)
        assert not thread.is_alive(), "the expiry run waited on locked rows instead of skipping"

    assert other_run == [20]
    assert set(Job.objects.filter(status=JobStatus.PUBLISHED).values_list("id", flat=True)) == (
        set(held)
    )
    assert expiry.expire_stale_jobs(batch_size=4) == 10
    job_ids = [event.payload["job_id"] for event in events_of(events.JOB_EXPIRED)]
    assert sorted(job_ids) == [job.pk for job in jobs]


# --- flag_jobs_expiring_soon ---------------------------------------------------------------------


def set_expiry(job: Job, delta: timedelta) -> Job:
    Job.objects.filter(pk=job.pk).update(expires_at=timezone.now() + delta)
    job.refresh_from_db()
    return job


def test_reminders_flag_jobs_inside_the_window_once(settings, make_job):
    settings.JOB_EXPIRY_REMINDER_DAYS = 3
    tomorrow = set_expiry(make_job(title="Tomorrow"), timedelta(days=1))
    edge = set_expiry(make_job(title="Almost Three Days"), timedelta(days=3) - timedelta(minutes=1))
    next_week = set_expiry(make_job(title="Next Week"), timedelta(days=7))
    past = set_expiry(make_job(title="Past"), timedelta(minutes=-1))
    draft = set_expiry(make_job(status=JobStatus.DRAFT, title="Draft"), timedelta(days=1))
    expired = make_job(status=JobStatus.EXPIRED, title="Expired")
    before = set(OutboxEvent.objects.values_list("id", flat=True))

    assert expiry.flag_jobs_expiring_soon() == 2

    new_events = list(OutboxEvent.objects.exclude(id__in=before))
    assert {event.event_type for event in new_events} == {events.JOB_EXPIRING_SOON}
    assert sorted((event.payload for event in new_events), key=lambda p: p["job_id"]) == [
        payload_of(tomorrow),
        payload_of(edge),
    ]
    flagged = set(
        Job.objects.filter(expiry_reminder_sent_at__isnull=False).values_list("id", flat=True)
    )
    assert flagged == {tomorrow.pk, edge.pk}
    for job in (next_week, past, draft, expired):
        assert job.pk not in flagged

    assert expiry.flag_jobs_expiring_soon() == 0
    assert len(events_of(events.JOB_EXPIRING_SOON)) == 2


def test_reminder_window_follows_the_setting(settings, make_job):
    job = set_expiry(make_job(), timedelta(days=5))
    settings.JOB_EXPIRY_REMINDER_DAYS = 3
    assert expiry.flag_jobs_expiring_soon() == 0

    settings.JOB_EXPIRY_REMINDER_DAYS = 7
    assert expiry.flag_jobs_expiring_soon() == 1
    assert [event.payload for event in events_of(events.JOB_EXPIRING_SOON)] == [payload_of(job)]


def test_send_expiry_reminders_task_flags_in_batches(settings, make_job):
    settings.JOB_EXPIRY_BATCH_SIZE = 2
    for n in range(5):
        set_expiry(make_job(title=f"Soon {n}"), timedelta(days=1))

    result = maintenance.send_expiry_reminders.apply()

    assert result.result == 5
    assert len(events_of(events.JOB_EXPIRING_SOON)) == 5


def test_a_renewed_job_is_reminded_again_before_its_new_date(employer_client, make_job):
    job = set_expiry(make_job(), timedelta(days=1))
    assert expiry.flag_jobs_expiring_soon() == 1

    assert employer_client.post(renew_url(job)).status_code == 200
    assert expiry.flag_jobs_expiring_soon() == 0  # 30 days away again
    set_expiry(job, timedelta(days=2))

    assert expiry.flag_jobs_expiring_soon() == 1
    assert len(events_of(events.JOB_EXPIRING_SOON)) == 2


# --- Renewal ----------------------------------------------------------------------------------


def assert_expires_in_lifetime(job_id: int, before, after) -> None:
    lifetime = timedelta(days=settings.JOB_LIFETIME_DAYS)
    expires_at = Job.objects.get(pk=job_id).expires_at
    assert before + lifetime <= expires_at <= after + lifetime


def test_renewing_an_expired_job_publishes_and_lists_it_again(
    settings, employer_client, anon_client, make_job
):
    settings.JOB_LIFETIME_DAYS = 45
    job = make_job(status=JobStatus.EXPIRED, title="Back Again")
    assert job.pk not in [item["id"] for item in anon_client.get(LIST_URL).json()["results"]]
    OutboxEvent.objects.all().delete()

    before = timezone.now()
    response = employer_client.post(renew_url(job))
    after = timezone.now()

    assert response.status_code == 200, response.content
    assert response.json()["status"] == JobStatus.PUBLISHED
    assert status_of(job) == JobStatus.PUBLISHED
    assert_expires_in_lifetime(job.pk, before, after)
    [event] = OutboxEvent.objects.all()
    assert event.event_type == events.JOB_PUBLISHED
    assert event.payload == payload_of(job)
    listed = anon_client.get(LIST_URL).json()["results"]
    assert [item["id"] for item in listed] == [job.pk]
    assert anon_client.get(f"{LIST_URL}{job.pk}/").status_code == 200


def test_renewing_a_published_job_extends_it_clears_the_reminder_and_emits_updated(
    employer_client, make_job
):
    job = set_expiry(make_job(), timedelta(days=1))
    assert expiry.flag_jobs_expiring_soon() == 1
    OutboxEvent.objects.all().delete()

    before = timezone.now()
    response = employer_client.post(renew_url(job))
    after = timezone.now()

    assert response.status_code == 200, response.content
    assert_expires_in_lifetime(job.pk, before, after)
    job.refresh_from_db()
    assert job.status == JobStatus.PUBLISHED
    assert job.expiry_reminder_sent_at is None
    [event] = OutboxEvent.objects.all()
    assert event.event_type == events.JOB_UPDATED
    assert event.payload == payload_of(job)


def test_an_admin_may_renew_any_job(admin_client_api, make_job):
    job = make_job(status=JobStatus.EXPIRED)

    response = admin_client_api.post(renew_url(job))

    assert response.status_code == 200
    assert status_of(job) == JobStatus.PUBLISHED


@pytest.mark.parametrize("state", [JobStatus.DRAFT, JobStatus.CLOSED])
def test_a_draft_or_closed_job_cannot_be_renewed(employer_client, make_job, state):
    job = make_job(status=state)
    expires_at = Job.objects.get(pk=job.pk).expires_at
    events_before = OutboxEvent.objects.count()

    response = employer_client.post(renew_url(job))

    assert response.status_code == 400, response.content
    assert response.json()["code"] == "invalid_job_state"
    assert state in response.json()["detail"]
    assert status_of(job) == state
    assert Job.objects.get(pk=job.pk).expires_at == expires_at
    assert OutboxEvent.objects.count() == events_before


def test_a_deleted_job_cannot_be_renewed(employer_client, make_job):
    job = make_job(status=JobStatus.EXPIRED)
    job_services.delete_job(job=job)

    assert employer_client.post(renew_url(job)).status_code == 404


@pytest.mark.parametrize(
    ("who", "expected"),
    [("other_employer", 404), ("seeker", 403), ("anonymous", 401)],
)
def test_only_the_owner_may_renew(request, make_job, who, expected):
    job = make_job(status=JobStatus.EXPIRED)
    client = {
        "other_employer": lambda: request.getfixturevalue("other_employer_client"),
        "seeker": lambda: request.getfixturevalue("seeker_client"),
        "anonymous": lambda: request.getfixturevalue("anon_client"),
    }[who]()
    events_before = OutboxEvent.objects.count()

    response = client.post(renew_url(job))

    assert response.status_code == expected, response.content
    assert status_of(job) == JobStatus.EXPIRED
    assert OutboxEvent.objects.count() == events_before


# --- Housekeeping -------------------------------------------------------------------------------


def make_event(*, published_days_ago: float | None, occurred_days_ago: float = 0) -> OutboxEvent:
    now = timezone.now()
    return OutboxEvent.objects.create(
        event_type=events.JOB_UPDATED,
        payload={"job_id": 1},
        occurred_at=now - timedelta(days=occurred_days_ago),
        published_at=None
        if published_days_ago is None
        else now - timedelta(days=published_days_ago),
    )


def make_delivery(*, status: str, days_ago: float) -> EmailDelivery:
    delivery = EmailDelivery.objects.create(
        idempotency_key=f"{uuid.uuid4()}:job_expired:x@example.com",
        event_id=uuid.uuid4(),
        event_type=events.JOB_EXPIRED,
        template="job_expired",
        recipient="x@example.com",
        status=status,
    )
    EmailDelivery.objects.filter(pk=delivery.pk).update(
        created_at=timezone.now() - timedelta(days=days_ago)
    )
    return delivery


def test_prune_published_events_deletes_only_old_published_rows(db):
    old_published = [make_event(published_days_ago=8, occurred_days_ago=8) for _ in range(3)]
    recent_published = make_event(published_days_ago=6, occurred_days_ago=6)
    ancient_pending = make_event(published_days_ago=None, occurred_days_ago=400)

    assert outbox_services.prune_published_events(older_than_days=7, batch_size=2) == 3

    remaining = set(OutboxEvent.objects.values_list("id", flat=True))
    assert remaining == {recent_published.id, ancient_pending.id}
    assert not remaining & {event.id for event in old_published}


def test_prune_deliveries_keeps_pending_and_recent_rows(db):
    old_sent = make_delivery(status=DeliveryStatus.SENT, days_ago=91)
    old_failed = make_delivery(status=DeliveryStatus.FAILED, days_ago=91)
    old_pending = make_delivery(status=DeliveryStatus.PENDING, days_ago=365)
    recent_sent = make_delivery(status=DeliveryStatus.SENT, days_ago=89)

    assert outbox_services.prune_deliveries(older_than_days=90) == 2

    remaining = set(EmailDelivery.objects.values_list("id", flat=True))
    assert remaining == {old_pending.pk, recent_sent.pk}
    assert old_sent.pk not in remaining
    assert old_failed.pk not in remaining


def issue_refresh_token(user: User, *, expired: bool, blacklisted: bool) -> OutstandingToken:
    token = RefreshToken.for_user(user)
    outstanding = OutstandingToken.objects.get(jti=token["jti"])
    if expired:
        OutstandingToken.objects.filter(pk=outstanding.pk).update(
            expires_at=timezone.now() - timedelta(minutes=1)
        )
    if blacklisted:
        BlacklistedToken.objects.create(token=outstanding)
    return outstanding


def test_flush_expired_tokens_removes_only_expired_tokens_and_their_blacklist_rows(seeker):
    expired = issue_refresh_token(seeker, expired=True, blacklisted=False)
    expired_revoked = issue_refresh_token(seeker, expired=True, blacklisted=True)
    valid = issue_refresh_token(seeker, expired=False, blacklisted=False)
    valid_revoked = issue_refresh_token(seeker, expired=False, blacklisted=True)

    assert account_services.flush_expired_tokens(batch_size=1) == 2

    assert set(OutstandingToken.objects.values_list("id", flat=True)) == {
        valid.pk,
        valid_revoked.pk,
    }
    assert list(BlacklistedToken.objects.values_list("token_id", flat=True)) == [valid_revoked.pk]
    assert not OutstandingToken.objects.filter(pk__in=[expired.pk, expired_revoked.pk]).exists()


def test_housekeeping_task_prunes_with_the_configured_retention_and_returns_the_counts(
    settings, seeker
):
    settings.OUTBOX_RETENTION_DAYS = 7
    settings.DELIVERY_RETENTION_DAYS = 30
    make_event(published_days_ago=10)
    make_event(published_days_ago=10)
    kept_event = make_event(published_days_ago=None, occurred_days_ago=10)
    make_delivery(status=DeliveryStatus.SENT, days_ago=31)
    kept_delivery = make_delivery(status=DeliveryStatus.SENT, days_ago=29)
    issue_refresh_token(seeker, expired=True, blacklisted=True)
    kept_token = issue_refresh_token(seeker, expired=False, blacklisted=False)

    result = maintenance.housekeeping.apply()

    assert result.successful(), result.traceback
    # (Webhook deliveries are pruned by the same run: tests/core/test_webhooks.py.)
    assert result.result == {
        "outbox_events": 2,
        "email_deliveries": 1,
        "expired_tokens": 1,
        "webhook_deliveries": 0,
    }
    assert list(OutboxEvent.objects.values_list("id", flat=True)) == [kept_event.id]
    assert list(EmailDelivery.objects.values_list("id", flat=True)) == [kept_delivery.pk]
    assert list(OutstandingToken.objects.values_list("id", flat=True)) == [kept_token.pk]


def test_beat_schedules_expiry_reminders_and_housekeeping_at_the_configured_intervals():
    from worker.celery import app

    schedule = app.conf.beat_schedule
    assert schedule["expire-stale-jobs"]["task"] == "tasks.maintenance.expire_stale_jobs"
    assert schedule["send-expiry-reminders"]["task"] == "tasks.maintenance.send_expiry_reminders"
    assert schedule["housekeeping"]["task"] == "tasks.maintenance.housekeeping"
    assert schedule["expire-stale-jobs"]["schedule"] == settings.JOB_EXPIRY_INTERVAL_SECONDS
    assert schedule["housekeeping"]["schedule"] == settings.HOUSEKEEPING_INTERVAL_SECONDS
    for entry in schedule.values():
        assert entry["task"] in app.tasks


# --- Emails to the employer ---------------------------------------------------------------------


@pytest.fixture
def locmem_email(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    tasks.email.close_connection()
    mail.outbox = []
    yield mail.outbox
    tasks.email.close_connection()


def test_an_expired_job_emails_its_employer_once(locmem_email, employer, make_job):
    job = make_job(expired=True, title="Night Shift Operator")
    expiry.expire_stale_jobs()
    [event] = events_of(events.JOB_EXPIRED)

    first = notify_employer_of_expiry.apply(args=[str(event.id)])
    second = notify_employer_of_expiry.apply(args=[str(event.id)])

    assert first.result == "sent"
    assert second.result == "duplicate"
    [message] = mail.outbox
    assert message.to == [employer.email]
    assert "Night Shift Operator" in message.subject
    assert "expired" in message.subject
    assert settings.FRONTEND_JOB_URL.format(id=job.pk) in message.body
    delivery = EmailDelivery.objects.get(event_id=event.id)
    assert delivery.status == DeliveryStatus.SENT
    assert delivery.template == "job_expired"


def test_a_job_expiring_soon_emails_its_employer_the_renew_link(locmem_email, employer, make_job):
    job = set_expiry(make_job(title="Data Platform Lead"), timedelta(days=2))
    expiry.flag_jobs_expiring_soon()
    [event] = events_of(events.JOB_EXPIRING_SOON)

    first = remind_employer_of_expiry.apply(args=[str(event.id)])
    second = remind_employer_of_expiry.apply(args=[str(event.id)])

    assert first.result == "sent"
    assert second.result == "duplicate"
    [message] = mail.outbox
    assert message.to == [employer.email]
    assert "Data Platform Lead" in message.subject
    assert f"{job.expires_at:%Y-%m-%d}" in message.subject
    # A page of the front end that renews it: a link in an email cannot POST to the API.
    renew_link = settings.FRONTEND_RENEW_JOB_URL.format(id=job.pk)
    assert renew_link == f"http://localhost:3000/jobs/{job.pk}/renew"
    assert renew_link in message.body
    assert "POST" not in message.body
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    assert renew_link in html
    assert EmailDelivery.objects.get(event_id=event.id).template == "job_expiring_soon"


def test_expiry_emails_go_to_each_jobs_own_employer(locmem_email, make_job, other_employer):
    mine = make_job(expired=True, title="Mine")
    theirs = make_job(expired=True, title="Theirs", owner=other_employer)
    expiry.expire_stale_jobs()

    for event in events_of(events.JOB_EXPIRED):
        assert notify_employer_of_expiry.apply(args=[str(event.id)]).result == "sent"

    recipients = sorted((message.to[0], message.subject) for message in mail.outbox)
    assert [to for to, _ in recipients] == sorted([mine.employer.email, theirs.employer.email])
    by_recipient = dict(recipients)
    assert "Mine" in by_recipient[mine.employer.email]
    assert "Theirs" in by_recipient[other_employer.email]
