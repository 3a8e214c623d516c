"""Listings freshness and scheduled expiry end to end: real Celery worker and beat processes.

This process serves the public listing from the shared Redis cache (the cache switched on, as in
production); the worker processes, started with `start_celery`, refresh it on every `job.*`
event; beat runs the expiry. The web side never invalidates anything: if a change shows up in a
listing this process had just cached, the worker did it. Emails land in the SMTP sink.

Needs PostgreSQL and RabbitMQ (see `require_services`) and Redis (`REDIS_URL`): the worker and
this process must share the cache.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import timedelta

import factory
import pytest
from django.core.cache import cache
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from core.accounts.models import Role
from core.jobs import listing_cache, services
from core.jobs.models import Job, JobStatus
from core.outbox import events
from core.outbox.models import OutboxEvent
from tests.conftest import client_for
from tests.e2e.conftest import wait_until
from tests.factories import bulk_jobs, make_user
from tests.services import REDIS, require

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

LIST_URL = "/api/jobs/"
STALE_JOBS = 1000
EMPLOYERS = 10


@pytest.fixture(autouse=True)
def _shared_listings_cache(settings, monkeypatch):
    """The listings cache on, in Redis shared with the workers; polling is not throttled."""
    require(REDIS, why="listings end-to-end tests (Redis shared with the worker)")
    settings.LISTINGS_CACHE_ENABLED = True
    # Polling the anonymous listing twenty times a second would trip the anon rate.
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "anon", "100000/min")
    cache.clear()
    listing_cache.forget_local()
    yield
    listing_cache.forget_local()


def listing(client: APIClient) -> dict[int, dict]:
    response = client.get(LIST_URL)
    assert response.status_code == 200, response.content
    return {item["id"]: item for item in response.json()["results"]}


def generation() -> int:
    return int(cache.get(listing_cache.GENERATION_KEY) or 0)


def job_fields(category, **overrides) -> dict:
    return {
        "title": "Backend Engineer",
        "description": "Django, PostgreSQL and RabbitMQ.",
        "company_name": "Acme",
        "location": "Berlin",
        "employment_type": "full_time",
        "category": category.pk,
        **overrides,
    }


def test_worker_keeps_the_cached_listing_fresh_through_create_update_close_and_expiry(
    start_celery, smtp_sink
):
    start_celery()
    employer = make_user(Role.EMPLOYER, username="fresh_hr")
    owner = client_for(employer)
    public = APIClient()
    category = services.create_category(name="Platform", slug="platform")
    keeper = services.create_job(
        employer=employer,
        fields={**job_fields(category, title="Keeps Its Place"), "category": category},
    )
    wait_until(lambda: keeper.pk in listing(public), timeout=10, what="the first job listed")

    # Created: the page this process just cached does not have it; the worker's refresh does.
    assert len(listing(public)) == 1
    before = generation()
    response = owner.post(LIST_URL, job_fields(category, title="Queue Wrangler"), format="json")
    assert response.status_code == 201, response.content
    job_id = response.json()["id"]
    wait_until(lambda: job_id in listing(public), timeout=10, what="the new job to be listed")
    assert generation() > before

    # Updated.
    assert listing(public)[job_id]["title"] == "Queue Wrangler"
    before = generation()
    response = owner.patch(f"{LIST_URL}{job_id}/", {"title": "Senior Queue Wrangler"})
    assert response.status_code == 200, response.content
    wait_until(
        lambda: listing(public)[job_id]["title"] == "Senior Queue Wrangler",
        timeout=10,
        what="the new title in the listing",
    )
    assert generation() > before
    assert public.get(f"{LIST_URL}{job_id}/").json()["title"] == "Senior Queue Wrangler"

    # Closed.
    assert job_id in listing(public)
    response = owner.post(f"{LIST_URL}{job_id}/close/")
    assert response.status_code == 200, response.content
    wait_until(lambda: job_id not in listing(public), timeout=10, what="the closed job to go")
    assert public.get(f"{LIST_URL}{job_id}/").status_code == 404

    # Expired by beat: its date moved into the past behind everyone's back (no event, no bump),
    # so only beat's expiry run and the worker's refresh can take it off the cached page.
    assert keeper.pk in listing(public)
    Job.objects.filter(pk=keeper.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    start_celery("beat", JOB_EXPIRY_INTERVAL_SECONDS="1")
    wait_until(
        lambda: Job.objects.get(pk=keeper.pk).status == JobStatus.EXPIRED,
        timeout=20,
        what="beat's expiry run to expire the job",
    )
    wait_until(lambda: keeper.pk not in listing(public), timeout=10, what="the expired job to go")
    assert OutboxEvent.objects.filter(
        event_type=events.JOB_EXPIRED, payload__job_id=keeper.pk
    ).exists()
    wait_until(lambda: smtp_sink.count() >= 1, timeout=15, what="the expiry email")
    [expiry_email] = smtp_sink.received
    assert expiry_email.envelope_to == [employer.email]
    assert "Keeps Its Place" in expiry_email.message["Subject"]


def test_beat_expires_1000_stale_jobs_and_each_employer_gets_one_email_per_job(
    start_celery, smtp_sink
):
    worker = start_celery(concurrency=4)
    employers = [make_user(Role.EMPLOYER, username=f"bulk_hr_{n}") for n in range(EMPLOYERS)]
    assert len({employer.email for employer in employers}) == EMPLOYERS
    category = services.create_category(name="Bulk", slug="bulk")
    # Job n belongs to employers[n % EMPLOYERS].
    bulk_jobs(
        STALE_JOBS,
        title="Stale posting",
        stale=True,
        employer=factory.Iterator(employers),
        category=category,
    )
    public = APIClient()
    assert public.get(LIST_URL).json()["count"] == 0  # the query already excludes them

    start_celery("beat", JOB_EXPIRY_INTERVAL_SECONDS="1")

    wait_until(
        lambda: smtp_sink.count() >= STALE_JOBS, timeout=120, what=f"{STALE_JOBS} expiry emails"
    )
    time.sleep(1.5)  # a duplicate, if one were coming, would arrive in this time
    assert smtp_sink.count() == STALE_JOBS
    per_recipient = Counter(
        recipient for received in smtp_sink.received for recipient in received.envelope_to
    )
    assert per_recipient == {employer.email: STALE_JOBS // EMPLOYERS for employer in employers}
    assert len({received.message_id for received in smtp_sink.received}) == STALE_JOBS

    assert Job.objects.filter(status=JobStatus.EXPIRED).count() == STALE_JOBS
    expired_events = OutboxEvent.objects.filter(event_type=events.JOB_EXPIRED)
    assert expired_events.count() == STALE_JOBS
    assert len({event.payload["job_id"] for event in expired_events}) == STALE_JOBS
    wait_until(
        lambda: not expired_events.filter(published_at__isnull=True).exists(),
        timeout=30,
        what="every job.expired event to be marked published",
    )
    assert "expiry: 1000 job(s) expired" in worker.log()
