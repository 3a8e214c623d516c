"""Property test: a job matches an alert exactly when the public listing, with the alert's
filters, lists it, on PostgreSQL with full-text search.

The listing (`open_job_rows`, the statement `GET /api/jobs/` runs) answers "which jobs match
these filters"; the instant matcher answers "which alerts does this job match" in one statement
over every alert. Hypothesis generates jobs and saved searches from a small vocabulary (so that
they often match, and often nearly match) and checks both give the same pairs.
"""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.alerts import selectors
from core.alerts.models import JobAlert
from core.jobs.models import Category
from core.jobs.selectors import LISTED_FIELDS, open_job_rows
from tests.factories import JobFactory, SeekerFactory, bulk_jobs

pytestmark = pytest.mark.django_db

WORDS = ["django", "python", "rust", "senior", "remote", "berlin", "engineers", "team"]
PLACES = ["Berlin", "Paris", "New Berlin", "Lisbon"]
SLUGS = ["backend", "data"]
TYPES = ["full_time", "part_time", "contract"]

salaries = st.one_of(st.none(), st.integers(0, 200).map(lambda n: n * 1000))


@st.composite
def jobs(draw) -> dict:
    low, high = draw(salaries), draw(salaries)
    if low is not None and high is not None and low > high:
        low, high = high, low
    return {
        "title": " ".join(draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=3))),
        "description": " ".join(draw(st.lists(st.sampled_from(WORDS), max_size=4))) or "x",
        "company_name": draw(st.sampled_from(["Acme", "Rust Belt", "Django Co"])),
        "location": draw(st.sampled_from(PLACES)),
        "remote": draw(st.booleans()),
        "employment_type": draw(st.sampled_from(TYPES)),
        "salary_min": low,
        "salary_max": high,
        "slug": draw(st.sampled_from(SLUGS)),
        "stale": draw(st.integers(0, 5)) == 0,
    }


search_terms = st.one_of(
    st.just(""),
    st.sampled_from(WORDS),
    st.tuples(st.sampled_from(WORDS), st.sampled_from(WORDS)).map(" ".join),
    st.tuples(st.sampled_from(WORDS), st.sampled_from(WORDS)).map(lambda t: f"{t[0]} -{t[1]}"),
    st.tuples(st.sampled_from(WORDS), st.sampled_from(WORDS)).map(lambda t: f"{t[0]} or {t[1]}"),
    st.tuples(st.sampled_from(WORDS), st.sampled_from(WORDS)).map(lambda t: f'"{t[0]} {t[1]}"'),
)


@st.composite
def alert_filters(draw) -> dict:
    def maybe(strategy, empty):
        return draw(st.one_of(st.just(empty), strategy))

    low, high = draw(salaries), draw(salaries)
    if low is not None and high is not None and low > high:
        low, high = high, low
    return {
        "search": draw(search_terms),
        # A slug, or the id as digits ("id:<slug>", resolved once the categories exist).
        "category": maybe(st.sampled_from([*SLUGS, *(f"id:{slug}" for slug in SLUGS)]), ""),
        "employment_type": maybe(st.sampled_from(TYPES), ""),
        "location": maybe(st.sampled_from(["berlin", "BERLIN", "new", "is", "x%", "_"]), ""),
        "remote": maybe(st.booleans(), None),
        "salary_min": low,
        "salary_max": high,
    }


_ID_COLUMN = LISTED_FIELDS.index("id")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="full-text search is PostgreSQL's")
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    job_specs=st.lists(jobs(), min_size=1, max_size=8),
    filter_specs=st.lists(alert_filters(), min_size=1, max_size=6),
)
def test_the_instant_matcher_agrees_with_the_listing(job_specs, filter_specs):
    with transaction.atomic():
        categories = {slug: Category.objects.create(name=slug.title(), slug=slug) for slug in SLUGS}
        employer = JobFactory.build().employer
        employer.save()
        created = []
        for spec in job_specs:
            spec = dict(spec)
            slug, stale = spec.pop("slug"), spec.pop("stale")
            created += bulk_jobs(
                1, employer=employer, category=categories[slug], stale=stale, **spec
            )
        seeker = SeekerFactory()
        alerts = []
        for spec in filter_specs:
            columns = dict(spec)
            if columns["category"].startswith("id:"):
                columns["category"] = str(categories[columns["category"][3:]].pk)
            alerts.append(
                JobAlert.objects.create(user=seeker, name="a", frequency="instant", **columns)
            )

        by_listing = set()
        for alert in alerts:
            rows, _ = open_job_rows(filters=selectors.filters_of(alert), offset=0, limit=100)
            by_listing |= {(alert.pk, row[_ID_COLUMN]) for row in rows}
        by_matcher = {
            (alert_id, job.pk)
            for job in created
            for alert_id, _ in selectors.instant_alerts_matching(job_id=job.pk)
        }

        assert by_matcher == by_listing
        transaction.set_rollback(True)
