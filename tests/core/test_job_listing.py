"""The public job listing `GET /api/jobs/`: only open jobs, no employer data, search, filters,
ordering, pagination, bad query parameters answered with 400 (never 500), PostgreSQL full-text
ranking, and a constant number of queries per page on every list endpoint.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from core.accounts.models import Role
from core.applications import services as application_services
from core.applications.models import ApplicationStatus
from core.jobs import services as job_services
from core.jobs.models import Job, JobStatus
from tests.conftest import client_for
from tests.factories import bulk_jobs, make_user
from tests.services import POSTGRESQL, require

LIST_URL = "/api/jobs/"
PERSONAL_KEYS = {"employer", "employer_id", "email", "username", "first_name", "last_name"}


def ids_of(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["results"]]


def all_keys(value: Any) -> set[str]:
    """Every key of every object nested anywhere in `value`."""
    if isinstance(value, dict):
        keys = set(value)
        for child in value.values():
            keys |= all_keys(child)
        return keys
    if isinstance(value, list):
        return set().union(*(all_keys(child) for child in value)) if value else set()
    return set()


def require_postgresql() -> None:
    require(POSTGRESQL, why="full-text search tests")


# --- What is listed -------------------------------------------------------------------------


def test_anonymous_listing_is_paginated(anon_client, job):
    response = anon_client.get(LIST_URL)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 1
    assert body["next"] is None
    assert body["previous"] is None
    assert [item["id"] for item in body["results"]] == [job.pk]
    assert body["results"][0]["status"] == "published"


def test_only_published_unexpired_not_deleted_jobs_are_listed(anon_client, make_job):
    open_job = make_job(title="Open")
    make_job(title="Draft", status=JobStatus.DRAFT)
    make_job(title="Closed", status=JobStatus.CLOSED)
    make_job(title="Expired status", status=JobStatus.EXPIRED)
    make_job(title="Published but past expires_at", expired=True)
    job_services.delete_job(job=make_job(title="Deleted"))

    response = anon_client.get(LIST_URL)

    assert ids_of(response) == [open_job.pk]
    assert response.json()["count"] == 1


def test_listed_items_carry_no_personal_data_of_the_employer(anon_client, make_job, employer):
    make_job(salary_min=1, salary_max=2, salary_currency="EUR")

    response = anon_client.get(LIST_URL)

    assert response.status_code == 200
    item = response.json()["results"][0]
    assert not PERSONAL_KEYS & all_keys(item)
    text = response.content.decode()
    assert employer.email not in text
    assert employer.username not in text


def test_authenticated_users_see_the_same_public_listing(
    employer_client, seeker_client, make_job, other_employer
):
    mine_open = make_job(title="Mine open")
    make_job(title="Mine draft", status=JobStatus.DRAFT)
    theirs = make_job(title="Theirs", owner=other_employer)

    assert set(ids_of(employer_client.get(LIST_URL))) == {mine_open.pk, theirs.pk}
    assert set(ids_of(seeker_client.get(LIST_URL))) == {mine_open.pk, theirs.pk}


# --- Ordering and search --------------------------------------------------------------------


@pytest.fixture
def three_jobs_created_and_published_in_opposite_orders(make_job) -> list[Job]:
    """Jobs whose `created_at` order is the reverse of their `published_at` order."""
    base = timezone.now() - timedelta(days=3)
    jobs = [make_job(title=f"Backend job {n}") for n in range(3)]
    for n, job in enumerate(jobs):
        Job.objects.filter(pk=job.pk).update(
            created_at=base + timedelta(hours=n), published_at=base + timedelta(hours=10 - n)
        )
    return jobs


def test_contract_search_with_ordering_created_at_sorts_oldest_first(
    anon_client, three_jobs_created_and_published_in_opposite_orders, make_job
):
    jobs = three_jobs_created_and_published_in_opposite_orders
    make_job(title="Frontend role", description="React.", company_name="Initech")

    response = anon_client.get("/api/jobs/?search=Backend&ordering=created_at")

    assert ids_of(response) == [job.pk for job in jobs]


def test_ordering_minus_created_at_sorts_newest_first(
    anon_client, three_jobs_created_and_published_in_opposite_orders
):
    jobs = three_jobs_created_and_published_in_opposite_orders

    response = anon_client.get(LIST_URL, {"ordering": "-created_at"})

    assert ids_of(response) == [job.pk for job in reversed(jobs)]


def test_default_ordering_is_newest_published_first(
    anon_client, three_jobs_created_and_published_in_opposite_orders
):
    jobs = three_jobs_created_and_published_in_opposite_orders

    response = anon_client.get(LIST_URL)

    assert ids_of(response) == [job.pk for job in jobs]


@pytest.mark.parametrize("field", ["title", "description", "company_name", "location"])
def test_search_matches_each_searched_field(anon_client, make_job, field):
    wanted = make_job(**{field: "Quokka"})
    make_job()

    response = anon_client.get(LIST_URL, {"search": "quokka"})

    assert ids_of(response) == [wanted.pk]


def test_search_never_lists_jobs_that_are_not_open(anon_client, make_job):
    wanted = make_job(title="Quokka keeper")
    make_job(title="Quokka draft", status=JobStatus.DRAFT)
    make_job(title="Quokka closed", status=JobStatus.CLOSED)
    make_job(title="Quokka stale", expired=True)

    response = anon_client.get(LIST_URL, {"search": "quokka"})

    assert ids_of(response) == [wanted.pk]


# --- Filters --------------------------------------------------------------------------------


@pytest.fixture
def design_category(db):
    return job_services.create_category(name="Design", slug="design")


def test_category_filter_accepts_an_id_or_a_slug(anon_client, make_job, design_category):
    backend = make_job()
    design = make_job(title="Designer", category=design_category)

    assert ids_of(anon_client.get(LIST_URL, {"category": design_category.pk})) == [design.pk]
    assert ids_of(anon_client.get(LIST_URL, {"category": "design"})) == [design.pk]
    assert ids_of(anon_client.get(LIST_URL, {"category": "backend"})) == [backend.pk]
    assert ids_of(anon_client.get(LIST_URL, {"category": "no-such-slug"})) == []


def test_employment_type_filter(anon_client, make_job):
    make_job()
    contract = make_job(employment_type="contract")

    assert ids_of(anon_client.get(LIST_URL, {"employment_type": "contract"})) == [contract.pk]


def test_location_filter_matches_part_of_the_location_ignoring_case(anon_client, make_job):
    make_job(location="Berlin")
    munich = make_job(location="Munich, Germany")

    assert ids_of(anon_client.get(LIST_URL, {"location": "munich"})) == [munich.pk]


@pytest.mark.parametrize(("value", "expect_remote"), [("true", True), ("false", False)])
def test_remote_filter(anon_client, make_job, value, expect_remote):
    remote = make_job(remote=True)
    onsite = make_job(remote=False)

    response = anon_client.get(LIST_URL, {"remote": value})

    assert ids_of(response) == [remote.pk if expect_remote else onsite.pk]


def test_salary_filters_select_overlapping_ranges(anon_client, make_job):
    low = make_job(title="Low", salary_min=30_000, salary_max=40_000)
    mid = make_job(title="Mid", salary_min=50_000, salary_max=70_000)
    high = make_job(title="High", salary_min=90_000, salary_max=120_000)
    floor_only = make_job(title="Floor only", salary_min=80_000)
    make_job(title="No salary")

    paying_60k = set(ids_of(anon_client.get(LIST_URL, {"salary_min": 60_000})))
    starting_under_60k = set(ids_of(anon_client.get(LIST_URL, {"salary_max": 60_000})))
    both = set(ids_of(anon_client.get(LIST_URL, {"salary_min": 35_000, "salary_max": 55_000})))

    assert paying_60k == {mid.pk, high.pk, floor_only.pk}
    assert starting_under_60k == {low.pk, mid.pk}
    assert both == {low.pk, mid.pk}


def test_posted_since_filter(anon_client, make_job):
    old = make_job(title="Old")
    recent = make_job(title="Recent")
    now = timezone.now()
    Job.objects.filter(pk=old.pk).update(published_at=now - timedelta(days=10))
    Job.objects.filter(pk=recent.pk).update(published_at=now - timedelta(days=1))

    response = anon_client.get(LIST_URL, {"posted_since": (now - timedelta(days=5)).isoformat()})

    assert ids_of(response) == [recent.pk]


@pytest.mark.parametrize(
    ("params", "error_field"),
    [
        ({"ordering": "bogus"}, "ordering"),
        ({"ordering": "employer__email"}, "ordering"),
        ({"remote": "maybe"}, "remote"),
        ({"salary_min": "abc"}, "salary_min"),
        ({"salary_min": "-1"}, "salary_min"),
        ({"salary_max": "99999999999999999999"}, "salary_max"),
        ({"employment_type": "bogus"}, "employment_type"),
        ({"search": "x" * 201}, "search"),
        ({"search": "back\x00end"}, "search"),
        ({"location": "ber\x00lin"}, "location"),
        ({"posted_since": "last tuesday"}, "posted_since"),
        ({"page_size": "abc"}, "page_size"),
        ({"page_size": "0"}, "page_size"),
        ({"page_size": "-5"}, "page_size"),
        ({"page_size": "1.5"}, "page_size"),
    ],
    ids=[
        "ordering-bogus",
        "ordering-private-field",
        "remote-maybe",
        "salary-not-a-number",
        "salary-negative",
        "salary-huge",
        "employment-type-bogus",
        "search-201-chars",
        "search-nul",
        "location-nul",
        "posted-since-garbage",
        "page-size-text",
        "page-size-zero",
        "page-size-negative",
        "page-size-fraction",
    ],
)
def test_invalid_query_parameters_are_a_400_field_error(anon_client, job, params, error_field):
    response = anon_client.get(LIST_URL, params)

    assert response.status_code == 400
    assert error_field in response.json()


@pytest.mark.parametrize(
    "params",
    [
        {"category": "99999999999999999999"},
        {"category": "0"},
        {"search": "'\"():&|!*<->"},
        {"search": "-"},
        {"search": "the and of"},
        {"page_size": ""},
    ],
    ids=[
        "category-out-of-range",
        "category-zero",
        "search-operators",
        "search-lone-minus",
        "search-only-stop-words",
        "page-size-empty",
    ],
)
def test_odd_but_harmless_query_parameters_answer_200(anon_client, job, params):
    response = anon_client.get(LIST_URL, params)

    assert response.status_code == 200
    assert set(response.json()) == {"count", "next", "previous", "results"}


# --- Pagination -----------------------------------------------------------------------------


def test_page_size_splits_the_listing_into_pages(anon_client, make_job):
    jobs = [make_job(title=f"Job {n}") for n in range(3)]

    first = anon_client.get(LIST_URL, {"page_size": 2})
    second = anon_client.get(LIST_URL, {"page_size": 2, "page": 2})

    assert first.json()["count"] == 3
    assert len(first.json()["results"]) == 2
    assert first.json()["next"] is not None
    assert second.json()["previous"] is not None
    assert second.json()["next"] is None
    assert sorted(ids_of(first) + ids_of(second)) == sorted(job.pk for job in jobs)


def test_page_size_over_100_is_capped_at_100(anon_client, employer, category):
    bulk_jobs(101, employer=employer, category=category)

    response = anon_client.get(LIST_URL, {"page_size": 1000})

    assert response.status_code == 200
    assert response.json()["count"] == 101
    assert len(response.json()["results"]) == 100
    assert response.json()["next"] is not None


def test_a_page_size_of_thousands_of_digits_is_capped_not_an_error(anon_client, job):
    # int() refuses strings of more than 4300 digits; the number is merely big.
    response = anon_client.get(LIST_URL, {"page_size": "9" * 5000})

    assert response.status_code == 200
    assert ids_of(response) == [job.pk]


def test_paginated_lists_refuse_a_page_size_that_is_not_a_positive_integer(employer_client, job):
    response = employer_client.get("/api/jobs/mine/", {"page_size": "ten"})

    assert response.status_code == 400
    assert response.json() == {"page_size": ["A positive integer is required."]}


@pytest.mark.parametrize("page", ["9999", "abc", "0"])
def test_a_page_past_the_end_or_not_a_number_is_a_json_404(anon_client, job, page):
    response = anon_client.get(LIST_URL, {"page": page})

    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert "detail" in response.json()


# --- Full-text search on PostgreSQL ---------------------------------------------------------


def test_a_title_match_ranks_above_a_description_match_without_ordering(anon_client, make_job):
    require_postgresql()
    in_title = make_job(title="Python Developer", description="Write services.")
    in_description = make_job(title="Backend Engineer", description="We write Python daily.")
    # The newer job would come first by date: only the rank can put the title match first.
    Job.objects.filter(pk=in_title.pk).update(published_at=timezone.now() - timedelta(days=2))

    response = anon_client.get(LIST_URL, {"search": "python"})

    assert ids_of(response) == [in_title.pk, in_description.pk]


def test_explicit_ordering_overrides_the_rank(anon_client, make_job):
    require_postgresql()
    in_title = make_job(title="Python Developer", description="Write services.")
    in_description = make_job(title="Backend Engineer", description="We write Python daily.")
    Job.objects.filter(pk=in_title.pk).update(published_at=timezone.now() - timedelta(days=2))

    response = anon_client.get(LIST_URL, {"search": "python", "ordering": "-published_at"})

    assert ids_of(response) == [in_description.pk, in_title.pk]


def test_websearch_syntax_excludes_a_minus_word(anon_client, make_job):
    require_postgresql()
    python_only = make_job(title="Python Developer", description="Django and Celery.")
    make_job(title="Python Developer", description="Also some Java on the side.")

    response = anon_client.get(LIST_URL, {"search": "python -java"})

    assert ids_of(response) == [python_only.pk]


def test_websearch_syntax_supports_or_and_quoted_phrases(anon_client, make_job):
    require_postgresql()
    rust = make_job(title="Rust Engineer", description="Systems work.")
    go = make_job(title="Go Engineer", description="Cloud services.")
    make_job(title="Java Engineer", description="Spring services.")
    phrase = make_job(title="Engineer", description="Own the machine learning platform.")
    make_job(title="Engineer", description="Learning a new machine each week.")

    either = set(ids_of(anon_client.get(LIST_URL, {"search": "rust or go"})))
    quoted = ids_of(anon_client.get(LIST_URL, {"search": '"machine learning"'}))

    assert either == {rust.pk, go.pk}
    assert quoted == [phrase.pk]


def test_search_stems_words(anon_client, make_job):
    require_postgresql()
    engineer = make_job(title="Senior Engineer", description="Ship features.")
    make_job(title="Product Designer", description="Draw screens.")

    response = anon_client.get(LIST_URL, {"search": "engineers"})

    assert ids_of(response) == [engineer.pk]


def test_search_vector_follows_an_edited_title(employer_client, anon_client, make_job):
    require_postgresql()
    job = make_job(title="Backend Engineer")

    response = employer_client.patch(f"/api/jobs/{job.pk}/", {"title": "Haskell Wizard"})

    assert response.status_code == 200
    assert ids_of(anon_client.get(LIST_URL, {"search": "haskell"})) == [job.pk]
    assert ids_of(anon_client.get(LIST_URL, {"search": "backend"})) == []


# --- Query counts ---------------------------------------------------------------------------

# Generous ceilings; the point of each test is that the count does not grow with the page.
MAX_PUBLIC_LIST_QUERIES = 4
MAX_AUTHENTICATED_LIST_QUERIES = 6


def _apply_with_history(*, job: Job, applicant, employer) -> None:
    """An application moved twice, so it has three history rows."""
    application = application_services.apply_to_job(
        applicant=applicant, job=job, cover_letter="Hello.", resume_url="https://e.com/cv.pdf"
    )
    for step in (ApplicationStatus.REVIEWED, ApplicationStatus.INTERVIEWING):
        application_services.change_application_status(
            application=application, to_status=step, actor=employer
        )


def test_public_listing_costs_the_same_queries_for_5_and_40_jobs(
    anon_client, make_job, design_category, django_assert_max_num_queries
):
    for n in range(5):
        make_job(title=f"Small page {n}", category=design_category)
    for n in range(40):
        make_job(title=f"Big page {n}")

    with django_assert_max_num_queries(MAX_PUBLIC_LIST_QUERIES) as small:
        small_page = anon_client.get(LIST_URL, {"category": "design"})
    with django_assert_max_num_queries(MAX_PUBLIC_LIST_QUERIES) as big:
        big_page = anon_client.get(LIST_URL, {"category": "backend", "page_size": 40})

    assert len(ids_of(small_page)) == 5
    assert len(ids_of(big_page)) == 40
    assert len(big.captured_queries) == len(small.captured_queries)


def test_employer_own_jobs_cost_the_same_queries_for_5_and_40_jobs(
    employer, employer_client, make_job, seeker, django_assert_max_num_queries
):
    for n in range(5):
        _apply_with_history(job=make_job(title=f"Job {n}"), applicant=seeker, employer=employer)
    with django_assert_max_num_queries(MAX_AUTHENTICATED_LIST_QUERIES) as small:
        small_page = employer_client.get("/api/jobs/mine/", {"page_size": 40})

    for n in range(5, 40):
        _apply_with_history(job=make_job(title=f"Job {n}"), applicant=seeker, employer=employer)
    with django_assert_max_num_queries(MAX_AUTHENTICATED_LIST_QUERIES) as big:
        big_page = employer_client.get("/api/jobs/mine/", {"page_size": 40})

    assert len(ids_of(small_page)) == 5
    assert len(ids_of(big_page)) == 40
    assert {item["applications_count"] for item in big_page.json()["results"]} == {1}
    assert len(big.captured_queries) == len(small.captured_queries)


def test_seeker_applications_cost_the_same_queries_for_3_and_12_applications(
    seeker, seeker_client, make_job, employer, other_employer, django_assert_max_num_queries
):
    owners = [employer, other_employer]
    for n in range(3):
        owner = owners[n % 2]
        job = make_job(title=f"Job {n}", owner=owner)
        _apply_with_history(job=job, applicant=seeker, employer=owner)
    with django_assert_max_num_queries(MAX_AUTHENTICATED_LIST_QUERIES) as small:
        small_page = seeker_client.get("/api/applications/seeker/")

    for n in range(3, 12):
        owner = owners[n % 2]
        job = make_job(title=f"Job {n}", owner=owner)
        _apply_with_history(job=job, applicant=seeker, employer=owner)
    with django_assert_max_num_queries(MAX_AUTHENTICATED_LIST_QUERIES) as big:
        big_page = seeker_client.get("/api/applications/seeker/")

    assert len(ids_of(small_page)) == 3
    assert len(ids_of(big_page)) == 12
    histories = [len(item["status_history"]) for item in big_page.json()["results"]]
    assert histories == [3] * 12
    assert len(big.captured_queries) == len(small.captured_queries)


def test_employer_applications_cost_the_same_queries_for_3_and_12_applications(
    employer, employer_client, make_job, django_assert_max_num_queries
):
    jobs = [make_job(title="Job A"), make_job(title="Job B")]
    seekers = [make_user(Role.JOB_SEEKER) for _ in range(6)]
    pairs = [(job, seeker) for seeker in seekers for job in jobs]
    for job, seeker in pairs[:3]:
        _apply_with_history(job=job, applicant=seeker, employer=employer)
    with django_assert_max_num_queries(MAX_AUTHENTICATED_LIST_QUERIES) as small:
        small_page = employer_client.get("/api/applications/employer/")

    for job, seeker in pairs[3:]:
        _apply_with_history(job=job, applicant=seeker, employer=employer)
    with django_assert_max_num_queries(MAX_AUTHENTICATED_LIST_QUERIES) as big:
        big_page = employer_client.get("/api/applications/employer/")

    assert len(ids_of(small_page)) == 3
    assert len(ids_of(big_page)) == 12
    histories = [len(item["status_history"]) for item in big_page.json()["results"]]
    assert histories == [3] * 12
    assert len(big.captured_queries) == len(small.captured_queries)


def test_employer_applications_never_include_other_employers_applications(
    employer_client, make_job, other_employer, seeker
):
    mine = make_job(title="Mine")
    theirs = make_job(title="Theirs", owner=other_employer)
    own_application = application_services.apply_to_job(
        applicant=seeker, job=mine, cover_letter="", resume_url="https://e.com/cv.pdf"
    )
    application_services.apply_to_job(
        applicant=seeker, job=theirs, cover_letter="", resume_url="https://e.com/cv.pdf"
    )

    assert ids_of(employer_client.get("/api/applications/employer/")) == [own_application.pk]


def test_seeker_applications_list_only_the_callers_own_applications(make_job, employer):
    job = make_job()
    first, second = make_user(Role.JOB_SEEKER), make_user(Role.JOB_SEEKER)
    own = application_services.apply_to_job(
        applicant=first, job=job, cover_letter="", resume_url="https://e.com/cv.pdf"
    )
    application_services.apply_to_job(
        applicant=second, job=job, cover_letter="", resume_url="https://e.com/cv.pdf"
    )

    assert ids_of(client_for(first).get("/api/applications/seeker/")) == [own.pk]


def test_a_search_answers_from_the_newest_matches_only(anon_client, make_job, settings):
    """On PostgreSQL a search covers the newest SEARCH_RESULT_LIMIT matches (bench/search.py)."""
    require(POSTGRESQL, why="full-text search tests")
    settings.SEARCH_RESULT_LIMIT = 3
    jobs = [make_job(title=f"Rustacean {n}") for n in range(5)]
    Job.objects.filter(pk__in=[job.pk for job in jobs[:2]]).update(
        published_at=timezone.now() - timedelta(days=3)
    )
    response = anon_client.get(LIST_URL, {"search": "rustacean"})
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3
    assert sorted(item["id"] for item in body["results"]) == sorted(job.pk for job in jobs[2:])
