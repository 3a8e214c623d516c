"""Shared fixtures: users of every role, authenticated API clients, categories and jobs (the
factories behind them are in tests/factories.py)."""

from __future__ import annotations

import os
import uuid
from collections import defaultdict
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.utils import timezone
from rest_framework.test import APIClient

from core import circuit_breakers
from core.accounts.models import User
from core.api.accounts import session_refresh_token
from core.applications import services as application_services
from core.applications.models import Application
from core.jobs import listing_cache
from core.jobs import services as job_services
from core.jobs.models import Category, Job, JobStatus
from core.outbox import events
from tests.factories import AdminFactory, EmployerFactory, SeekerFactory


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hashing():
    """PBKDF2 at production strength costs a quarter second per user; tests need no such cost."""
    from django.conf import settings

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _isolated_cache(settings):
    """Throttle counters and cached pages of one test never leak into the next."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    # API tests read their own writes at once; the listings cache, refreshed by the worker a
    # moment after commit, has tests of its own (tests/core/test_listings_cache.py, tests/e2e).
    settings.LISTINGS_CACHE_ENABLED = False
    cache.clear()
    listing_cache.forget_local()
    yield
    cache.clear()
    listing_cache.forget_local()


@pytest.fixture(autouse=True)
def _closed_circuit_breakers():
    """An outage one test simulated (broker, cache) leaves no circuit open for the next: the
    relay's, the listings cache's and the throttles' breakers are all closed here."""
    circuit_breakers.close_all()
    yield
    circuit_breakers.close_all()


@pytest.fixture
def subscribers(monkeypatch) -> dict[str, list[Any]]:
    """An empty subscriber registry that a test fills with fake handlers: the relay publishes
    to those, not to RabbitMQ."""
    registry: dict[str, list[Any]] = defaultdict(list)
    monkeypatch.setattr(events, "_subscribers", registry)
    return registry


@pytest.fixture
def publisher_calls(monkeypatch) -> list[list[uuid.UUID]]:
    """Replace core's publisher with a recorder of the ids it is asked to publish; nothing is
    sent."""
    calls: list[list[uuid.UUID]] = []
    monkeypatch.setattr(events, "_publisher", lambda ids: calls.append(list(ids)))
    return calls


def client_for(user: User | None) -> APIClient:
    """An API client sending a real access token of `user` (anonymous when None)."""
    client = APIClient()
    if user is not None:
        access = session_refresh_token(user).access_token
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


@pytest.fixture
def employer(db) -> User:
    return EmployerFactory(username="acme_hr")


@pytest.fixture
def other_employer(db) -> User:
    return EmployerFactory(username="globex_hr")


@pytest.fixture
def seeker(db) -> User:
    return SeekerFactory(username="alice")


@pytest.fixture
def other_seeker(db) -> User:
    return SeekerFactory(username="bob")


@pytest.fixture
def admin_user(db) -> User:
    return AdminFactory(username="root_admin")


@pytest.fixture
def anon_client() -> APIClient:
    return APIClient()


@pytest.fixture
def employer_client(employer) -> APIClient:
    return client_for(employer)


@pytest.fixture
def other_employer_client(other_employer) -> APIClient:
    return client_for(other_employer)


@pytest.fixture
def seeker_client(seeker) -> APIClient:
    return client_for(seeker)


@pytest.fixture
def other_seeker_client(other_seeker) -> APIClient:
    return client_for(other_seeker)


@pytest.fixture
def admin_client_api(admin_user) -> APIClient:
    return client_for(admin_user)


@pytest.fixture
def category(db) -> Category:
    return job_services.create_category(name="Backend", slug="backend")


@pytest.fixture
def make_job(db, employer, category) -> Callable[..., Job]:
    """Create a job through the service (so events and timestamps are real); tweak state after."""

    def factory(
        *,
        owner: User | None = None,
        status: str = JobStatus.PUBLISHED,
        expired: bool = False,
        **fields: Any,
    ) -> Job:
        defaults = {
            "title": "Backend Engineer",
            "description": "Build APIs in Python and Django.",
            "company_name": "Acme",
            "location": "Berlin",
            "employment_type": "full_time",
            "category": category,
        }
        defaults.update(fields)
        job = job_services.create_job(
            employer=owner or employer, fields=defaults, draft=status == JobStatus.DRAFT
        )
        if status == JobStatus.CLOSED:
            job = job_services.close_job(job=job)
        if expired:
            Job.objects.filter(pk=job.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
            job.refresh_from_db()
        if status == JobStatus.EXPIRED:
            Job.objects.filter(pk=job.pk).update(
                status=JobStatus.EXPIRED, expires_at=timezone.now() - timedelta(minutes=1)
            )
            job.refresh_from_db()
        return job

    return factory


@pytest.fixture
def job(make_job) -> Job:
    return make_job()


@pytest.fixture
def application(job, seeker) -> Application:
    return application_services.apply_to_job(
        applicant=seeker,
        job=job,
        cover_letter="I love APIs.",
        resume_url="https://example.com/alice.pdf",
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """In CI nothing may skip: a skipped test there means a service was missing, so fail it."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and os.environ.get("TESTS_FORBID_SKIPS") == "1":
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped, but TESTS_FORBID_SKIPS=1 forbids skips: {reason}"
