"""Abuse limits as an attacker meets them.

The login throttle holds across several gunicorn workers that share Redis, whatever
`X-Forwarded-For` a client makes up and however many attempts it fires at once; posting jobs,
applying, refreshing tokens and changing the password are limited per user, and a refused request
writes nothing. Query strings, bodies and the fields of an application are bounded.

The gunicorn tests (`start_gunicorn`, tests/core/conftest.py) need PostgreSQL and Redis; without
them they skip, naming what is missing.
"""

from __future__ import annotations

import json
import threading
from collections import Counter

import pytest
from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.core.cache import cache
from rest_framework.test import APIClient
from rest_framework.throttling import ScopedRateThrottle, SimpleRateThrottle
from rest_framework_simplejwt.tokens import RefreshToken

from core.accounts.models import Role, User
from core.applications.models import Application
from core.jobs.models import Job
from core.outbox.models import OutboxEvent
from tests.conftest import client_for
from tests.core.conftest import HttpAnswer
from tests.factories import PASSWORD, bulk_jobs, make_user

LOGIN_URL = "/api/token/"
REFRESH_URL = "/api/token/refresh/"
PASSWORD_URL = "/api/users/me/password/"
JOBS_URL = "/api/jobs/"
JOB_CREATE_URL = "/api/jobs/create/"
MINE_URL = "/api/jobs/mine/"
APPLY_URL = "/api/applications/apply/"
RESUME_URL = "https://example.com/cv.pdf"
WRONG_PASSWORD = "Wrong-Password-123"


# --- Helpers --------------------------------------------------------------------------------


@pytest.fixture
def throttling_on() -> None:
    if not settings.THROTTLE_ENABLED:
        pytest.skip("throttling is switched off (THROTTLE_ENABLED=false)")


@pytest.fixture
def throttle_rate(throttling_on, monkeypatch):
    """Set one scope's rate for this test.

    DRF binds `SimpleRateThrottle.THROTTLE_RATES` to the settings' dict when the module is
    imported, so changing `settings.REST_FRAMEWORK` later would not reach the throttles.
    """

    def set_rate(scope: str, rate: str) -> None:
        monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, scope, rate)

    return set_rate


def assert_throttled(response) -> None:
    assert response.status_code == 429, response.content
    assert int(response["Retry-After"]) >= 1
    assert "detail" in response.json()


def login(client: APIClient, username: str, password: str = PASSWORD, **headers: str):
    body = {"username": username, "password": password}
    return client.post(LOGIN_URL, body, format="json", headers=headers)


def job_body(category_id: int, title: str = "Platform Engineer") -> dict:
    return {
        "title": title,
        "description": "Keep the lights on.",
        "company_name": "Acme",
        "location": "Remote",
        "employment_type": "full_time",
        "category": category_id,
    }


# --- Gunicorn with several workers ----------------------------------------------------------


def make_production_user(username: str) -> User:
    """A seeker whose password hash the server can check: it hashes as production does, not
    with the fast hasher the test process uses."""
    user = make_user(Role.JOB_SEEKER, username=username)
    hasher = PBKDF2PasswordHasher()
    User.objects.filter(pk=user.pk).update(password=hasher.encode(PASSWORD, hasher.salt()))
    return user


@pytest.mark.e2e
def test_sixth_login_in_a_minute_is_429_across_gunicorn_workers(start_gunicorn):
    make_production_user("mallory")
    # Three workers that each serve one request and are then replaced by a fresh process: no
    # two attempts share a process, so whatever counts them must live in Redis.
    server = start_gunicorn("--workers", "3", "--max-requests", "1", "--preload")

    answers = []
    for attempt in range(6):
        password = PASSWORD if attempt in (0, 5) else WRONG_PASSWORD
        # A made-up X-Forwarded-For on every attempt: with no trusted proxy it names nobody.
        spoofed = f"198.51.100.{attempt + 1}"
        answers.append(
            server.post(
                LOGIN_URL,
                {"username": "mallory", "password": password},
                **{"X-Forwarded-For": spoofed},
            )
        )

    statuses = [answer.status for answer in answers]
    assert statuses == [200, 401, 401, 401, 401, 429], [a.body[:200] for a in answers]
    assert set(answers[0].json()) == {"access", "refresh"}  # the server reads this test's data
    sixth = answers[5]
    assert 1 <= int(sixth.headers["Retry-After"]) <= 60
    assert sixth.headers["Content-Type"].startswith("application/json")
    assert "detail" in sixth.json()
    assert "access" not in sixth.json()
    pids = server.pids_that_served(LOGIN_URL, requests=6)
    assert len(pids) == 6
    assert len(set(pids)) == 6, pids


@pytest.mark.e2e
def test_a_parallel_burst_of_logins_gets_no_more_than_the_limit_through(start_gunicorn):
    make_production_user("mallory")
    # Three processes of five threads, each taking at most five connections at a time: fifteen
    # attempts in flight at once, spread over the workers. (Sync workers would take them a few
    # at a time and hide a counting race.)
    server = start_gunicorn(
        "--workers", "3", "--threads", "5", "--worker-connections", "5", "--preload"
    )
    burst = 15
    barrier = threading.Barrier(burst)
    answers: list[HttpAnswer] = []
    lock = threading.Lock()

    def attempt() -> None:
        barrier.wait(timeout=30)
        answer = server.post(LOGIN_URL, {"username": "mallory", "password": WRONG_PASSWORD})
        with lock:
            answers.append(answer)

    threads = [threading.Thread(target=attempt) for _ in range(burst)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    statuses = Counter(answer.status for answer in answers)
    assert statuses == {401: 5, 429: burst - 5}, statuses
    assert len(set(server.pids_that_served(LOGIN_URL, requests=burst))) > 1


@pytest.mark.e2e
def test_an_oversized_body_through_gunicorn_is_a_json_413(start_gunicorn):
    server = start_gunicorn("--workers", "1")
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    body = json.dumps({"username": "x" * limit, "password": "y"}).encode()

    answer = server.post(LOGIN_URL, body)

    assert answer.status == 413
    assert answer.headers["Content-Type"].startswith("application/json")
    assert answer.json() == {
        "detail": f"Request body too large (limit {limit} bytes).",
        "code": "request_too_large",
    }


# --- Client identity behind a proxy ---------------------------------------------------------


def test_made_up_forwarded_for_headers_do_not_escape_the_login_limit(throttle_rate, seeker):
    """With no trusted proxy (the default) the socket address is the client, whatever it says."""
    throttle_rate("login", "5/min")
    client = APIClient(REMOTE_ADDR="192.0.2.10")

    answers = [
        login(client, "alice", WRONG_PASSWORD, **{"X-Forwarded-For": f"203.0.113.{n}"})
        for n in range(6)
    ]

    assert [answer.status_code for answer in answers[:5]] == [401] * 5
    assert_throttled(answers[5])
    assert login(APIClient(REMOTE_ADDR="192.0.2.11"), "alice").status_code == 200


@pytest.fixture
def one_trusted_proxy(settings):
    """As deployed behind one reverse proxy that appends the address it saw (TRUSTED_PROXY_COUNT=1).

    DRF reloads its settings when `REST_FRAMEWORK` changes, so `NUM_PROXIES` reaches `get_ident`.
    """
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}


def test_behind_a_proxy_the_client_is_the_address_the_proxy_appended(
    throttle_rate, one_trusted_proxy, seeker
):
    throttle_rate("login", "5/min")
    proxy = APIClient(REMOTE_ADDR="10.0.0.2")

    # The client prepends whatever it likes; the proxy appends the address it really saw.
    answers = [
        login(proxy, "alice", WRONG_PASSWORD, **{"X-Forwarded-For": f"203.0.113.{n}, 192.0.2.20"})
        for n in range(6)
    ]

    assert [answer.status_code for answer in answers[:5]] == [401] * 5
    assert_throttled(answers[5])
    # Another client behind the same proxy has a budget of its own.
    other = login(proxy, "alice", **{"X-Forwarded-For": "192.0.2.21"})
    assert other.status_code == 200, other.content


# --- Per-user limits on writes --------------------------------------------------------------


def configured_limit(scope: str) -> int:
    """How many requests the configured rate of `scope` allows per period."""
    num_requests, _ = ScopedRateThrottle().parse_rate(SimpleRateThrottle.THROTTLE_RATES[scope])
    return num_requests


def test_posting_jobs_is_limited_per_employer_on_both_paths_and_refusals_write_nothing(
    throttling_on, employer, other_employer, category
):
    limit = configured_limit("job_post")
    client = client_for(employer)

    def post(n: int):
        # Both paths of the contract, and a new address each time: the budget is the user's.
        url = JOBS_URL if n % 2 else JOB_CREATE_URL
        return client.post(
            url, job_body(category.pk, f"Job {n}"), format="json", REMOTE_ADDR=f"10.9.{n}.1"
        )

    codes = [post(n).status_code for n in range(limit)]
    events_before = OutboxEvent.objects.count()
    refused = [post(limit), post(limit + 1)]

    assert codes == [201] * limit
    for response in refused:
        assert_throttled(response)
    assert Job.objects.filter(employer=employer).count() == limit
    assert not Job.objects.filter(title__in=[f"Job {limit}", f"Job {limit + 1}"]).exists()
    assert OutboxEvent.objects.count() == events_before
    other = client_for(other_employer).post(JOBS_URL, job_body(category.pk), format="json")
    assert other.status_code == 201, other.content


def test_applying_is_limited_per_seeker_whatever_address_they_use(
    throttle_rate, seeker, other_seeker, make_job
):
    throttle_rate("apply", "2/hour")
    jobs = [make_job(title=f"Opening {n}") for n in range(3)]
    client = client_for(seeker)

    def apply(job: Job, address: str):
        body = {"job": job.pk, "cover_letter": "Hi", "resume_url": RESUME_URL}
        return client.post(APPLY_URL, body, format="json", REMOTE_ADDR=address)

    codes = [apply(jobs[0], "10.8.0.1").status_code, apply(jobs[1], "10.8.0.2").status_code]
    events_before = OutboxEvent.objects.count()
    third = apply(jobs[2], "10.8.0.3")

    assert codes == [201, 201]
    assert_throttled(third)
    assert not Application.objects.filter(job=jobs[2]).exists()
    assert OutboxEvent.objects.count() == events_before
    other = client_for(other_seeker).post(
        APPLY_URL, {"job": jobs[2].pk, "resume_url": RESUME_URL}, format="json"
    )
    assert other.status_code == 201, other.content


def test_guessing_the_current_password_is_limited_per_user(throttle_rate, seeker, other_seeker):
    throttle_rate("login", "5/min")
    client = client_for(seeker)

    def change(old: str, address: str):
        body = {"old_password": old, "new_password": "Purple-Giraffe-Lantern-42"}
        return client.post(PASSWORD_URL, body, format="json", REMOTE_ADDR=address)

    guesses = [change(f"Guess-number-{n}", f"10.7.0.{n}").status_code for n in range(5)]
    right_one_too_late = change(PASSWORD, "10.7.0.99")

    assert guesses == [400] * 5
    assert_throttled(right_one_too_late)
    seeker.refresh_from_db()
    assert seeker.check_password(PASSWORD)
    other = client_for(other_seeker).post(
        PASSWORD_URL,
        {"old_password": PASSWORD, "new_password": "Purple-Giraffe-Lantern-42"},
        format="json",
    )
    assert other.status_code == 204, other.content


def test_a_throttled_refresh_does_not_use_up_the_refresh_token(throttle_rate, seeker):
    throttle_rate("token_refresh", "3/min")
    client = APIClient(REMOTE_ADDR="10.6.0.1")
    refresh = str(RefreshToken.for_user(seeker))
    for _ in range(3):
        answer = client.post(REFRESH_URL, {"refresh": refresh}, format="json")
        assert answer.status_code == 200, answer.content
        refresh = answer.json()["refresh"]

    fourth = client.post(REFRESH_URL, {"refresh": refresh}, format="json")

    assert_throttled(fourth)
    cache.clear()  # the minute has passed
    later = client.post(REFRESH_URL, {"refresh": refresh}, format="json")
    assert later.status_code == 200, later.content


# --- Bounded input --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("param", "longest"),
    [("search", 200), ("location", 200), ("category", 100)],
)
def test_listing_text_filters_are_bounded_with_a_field_message(anon_client, job, param, longest):
    accepted = anon_client.get(JOBS_URL, {param: "x" * longest})
    refused = anon_client.get(JOBS_URL, {param: "x" * (longest + 1)})

    assert accepted.status_code == 200, accepted.content
    assert refused.status_code == 400, refused.content
    messages = refused.json()[param]
    assert any(str(longest) in message for message in messages), messages


@pytest.mark.parametrize("url", [JOBS_URL, MINE_URL])
def test_every_paginated_list_caps_page_size_at_100(url, employer, employer_client, category):
    bulk_jobs(101, employer=employer, category=category)

    for page_size in (101, 1000, 10**30):
        response = employer_client.get(url, {"page_size": page_size})
        assert response.status_code == 200, response.content
        assert response.json()["count"] == 101
        assert len(response.json()["results"]) == 100
