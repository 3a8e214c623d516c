"""The listings cache (`core.jobs.listing_cache`, the bodies of `core.api.listings`) seen through
the public API, in this process.

The autouse fixture of `tests/conftest.py` switches the cache off for API tests; every test here
switches it back on and drops this process's copies, so what is asserted is the real cache: the
default file cache, or Redis when `REDIS_URL` is set (as in CI).

What a client or an operator can observe: a repeated anonymous request answered without touching
the database, entity tags and `304`, one build per normalised query, freshness that comes only
from the generation bump the listings worker does, entries that never outlive the postings they
show, one build for a stampede of concurrent misses, the API still answering with Redis down,
and the listings task re-warming the most requested documents.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.test import override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from core.api import accounts as account_views
from core.api import listings, throttling
from core.jobs import listing_cache, selectors, services
from core.jobs.models import Job, JobStatus
from core.outbox import events
from core.outbox.models import OutboxEvent
from tasks.listings import refresh_listings
from tests.factories import PASSWORD
from tests.services import REDIS, require, unreachable_redis

LIST_URL = "/api/jobs/"
CATEGORIES_URL = "/api/categories/"


# The cache on, empty, and no copy of an earlier test left in this process (tests/core/conftest.py).
pytestmark = pytest.mark.usefixtures("listings_cache_on")


@pytest.fixture
def render_calls(monkeypatch) -> list[tuple]:
    """Count the builds of listing pages: every call of `render_job_list` (thread-safe)."""
    calls: list[tuple] = []
    lock = threading.Lock()
    real_render = listings.render_job_list

    def counting_render(*args, **kwargs):
        with lock:
            calls.append(args)
        return real_render(*args, **kwargs)

    monkeypatch.setattr(listings, "render_job_list", counting_render)
    return calls


@pytest.fixture
def no_publisher(monkeypatch):
    """Committed events stay in the outbox: no message reaches a broker from these tests."""
    monkeypatch.setattr(events, "_publisher", None)


class RecordingCache:
    """The real cache, recording every `set` (key, value, timeout) that goes through it."""

    def __init__(self, real) -> None:
        self._real = real
        self.sets: list[tuple[str, object, object]] = []

    def set(self, key, value, timeout=None, **kwargs):
        self.sets.append((key, value, timeout))
        return self._real.set(key, value, timeout=timeout, **kwargs)

    def __getattr__(self, name):
        return getattr(self._real, name)


@pytest.fixture
def recorded_cache(monkeypatch) -> RecordingCache:
    recorder = RecordingCache(listing_cache.cache)
    monkeypatch.setattr(listing_cache, "cache", recorder)
    return recorder


def listed_ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["results"]]


def detail_url(job: Job) -> str:
    return f"{LIST_URL}{job.pk}/"


def poll(predicate: Callable[[], bool], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.1)


def public_urls(job: Job) -> list[str]:
    return [LIST_URL, detail_url(job), CATEGORIES_URL]


# --- Hits cost no SQL ---------------------------------------------------------------------------


@pytest.mark.parametrize("document", ["listing", "detail", "categories"])
def test_repeated_anonymous_request_is_a_hit_with_no_sql(
    anon_client, job, document, django_assert_num_queries
):
    url = {"listing": LIST_URL, "detail": detail_url(job), "categories": CATEGORIES_URL}[document]
    first = anon_client.get(url)
    assert first.status_code == 200, first.content

    with django_assert_num_queries(0):
        second = anon_client.get(url)

    assert second.status_code == 200
    assert second.content == first.content
    assert_shows(first, job, document)


def assert_shows(response, job: Job, document: str) -> None:
    body = response.json()
    if document == "listing":
        assert [item["id"] for item in body["results"]] == [job.pk]
    elif document == "detail":
        assert body["id"] == job.pk
    else:
        assert [(c["id"], c["open_jobs_count"]) for c in body] == [(job.category_id, 1)]


@pytest.mark.parametrize("document", ["listing", "detail", "categories"])
def test_hit_from_the_shared_cache_without_the_process_copy_issues_no_sql(
    anon_client, job, document, django_assert_num_queries
):
    url = {"listing": LIST_URL, "detail": detail_url(job), "categories": CATEGORIES_URL}[document]
    first = anon_client.get(url)
    assert first.status_code == 200, first.content
    listing_cache.forget_local()

    with django_assert_num_queries(0):
        second = anon_client.get(url)

    assert second.status_code == 200
    assert second.content == first.content


def test_a_miss_reads_the_database(anon_client, job, django_assert_max_num_queries):
    # The counterpart of the hits above: the first request is not answered for free.
    with django_assert_max_num_queries(10) as captured:
        response = anon_client.get(LIST_URL)
    assert listed_ids(response) == [job.pk]
    assert len(captured.captured_queries) >= 1


# --- ETag, Cache-Control, 304 -----------------------------------------------------------------


@pytest.mark.parametrize("index", [0, 1, 2], ids=["listing", "detail", "categories"])
def test_cached_responses_carry_an_etag_and_public_cache_control(anon_client, job, index):
    url = public_urls(job)[index]
    response = anon_client.get(url)

    assert response.status_code == 200
    etag = response["ETag"]
    assert etag.startswith('"')
    assert etag.endswith('"')
    assert len(etag) > 2
    cache_control = response["Cache-Control"]
    assert cache_control.startswith("public, max-age=")
    max_age = int(cache_control.removeprefix("public, max-age="))
    assert 0 <= max_age <= settings.LISTING_CLIENT_MAX_AGE
    # A hit sends the same validator.
    assert anon_client.get(url)["ETag"] == etag


@pytest.mark.parametrize("index", [0, 1, 2], ids=["listing", "detail", "categories"])
def test_matching_if_none_match_is_a_304_with_an_empty_body(anon_client, job, index):
    url = public_urls(job)[index]
    etag = anon_client.get(url)["ETag"]

    response = anon_client.get(url, HTTP_IF_NONE_MATCH=etag)

    assert response.status_code == 304
    assert response.content == b""
    assert response["ETag"] == etag
    assert response["Cache-Control"].startswith("public, max-age=")


def test_weak_or_listed_matching_etag_is_also_a_304(anon_client, job):
    etag = anon_client.get(LIST_URL)["ETag"]

    weak = anon_client.get(LIST_URL, HTTP_IF_NONE_MATCH=f"W/{etag}")
    in_list = anon_client.get(LIST_URL, HTTP_IF_NONE_MATCH=f'"something-else", {etag}')

    assert weak.status_code == 304
    assert in_list.status_code == 304


@pytest.mark.parametrize("index", [0, 1, 2], ids=["listing", "detail", "categories"])
def test_different_etag_gets_the_full_200(anon_client, job, index):
    url = public_urls(job)[index]
    first = anon_client.get(url)

    response = anon_client.get(url, HTTP_IF_NONE_MATCH='"0123456789abcdef0123456789abcdef"')

    assert response.status_code == 200
    assert response.content == first.content
    assert response["ETag"] == first["ETag"]


def test_an_etag_of_an_older_version_gets_the_new_body_after_a_bump(anon_client, job):
    old = anon_client.get(LIST_URL)
    Job.objects.filter(pk=job.pk).update(title="Principal Engineer")
    listing_cache.bump_generation()

    response = anon_client.get(LIST_URL, HTTP_IF_NONE_MATCH=old["ETag"])

    assert response.status_code == 200
    assert response["ETag"] != old["ETag"]
    assert response.json()["results"][0]["title"] == "Principal Engineer"


# --- One build per normalised query ------------------------------------------------------------


def test_parameter_order_does_not_make_a_second_build(anon_client, job, render_calls):
    first = anon_client.get(f"{LIST_URL}?employment_type=full_time&location=Berlin")
    listing_cache.forget_local()  # the shared entry must be found under the same key
    second = anon_client.get(f"{LIST_URL}?location=Berlin&employment_type=full_time")

    assert listed_ids(first) == [job.pk]
    assert second.content == first.content
    assert len(render_calls) == 1


def test_explicit_default_page_and_page_size_do_not_make_a_second_build(
    anon_client, job, render_calls
):
    first = anon_client.get(LIST_URL)
    listing_cache.forget_local()
    second = anon_client.get(f"{LIST_URL}?page=1&page_size={settings.REST_FRAMEWORK['PAGE_SIZE']}")

    assert listed_ids(first) == [job.pk]
    assert second.content == first.content
    assert len(render_calls) == 1


def test_a_different_query_is_a_different_entry(anon_client, job, render_calls):
    berlin = anon_client.get(LIST_URL, {"location": "Berlin"})
    paris = anon_client.get(LIST_URL, {"location": "Paris"})

    assert listed_ids(berlin) == [job.pk]
    assert listed_ids(paris) == []
    assert len(render_calls) == 2


# --- Freshness comes from the generation bump ---------------------------------------------------


def test_a_change_is_invisible_until_the_generation_is_bumped(anon_client, job):
    before_list = anon_client.get(LIST_URL)
    before_detail = anon_client.get(detail_url(job))
    Job.objects.filter(pk=job.pk).update(title="Renamed Behind The Cache's Back")

    # Neither the process copy nor the shared entry knows of the change.
    assert anon_client.get(LIST_URL).content == before_list.content
    listing_cache.forget_local()
    assert anon_client.get(LIST_URL).content == before_list.content
    assert anon_client.get(detail_url(job)).content == before_detail.content

    generation = listing_cache.current_generation()
    assert listing_cache.bump_generation() == generation + 1

    assert anon_client.get(LIST_URL).json()["results"][0]["title"] == (
        "Renamed Behind The Cache's Back"
    )
    assert anon_client.get(detail_url(job)).json()["title"] == "Renamed Behind The Cache's Back"


def test_a_new_job_is_listed_after_the_bump(anon_client, job, make_job):
    anon_client.get(LIST_URL)
    anon_client.get(CATEGORIES_URL)
    newer = make_job(title="Frontend Engineer")
    assert listed_ids(anon_client.get(LIST_URL)) == [job.pk]

    listing_cache.bump_generation()

    assert listed_ids(anon_client.get(LIST_URL)) == [newer.pk, job.pk]
    [backend] = anon_client.get(CATEGORIES_URL).json()
    assert backend["open_jobs_count"] == 2


def test_signed_in_owner_reads_the_database_not_the_cache(anon_client, employer_client, job):
    anon_client.get(detail_url(job))
    Job.objects.filter(pk=job.pk).update(title="Edited Just Now")

    response = employer_client.get(detail_url(job))

    assert response.status_code == 200
    assert response.json()["title"] == "Edited Just Now"


# --- Entries never outlive the postings they show ------------------------------------------------


def test_entry_lifetime_is_bounded_by_the_earliest_expiry_it_shows(
    anon_client, make_job, recorded_cache
):
    soon = make_job(title="Expires In Thirty Seconds")
    later = make_job(title="Expires Tomorrow")
    Job.objects.filter(pk=soon.pk).update(expires_at=timezone.now() + timedelta(seconds=30))
    Job.objects.filter(pk=later.pk).update(expires_at=timezone.now() + timedelta(days=1))
    soon.refresh_from_db()
    later.refresh_from_db()

    for url in (LIST_URL, CATEGORIES_URL, detail_url(soon), detail_url(later)):
        assert anon_client.get(url).status_code == 200

    stored = {
        key: (value, timeout)
        for key, value, timeout in recorded_cache.sets
        if isinstance(value, listing_cache.CachedBody)
    }
    assert len(stored) == 4
    soon_epoch = soon.expires_at.timestamp()
    outliving: list[str] = []
    for key, (entry, timeout) in stored.items():
        # The listing page and the category counts show the 30-second job; so does its detail.
        bound = later.expires_at.timestamp() if key.endswith(f":job:{later.pk}") else soon_epoch
        if entry.valid_until > bound:
            outliving.append(f"{key} valid {entry.valid_until - bound:.6f}s past expires_at")
        assert entry.valid_until <= time.time() + settings.LISTING_CACHE_SECONDS
        assert isinstance(timeout, int)
        if key.endswith(f":job:{later.pk}"):
            assert 1 <= timeout <= settings.LISTING_CACHE_SECONDS
        else:
            assert 1 <= timeout <= 30
        # It is the entry the shared cache holds.
        assert cache.get(key) == entry
    assert outliving == []


def test_client_max_age_never_reaches_past_the_earliest_expiry(anon_client, make_job, settings):
    settings.LISTING_CLIENT_MAX_AGE = 60
    job = make_job()
    Job.objects.filter(pk=job.pk).update(expires_at=timezone.now() + timedelta(seconds=3))

    for url in (LIST_URL, detail_url(job), CATEGORIES_URL):
        response = anon_client.get(url)
        assert response.status_code == 200
        max_age = int(response["Cache-Control"].removeprefix("public, max-age="))
        assert max_age <= 3, url


def test_a_cached_job_stops_being_served_once_it_expires_without_any_worker(anon_client, make_job):
    short_lived = make_job(title="Two Seconds Left")
    lasting = make_job(title="Here To Stay")
    Job.objects.filter(pk=short_lived.pk).update(expires_at=timezone.now() + timedelta(seconds=2))
    assert listed_ids(anon_client.get(LIST_URL)) == [lasting.pk, short_lived.pk]
    assert anon_client.get(detail_url(short_lived)).status_code == 200

    poll(
        lambda: short_lived.pk not in listed_ids(anon_client.get(LIST_URL)),
        timeout=10,
        what="the expired job to drop out of the cached listing",
    )
    assert anon_client.get(detail_url(short_lived)).status_code == 404
    assert listed_ids(anon_client.get(LIST_URL)) == [lasting.pk]
    [backend] = anon_client.get(CATEGORIES_URL).json()
    assert backend["open_jobs_count"] == 1
    # Nothing but the clock did this: no expiry run, no generation bump.
    assert Job.objects.get(pk=short_lived.pk).status == JobStatus.PUBLISHED


def test_an_expired_job_is_excluded_by_the_query_when_no_worker_ran(anon_client, make_job):
    stale = make_job(title="Past Its Date")
    fresh = make_job(title="Still Open")
    Job.objects.filter(pk=stale.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    cache.clear()
    listing_cache.forget_local()

    assert listed_ids(anon_client.get(LIST_URL)) == [fresh.pk]
    assert anon_client.get(detail_url(stale)).status_code == 404
    [backend] = anon_client.get(CATEGORIES_URL).json()
    assert backend["open_jobs_count"] == 1
    assert Job.objects.get(pk=stale.pk).status == JobStatus.PUBLISHED
    assert not OutboxEvent.objects.filter(event_type=events.JOB_EXPIRED).exists()


# --- Stampede: one build for concurrent misses ---------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_misses_on_one_key_build_it_once(make_job, render_calls, no_publisher):
    require(REDIS, why="the stampede test (a cache shared by threads and processes)")
    for n in range(25):
        make_job(title=f"Concurrent {n}")
    cache.clear()
    listing_cache.forget_local()
    threads_count = 50
    barrier = threading.Barrier(threads_count)
    results: list[tuple[int, bytes]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def fetch() -> None:
        try:
            client = APIClient()
            barrier.wait(timeout=30)
            response = client.get(LIST_URL)
            with lock:
                results.append((response.status_code, response.content))
        except BaseException as exc:
            with lock:
                errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=fetch) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert len(results) == threads_count
    assert {status for status, _ in results} == {200}
    assert len({content for _, content in results}) == 1
    assert len(render_calls) == 1
    body = results[0][1].decode()
    assert '"count":25' in body


def test_a_miss_that_lost_the_race_to_a_finished_build_does_not_build_again(
    job, render_calls, monkeypatch
):
    """The interleaving behind a stampede's second build, made deterministic.

    Request A misses; before A tries to become the builder, request B misses, builds, stores
    and releases the lock. A then wins the (now free) lock: it must find B's entry, not build
    the page a second time.
    """
    page_size = settings.REST_FRAMEWORK["PAGE_SIZE"]
    filters = selectors.JobListFilters()
    real_get = listing_cache.cache.get
    interleaved: list[str] = []

    def get_then_let_another_request_finish(key, *args, **kwargs):
        value = real_get(key, *args, **kwargs)
        if value is None and ":jobs:" in key and not key.endswith(":lock") and not interleaved:
            interleaved.append(key)
            assert listings.job_list(filters, 1, page_size) is not None  # request B
            listing_cache.forget_local()
        return value

    class InterleavingCache:
        get = staticmethod(get_then_let_another_request_finish)

        def __getattr__(self, name):
            return getattr(real_cache, name)

    real_cache = listing_cache.cache
    monkeypatch.setattr(listing_cache, "cache", InterleavingCache())

    entry = listings.job_list(filters, 1, page_size)  # request A

    assert interleaved
    assert entry is not None
    assert f'"id":{job.pk}' in entry.body.decode()
    assert len(render_calls) == 1, "the page was built again after another request had built it"


# --- Redis down -------------------------------------------------------------------------------


def test_with_redis_down_public_reads_are_served_from_the_database(
    anon_client, job, monkeypatch, caplog
):
    monkeypatch.setattr(listing_cache, "_last_failure_log", 0.0)
    with override_settings(CACHES=unreachable_redis()), caplog.at_level(logging.WARNING):
        listing_cache.forget_local()
        listing = anon_client.get(LIST_URL)
        detail = anon_client.get(detail_url(job))
        categories = anon_client.get(CATEGORIES_URL)
    listing_cache.forget_local()

    assert listed_ids(listing) == [job.pk]
    assert detail.status_code == 200
    assert detail.json()["id"] == job.pk
    assert categories.status_code == 200
    assert categories.json()[0]["open_jobs_count"] == 1
    assert "ETag" in listing
    assert any("listings cache unavailable" in message for message in caplog.messages)


def test_with_redis_down_throttled_login_and_registration_still_answer(seeker, monkeypatch, caplog):
    # Whatever THROTTLE_ENABLED says in this run, these views use the app's throttles here.
    monkeypatch.setattr(
        account_views.TokenObtainPairView,
        "throttle_classes",
        [throttling.AnonRateThrottle, throttling.ScopedRateThrottle],
    )
    monkeypatch.setattr(
        account_views.RegisterView,
        "throttle_classes",
        [throttling.AnonRateThrottle, throttling.ScopedRateThrottle],
    )
    client = APIClient()
    with override_settings(CACHES=unreachable_redis()), caplog.at_level(logging.WARNING):
        login = client.post(
            "/api/token/", {"username": "alice", "password": PASSWORD}, format="json"
        )
        registration = client.post(
            "/api/users/register/",
            {
                "username": "newcomer",
                "email": "newcomer@example.com",
                "password": PASSWORD,
                "is_job_seeker": True,
            },
            format="json",
        )

    assert login.status_code == 200, login.content
    assert "access" in login.json()
    assert registration.status_code == 201, registration.content
    assert any("throttling skipped" in message for message in caplog.messages)


# --- The listings task bumps and warms ----------------------------------------------------------


def test_refresh_listings_task_bumps_the_generation_and_warms_the_common_documents(
    anon_client, job, make_job, category, django_assert_num_queries
):
    anon_client.get(LIST_URL)
    anon_client.get(CATEGORIES_URL)
    newer = make_job(title="Site Reliability Engineer")
    event = OutboxEvent.objects.filter(
        event_type=events.JOB_PUBLISHED, payload__job_id=newer.pk
    ).get()
    assert listed_ids(anon_client.get(LIST_URL)) == [job.pk]  # still the old page
    generation = listing_cache.current_generation()

    result = refresh_listings.apply(args=[str(event.id)])

    assert result.successful(), result.traceback
    assert result.result.startswith("warmed ")
    assert listing_cache.current_generation() == generation + 1
    with django_assert_num_queries(0):
        listing = anon_client.get(LIST_URL)
        by_slug = anon_client.get(LIST_URL, {"category": category.slug})
        by_id = anon_client.get(LIST_URL, {"category": str(category.pk)})
        categories = anon_client.get(CATEGORIES_URL)
        detail = anon_client.get(detail_url(newer))
    assert listed_ids(listing) == [newer.pk, job.pk]
    assert listed_ids(by_slug) == [newer.pk, job.pk]
    assert listed_ids(by_id) == [newer.pk, job.pk]
    assert categories.json()[0]["open_jobs_count"] == 2
    assert detail.json()["title"] == "Site Reliability Engineer"


def test_refresh_listings_for_a_closed_job_drops_it_from_the_warmed_listing(
    anon_client, job, make_job, django_assert_num_queries
):
    other = make_job(title="Stays Open")
    anon_client.get(LIST_URL)
    services.close_job(job=job)
    event = OutboxEvent.objects.get(event_type=events.JOB_CLOSED)

    refresh_listings.apply(args=[str(event.id)])

    with django_assert_num_queries(0):
        listing = anon_client.get(LIST_URL)
    assert listed_ids(listing) == [other.pk]
