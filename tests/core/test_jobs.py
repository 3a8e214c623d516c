"""Jobs over HTTP: posting (the contract's body, drafts, mass assignment, validation), reading one
job, editing, closing, publishing and deleting it, and the employer's own list `/api/jobs/mine/`.

Every test checks what a user sees: the status code and JSON body, the rows in the database and
the events stored in the outbox.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from core.applications import services as application_services
from core.applications.models import Application
from core.jobs import services as job_services
from core.jobs.models import Job, JobStatus
from core.outbox.models import OutboxEvent

CREATE_URLS = ["/api/jobs/create/", "/api/jobs/"]
LIST_URL = "/api/jobs/"
MINE_URL = "/api/jobs/mine/"


def detail_url(pk: int) -> str:
    return f"/api/jobs/{pk}/"


def contract_body(category_id: int, **overrides: Any) -> dict[str, Any]:
    """The body of the contract's `POST /api/jobs/create/` request."""
    body = {
        "title": "Backend Engineer",
        "description": "Build and run our Django REST APIs.",
        "company_name": "Acme",
        "location": "Berlin",
        "employment_type": "full_time",
        "category": category_id,
    }
    body.update(overrides)
    return body


def events_for(job_id: int, event_type: str) -> list[OutboxEvent]:
    return list(OutboxEvent.objects.filter(event_type=event_type, payload__job_id=job_id))


def listed_ids(client) -> list[int]:
    response = client.get(LIST_URL)
    assert response.status_code == 200
    return [item["id"] for item in response.json()["results"]]


def mine_ids(client) -> list[int]:
    response = client.get(MINE_URL)
    assert response.status_code == 200
    return [item["id"] for item in response.json()["results"]]


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value)


# --- Create ---------------------------------------------------------------------------------


@pytest.mark.parametrize("url", CREATE_URLS)
def test_employer_posts_the_contract_body_and_gets_a_published_job_owned_by_them(
    employer_client, employer, category, settings, url
):
    response = employer_client.post(url, contract_body(category.pk), format="json")

    assert response.status_code == 201
    body = response.json()
    job = Job.objects.get()
    assert body["id"] == job.pk
    assert body["title"] == "Backend Engineer"
    assert body["category"] == category.pk
    assert body["category_slug"] == "backend"
    assert body["employment_type"] == "full_time"
    assert body["status"] == "published"
    assert "employer" not in body
    assert "draft" not in body
    assert job.employer == employer
    assert job.status == JobStatus.PUBLISHED
    assert job.published_at is not None
    assert job.expires_at - job.published_at == timedelta(days=settings.JOB_LIFETIME_DAYS)
    assert parse_time(body["published_at"]) == job.published_at
    assert parse_time(body["expires_at"]) == job.expires_at


@pytest.mark.parametrize("url", CREATE_URLS)
def test_posting_a_published_job_stores_one_job_published_event(employer_client, category, url):
    response = employer_client.post(url, contract_body(category.pk), format="json")

    assert response.status_code == 201
    job_id = response.json()["id"]
    events = list(OutboxEvent.objects.all())
    assert [event.event_type for event in events] == ["job.published"]
    assert events[0].payload["job_id"] == job_id
    assert events[0].published_at is None


def test_job_lifetime_follows_the_job_lifetime_days_setting(employer_client, category, settings):
    settings.JOB_LIFETIME_DAYS = 7

    response = employer_client.post(CREATE_URLS[0], contract_body(category.pk), format="json")

    assert response.status_code == 201
    job = Job.objects.get(pk=response.json()["id"])
    assert job.expires_at - job.published_at == timedelta(days=7)


@pytest.mark.parametrize("url", CREATE_URLS)
def test_posting_a_draft_stores_a_draft_with_no_event_that_is_not_listed(
    employer_client, anon_client, category, url
):
    response = employer_client.post(url, contract_body(category.pk, draft=True), format="json")

    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "draft"
    assert body["published_at"] is None
    assert body["expires_at"] is None
    job = Job.objects.get(pk=body["id"])
    assert job.status == JobStatus.DRAFT
    assert not OutboxEvent.objects.exists()
    assert listed_ids(anon_client) == []
    assert anon_client.get(detail_url(job.pk)).status_code == 404


@pytest.mark.parametrize(
    ("client_fixture", "expected_status"),
    [("seeker_client", 403), ("anon_client", 401)],
)
@pytest.mark.parametrize("url", CREATE_URLS)
def test_seekers_and_anonymous_users_cannot_post_jobs(
    request, category, client_fixture, expected_status, url
):
    client = request.getfixturevalue(client_fixture)

    response = client.post(url, contract_body(category.pk), format="json")

    assert response.status_code == expected_status
    assert "detail" in response.json()
    assert not Job.objects.exists()
    assert not OutboxEvent.objects.exists()


def test_ownership_status_and_timestamps_in_the_body_are_ignored(
    employer_client, employer, other_employer, category
):
    body = contract_body(
        category.pk,
        id=999_999,
        status="closed",
        employer=other_employer.pk,
        published_at="2001-01-01T00:00:00Z",
        expires_at="2001-02-01T00:00:00Z",
        closed_at="2001-01-15T00:00:00Z",
        deleted_at="2001-01-20T00:00:00Z",
    )

    response = employer_client.post(CREATE_URLS[0], body, format="json")

    assert response.status_code == 201
    job = Job.objects.get()
    assert job.pk != 999_999
    assert response.json()["id"] == job.pk
    assert job.employer == employer
    assert job.status == JobStatus.PUBLISHED
    assert job.published_at.year > 2001
    assert job.expires_at > job.published_at
    assert job.closed_at is None
    assert job.deleted_at is None
    assert not other_employer.jobs.exists()


@pytest.mark.parametrize(
    ("overrides", "error_field"),
    [
        ({"salary_min": 90_000, "salary_max": 50_000}, "salary_max"),
        ({"category": "1"}, "category"),
        ({"category": 99999999999999999999}, "category"),
        ({"category": -1}, "category"),
        ({"category": True}, "category"),
        ({"category": None}, "category"),
        ({"employment_type": "freelance"}, "employment_type"),
        ({"title": "x" * 201}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "Backend\x00Engineer"}, "title"),
        ({"description": "\t\n "}, "description"),
        ({"salary_currency": "eur"}, "salary_currency"),
        ({"salary_currency": "EURO"}, "salary_currency"),
        ({"salary_min": "50000"}, "salary_min"),
        ({"salary_min": -1}, "salary_min"),
        ({"salary_max": 2**31}, "salary_max"),
        ({"remote": "true"}, "remote"),
        ({"draft": "true"}, "draft"),
    ],
    ids=[
        "salary-min-above-max",
        "category-as-string",
        "category-huge",
        "category-negative",
        "category-boolean",
        "category-null",
        "employment-type-invalid",
        "title-201-chars",
        "title-whitespace-only",
        "title-nul-char",
        "description-whitespace-only",
        "currency-lower-case",
        "currency-four-letters",
        "salary-as-string",
        "salary-negative",
        "salary-over-int-range",
        "remote-as-string",
        "draft-as-string",
    ],
)
def test_invalid_job_bodies_are_400_field_errors_and_write_nothing(
    employer_client, category, overrides, error_field
):
    response = employer_client.post(
        CREATE_URLS[0], contract_body(category.pk, **overrides), format="json"
    )

    assert response.status_code == 400
    errors = response.json()
    assert error_field in errors
    assert isinstance(errors[error_field], list)
    assert not Job.objects.exists()
    assert not OutboxEvent.objects.exists()


def test_unknown_category_id_is_a_400_on_category(employer_client, category):
    body = contract_body(category.pk + 1000)

    response = employer_client.post(CREATE_URLS[0], body, format="json")

    assert response.status_code == 400
    assert "category" in response.json()
    assert not Job.objects.exists()


def test_title_of_exactly_200_characters_is_accepted(employer_client, category):
    response = employer_client.post(
        CREATE_URLS[0], contract_body(category.pk, title="x" * 200), format="json"
    )

    assert response.status_code == 201
    assert len(Job.objects.get().title) == 200


def test_missing_fields_are_each_listed_in_the_400(employer_client, db):
    response = employer_client.post(CREATE_URLS[0], {}, format="json")

    assert response.status_code == 400
    errors = response.json()
    required = {"title", "description", "company_name", "location", "employment_type", "category"}
    assert required <= set(errors)
    assert not Job.objects.exists()


def test_optional_salary_and_remote_fields_are_stored(employer_client, category):
    body = contract_body(
        category.pk, remote=True, salary_min=50_000, salary_max=70_000, salary_currency="EUR"
    )

    response = employer_client.post(CREATE_URLS[0], body, format="json")

    assert response.status_code == 201
    data = response.json()
    assert (data["remote"], data["salary_min"], data["salary_max"], data["salary_currency"]) == (
        True,
        50_000,
        70_000,
        "EUR",
    )
    job = Job.objects.get()
    assert (job.remote, job.salary_min, job.salary_max, job.salary_currency) == (
        True,
        50_000,
        70_000,
        "EUR",
    )


# --- Detail ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "client_fixture",
    [
        "anon_client",
        "seeker_client",
        "other_employer_client",
        "employer_client",
        "admin_client_api",
    ],
)
def test_an_open_job_is_public(request, job, client_fixture):
    client = request.getfixturevalue(client_fixture)

    response = client.get(detail_url(job.pk))

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == job.pk
    assert body["status"] == "published"
    assert not {"employer", "email", "username"} & set(body)


@pytest.mark.parametrize("state", ["draft", "closed", "expired-status", "past-expires-at"], ids=str)
@pytest.mark.parametrize(
    ("client_fixture", "expected_status"),
    [
        ("anon_client", 404),
        ("seeker_client", 404),
        ("other_employer_client", 404),
        ("employer_client", 200),
        ("admin_client_api", 200),
    ],
)
def test_a_job_that_is_not_open_is_visible_only_to_its_owner_and_admins(
    request, make_job, state, client_fixture, expected_status
):
    job = {
        "draft": lambda: make_job(status=JobStatus.DRAFT),
        "closed": lambda: make_job(status=JobStatus.CLOSED),
        "expired-status": lambda: make_job(status=JobStatus.EXPIRED),
        "past-expires-at": lambda: make_job(expired=True),
    }[state]()
    client = request.getfixturevalue(client_fixture)

    response = client.get(detail_url(job.pk))

    assert response.status_code == expected_status
    if expected_status == 200:
        assert response.json()["id"] == job.pk
    else:
        assert "detail" in response.json()


def test_unknown_job_id_is_a_json_404(anon_client, job):
    response = anon_client.get(detail_url(job.pk + 1000))

    assert response.status_code == 404
    assert "detail" in response.json()


def test_out_of_range_job_id_is_a_404_not_a_500(anon_client, job):
    response = anon_client.get(detail_url(99999999999999999999))

    assert response.status_code == 404


# --- Update ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("client_fixture", "expected_status"),
    [
        ("employer_client", 200),
        ("admin_client_api", 200),
        ("other_employer_client", 404),
        ("seeker_client", 403),
        ("anon_client", 401),
    ],
)
def test_patch_is_for_the_owner_and_admins_only(request, job, client_fixture, expected_status):
    client = request.getfixturevalue(client_fixture)

    response = client.patch(detail_url(job.pk), {"title": "Senior Backend Engineer"})

    assert response.status_code == expected_status
    job.refresh_from_db()
    if expected_status == 200:
        assert response.json()["title"] == "Senior Backend Engineer"
        assert job.title == "Senior Backend Engineer"
    else:
        assert job.title == "Backend Engineer"
        assert not events_for(job.pk, "job.updated")


def test_patching_a_published_job_stores_a_job_updated_event(employer_client, job):
    response = employer_client.patch(detail_url(job.pk), {"location": "Hamburg"})

    assert response.status_code == 200
    assert response.json()["location"] == "Hamburg"
    events = events_for(job.pk, "job.updated")
    assert len(events) == 1
    assert events[0].payload["job_id"] == job.pk


def test_patching_a_draft_changes_it_without_an_event(employer_client, make_job):
    draft = make_job(status=JobStatus.DRAFT)

    response = employer_client.patch(detail_url(draft.pk), {"title": "Draft v2"})

    assert response.status_code == 200
    draft.refresh_from_db()
    assert (draft.title, draft.status) == ("Draft v2", JobStatus.DRAFT)
    assert not OutboxEvent.objects.filter(payload__job_id=draft.pk).exists()


def test_patch_keeps_fields_that_are_not_sent(employer_client, make_job):
    job = make_job(remote=True, salary_min=10, salary_max=20, salary_currency="EUR")

    response = employer_client.patch(detail_url(job.pk), {"title": "Renamed"})

    assert response.status_code == 200
    job.refresh_from_db()
    assert (job.remote, job.salary_min, job.salary_max, job.salary_currency) == (
        True,
        10,
        20,
        "EUR",
    )


def test_put_replaces_the_editable_fields(employer_client, job, category):
    body = contract_body(category.pk, title="Platform Engineer", employment_type="contract")

    response = employer_client.put(detail_url(job.pk), body)

    assert response.status_code == 200
    job.refresh_from_db()
    assert (job.title, job.employment_type) == ("Platform Engineer", "contract")


@pytest.mark.parametrize(
    ("changes", "error_field"),
    [
        ({"category": "1"}, "category"),
        ({"salary_min": 100}, "salary_max"),
        ({"title": ""}, "title"),
        ({"employment_type": "bogus"}, "employment_type"),
    ],
    ids=["category-as-string", "salary-min-above-stored-max", "title-blank", "bad-type"],
)
def test_invalid_patch_is_a_400_and_changes_nothing(
    employer_client, make_job, changes, error_field
):
    job = make_job(salary_min=10, salary_max=20)

    response = employer_client.patch(detail_url(job.pk), changes)

    assert response.status_code == 400
    assert error_field in response.json()
    job.refresh_from_db()
    assert (job.title, job.salary_min, job.employment_type) == ("Backend Engineer", 10, "full_time")
    assert not events_for(job.pk, "job.updated")


def test_mass_assignment_through_patch_is_ignored(employer_client, job, other_employer, employer):
    response = employer_client.patch(
        detail_url(job.pk),
        {"status": "closed", "employer": other_employer.pk, "expires_at": "2001-01-01T00:00:00Z"},
    )

    assert response.status_code == 200
    job.refresh_from_db()
    assert job.status == JobStatus.PUBLISHED
    assert job.employer == employer
    assert job.expires_at.year > 2001


@pytest.mark.parametrize("state", [JobStatus.CLOSED, JobStatus.EXPIRED])
def test_patching_a_closed_or_expired_job_is_a_400(employer_client, make_job, state):
    job = make_job(status=state)

    response = employer_client.patch(detail_url(job.pk), {"title": "Reopened?"})

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_job_state"
    job.refresh_from_db()
    assert job.title == "Backend Engineer"
    assert job.status == state


# --- Close ----------------------------------------------------------------------------------


def test_owner_closes_a_job_which_leaves_the_public_but_stays_with_the_owner(
    employer_client, anon_client, job
):
    assert job.pk in listed_ids(anon_client)

    response = employer_client.post(f"{detail_url(job.pk)}close/")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "closed"
    assert body["closed_at"] is not None
    job.refresh_from_db()
    assert job.status == JobStatus.CLOSED
    assert job.closed_at is not None
    assert len(events_for(job.pk, "job.closed")) == 1
    assert job.pk not in listed_ids(anon_client)
    assert anon_client.get(detail_url(job.pk)).status_code == 404
    mine = employer_client.get(MINE_URL).json()["results"]
    assert [(item["id"], item["status"]) for item in mine] == [(job.pk, "closed")]
    owner_detail = employer_client.get(detail_url(job.pk))
    assert owner_detail.status_code == 200
    assert owner_detail.json()["status"] == "closed"


def test_closing_twice_is_harmless_and_stores_one_event(employer_client, job):
    first = employer_client.post(f"{detail_url(job.pk)}close/")
    second = employer_client.post(f"{detail_url(job.pk)}close/")

    assert (first.status_code, second.status_code) == (200, 200)
    assert second.json()["status"] == "closed"
    assert len(events_for(job.pk, "job.closed")) == 1


@pytest.mark.parametrize(
    ("client_fixture", "expected_status"),
    [
        ("admin_client_api", 200),
        ("other_employer_client", 404),
        ("seeker_client", 403),
        ("anon_client", 401),
    ],
)
def test_only_the_owner_or_an_admin_may_close_a_job(request, job, client_fixture, expected_status):
    client = request.getfixturevalue(client_fixture)

    response = client.post(f"{detail_url(job.pk)}close/")

    assert response.status_code == expected_status
    job.refresh_from_db()
    expected = JobStatus.CLOSED if expected_status == 200 else JobStatus.PUBLISHED
    assert job.status == expected
    assert len(events_for(job.pk, "job.closed")) == (1 if expected_status == 200 else 0)


# --- Publish --------------------------------------------------------------------------------


def test_publishing_a_draft_makes_it_public_and_stores_job_published(
    employer_client, anon_client, make_job, settings
):
    draft = make_job(status=JobStatus.DRAFT)

    response = employer_client.post(f"{detail_url(draft.pk)}publish/")

    assert response.status_code == 200
    assert response.json()["status"] == "published"
    draft.refresh_from_db()
    assert draft.status == JobStatus.PUBLISHED
    assert draft.expires_at - draft.published_at == timedelta(days=settings.JOB_LIFETIME_DAYS)
    events = events_for(draft.pk, "job.published")
    assert len(events) == 1
    assert draft.pk in listed_ids(anon_client)
    assert anon_client.get(detail_url(draft.pk)).status_code == 200


@pytest.mark.parametrize("state", [JobStatus.PUBLISHED, JobStatus.CLOSED])
def test_publishing_a_job_that_is_not_a_draft_is_a_400(employer_client, make_job, state):
    job = make_job(status=state)
    events_before = OutboxEvent.objects.count()

    response = employer_client.post(f"{detail_url(job.pk)}publish/")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_job_state"
    job.refresh_from_db()
    assert job.status == state
    assert OutboxEvent.objects.count() == events_before


@pytest.mark.parametrize(
    ("client_fixture", "expected_status"),
    [("other_employer_client", 404), ("seeker_client", 403), ("anon_client", 401)],
)
def test_only_the_owner_or_an_admin_may_publish_a_draft(
    request, make_job, client_fixture, expected_status
):
    draft = make_job(status=JobStatus.DRAFT)
    client = request.getfixturevalue(client_fixture)

    response = client.post(f"{detail_url(draft.pk)}publish/")

    assert response.status_code == expected_status
    draft.refresh_from_db()
    assert draft.status == JobStatus.DRAFT
    assert not events_for(draft.pk, "job.published")


# --- Delete ---------------------------------------------------------------------------------


def test_owner_deletes_a_job_which_disappears_but_keeps_its_applications(
    employer_client, admin_client_api, anon_client, seeker_client, job, application
):
    response = employer_client.delete(detail_url(job.pk))

    assert response.status_code == 204
    for client in (employer_client, admin_client_api, anon_client):
        assert client.get(detail_url(job.pk)).status_code == 404
    assert job.pk not in mine_ids(employer_client)
    assert job.pk not in listed_ids(anon_client)
    job.refresh_from_db()
    assert job.deleted_at is not None
    assert Application.objects.filter(pk=application.pk, job=job).exists()
    assert application.status_changes.count() == 1
    assert len(events_for(job.pk, "job.closed")) == 1

    seeker_list = seeker_client.get("/api/applications/seeker/")
    assert seeker_list.status_code == 200
    items = seeker_list.json()["results"]
    assert [item["id"] for item in items] == [application.pk]
    assert items[0]["job"]["id"] == job.pk
    assert items[0]["job"]["is_deleted"] is True


def test_deleted_job_cannot_be_changed_or_deleted_again(employer_client, job):
    assert employer_client.delete(detail_url(job.pk)).status_code == 204

    assert employer_client.delete(detail_url(job.pk)).status_code == 404
    assert employer_client.patch(detail_url(job.pk), {"title": "Zombie"}).status_code == 404
    assert employer_client.post(f"{detail_url(job.pk)}publish/").status_code == 404
    job.refresh_from_db()
    assert job.title == "Backend Engineer"


@pytest.mark.parametrize(
    ("client_fixture", "expected_status"),
    [
        ("admin_client_api", 204),
        ("other_employer_client", 404),
        ("seeker_client", 403),
        ("anon_client", 401),
    ],
)
def test_only_the_owner_or_an_admin_may_delete_a_job(request, job, client_fixture, expected_status):
    client = request.getfixturevalue(client_fixture)

    response = client.delete(detail_url(job.pk))

    assert response.status_code == expected_status
    job.refresh_from_db()
    assert (job.deleted_at is not None) == (expected_status == 204)


def test_deleting_a_draft_stores_no_event(employer_client, make_job):
    draft = make_job(status=JobStatus.DRAFT)

    response = employer_client.delete(detail_url(draft.pk))

    assert response.status_code == 204
    assert not OutboxEvent.objects.filter(payload__job_id=draft.pk).exists()


# --- The employer's own jobs ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("client_fixture", "expected_status"),
    [("seeker_client", 403), ("anon_client", 401)],
)
def test_mine_is_for_employers_only(request, job, client_fixture, expected_status):
    client = request.getfixturevalue(client_fixture)

    response = client.get(MINE_URL)

    assert response.status_code == expected_status
    assert "results" not in response.json()


def test_mine_lists_own_jobs_in_every_status_with_application_counts(
    employer_client, make_job, other_employer, seeker, other_seeker
):
    published = make_job(title="Published")
    draft = make_job(title="Draft", status=JobStatus.DRAFT)
    closed = make_job(title="Closed", status=JobStatus.CLOSED)
    expired = make_job(title="Expired", status=JobStatus.EXPIRED)
    stale = make_job(title="Stale", expired=True)
    deleted = make_job(title="Deleted")
    job_services.delete_job(job=deleted)
    foreign = make_job(title="Foreign", owner=other_employer)
    for applicant in (seeker, other_seeker):
        application_services.apply_to_job(
            applicant=applicant, job=published, cover_letter="", resume_url="https://e.com/cv.pdf"
        )
    application_services.apply_to_job(
        applicant=seeker, job=foreign, cover_letter="", resume_url="https://e.com/cv.pdf"
    )

    response = employer_client.get(MINE_URL)

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 5
    rows = {item["id"]: (item["status"], item["applications_count"]) for item in body["results"]}
    assert rows == {
        published.pk: ("published", 2),
        draft.pk: ("draft", 0),
        closed.pk: ("closed", 0),
        expired.pk: ("expired", 0),
        stale.pk: ("published", 0),
    }
    assert foreign.pk not in rows
    assert deleted.pk not in rows


def test_mine_of_another_employer_does_not_show_my_jobs(other_employer_client, job):
    response = other_employer_client.get(MINE_URL)

    assert response.status_code == 200
    assert response.json()["count"] == 0
    assert response.json()["results"] == []
