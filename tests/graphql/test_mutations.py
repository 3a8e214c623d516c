"""Every mutation of the GraphQL contract over HTTP: the REST twin's service runs (its outbox
event is recorded), business-rule refusals come back in the payload's `errors`, and the
authorisation is REST's."""

from __future__ import annotations

import pytest

from core.applications.models import Application, ApplicationStatus
from core.jobs.models import Job, JobStatus
from core.outbox import events
from core.outbox.models import OutboxEvent
from tests.graphql.conftest import gql

CREATE = """mutation($input: CreateJobInput!) { createJob(input: $input) {
    job { id title status employmentType salaryMin salaryMax category { slug } }
    errors { field messages } } }"""
UPDATE = """mutation($id: ID!, $input: UpdateJobInput!) { updateJob(id: $id, input: $input) {
    job { id title salaryMin salaryMax remote } errors { field messages } } }"""
CLOSE = "mutation($id: ID!) { closeJob(id: $id) { job { id status } errors { field messages } } }"
APPLY = """mutation($input: ApplyToJobInput!) { applyToJob(input: $input) {
    application { id status coverLetter job { id } history { toStatus } }
    errors { field messages } } }"""
MOVE = """mutation($id: ID!, $status: ApplicationStatus!, $note: String) {
    moveApplication(id: $id, status: $status, note: $note) {
    application { id status history { fromStatus toStatus note } } errors { field messages } } }"""
WITHDRAW = """mutation($id: ID!) { withdrawApplication(id: $id) {
    application { id status } errors { field messages } } }"""


def event_types() -> list[str]:
    return list(OutboxEvent.objects.order_by("occurred_at").values_list("event_type", flat=True))


@pytest.fixture
def new_job(category) -> dict:
    return {
        "title": "GraphQL engineer",
        "description": "Graphene and Django.",
        "companyName": "Acme",
        "location": "Berlin",
        "employmentType": "FULL_TIME",
        "category": str(category.pk),
        "salaryMin": 50_000,
        "salaryMax": 60_000,
    }


# --- createJob ------------------------------------------------------------------------------


def test_create_job_publishes_it_with_its_event(employer_client, employer, new_job):
    answer = gql(employer_client, CREATE, {"input": new_job})
    payload = answer.data["createJob"]
    assert payload["errors"] == []
    assert payload["job"]["status"] == "PUBLISHED"
    assert payload["job"]["category"] == {"slug": "backend"}
    job = Job.objects.get(pk=payload["job"]["id"])
    assert job.employer == employer
    assert event_types() == [events.JOB_PUBLISHED]


def test_create_job_as_draft_records_no_event(employer_client, new_job):
    answer = gql(employer_client, CREATE, {"input": {**new_job, "draft": True}})
    assert answer.data["createJob"]["job"]["status"] == "DRAFT"
    assert event_types() == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"salaryMin": 70_000, "salaryMax": 60_000}, "salaryMax"),
        ({"category": "999999"}, "category"),
        ({"category": "backend"}, "category"),
        ({"title": "x" * 201}, "title"),
        ({"title": "   "}, "title"),
        ({"salaryCurrency": "euro"}, "salaryCurrency"),
        ({"salaryMin": -5}, "salaryMin"),
    ],
)
def test_create_job_field_errors_come_back_in_the_payload(employer_client, new_job, change, field):
    answer = gql(employer_client, CREATE, {"input": {**new_job, **change}})
    payload = answer.data["createJob"]
    assert payload["job"] is None
    assert [error["field"] for error in payload["errors"]] == [field]
    assert all(error["messages"] for error in payload["errors"])
    assert not Job.objects.exists()


@pytest.mark.parametrize(
    ("who", "code"),
    [
        ("anon_client", "UNAUTHENTICATED"),
        ("seeker_client", "FORBIDDEN"),
        ("admin_client_api", "FORBIDDEN"),
    ],
)
def test_create_job_is_for_employers(request, new_job, who, code):
    answer = gql(request.getfixturevalue(who), CREATE, {"input": new_job})
    assert answer.data is None
    assert answer.codes == [code]
    assert not Job.objects.exists()


# --- updateJob ------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["employer_client", "admin_client_api"])
def test_update_job_by_its_owner_or_an_admin(request, job, who):
    client = request.getfixturevalue(who)
    answer = gql(client, UPDATE, {"id": job.pk, "input": {"title": "Renamed", "remote": True}})
    assert answer.data["updateJob"] == {
        "job": {
            "id": str(job.pk),
            "title": "Renamed",
            "salaryMin": None,
            "salaryMax": None,
            "remote": True,
        },
        "errors": [],
    }
    assert event_types()[-1] == events.JOB_UPDATED


def test_update_job_checks_salaries_against_the_stored_ones(employer_client, make_job):
    job = make_job(salary_min=50_000, salary_max=60_000)
    answer = gql(employer_client, UPDATE, {"id": job.pk, "input": {"salaryMin": 70_000}})
    assert answer.data["updateJob"]["errors"][0]["field"] == "salaryMax"
    cleared = gql(employer_client, UPDATE, {"id": job.pk, "input": {"salaryMax": None}})
    assert cleared.data["updateJob"]["job"]["salaryMax"] is None
    assert cleared.data["updateJob"]["job"]["salaryMin"] == 50_000


def test_a_closed_job_cannot_be_updated(employer_client, make_job):
    job = make_job(status=JobStatus.CLOSED)
    answer = gql(employer_client, UPDATE, {"id": job.pk, "input": {"title": "Again"}})
    assert answer.data["updateJob"]["job"] is None
    assert answer.data["updateJob"]["errors"] == [
        {"field": None, "messages": ["A closed job cannot be edited."]}
    ]


@pytest.mark.parametrize(
    ("who", "code"),
    [
        ("anon_client", "UNAUTHENTICATED"),
        ("seeker_client", "FORBIDDEN"),
        ("other_employer_client", "NOT_FOUND"),
    ],
)
def test_update_job_refuses_everyone_else(request, job, who, code):
    answer = gql(request.getfixturevalue(who), UPDATE, {"id": job.pk, "input": {"title": "X"}})
    assert answer.codes == [code]
    job.refresh_from_db()
    assert job.title == "Backend Engineer"


# --- closeJob -------------------------------------------------------------------------------


def test_close_job_unlists_it(employer_client, anon_client, job):
    answer = gql(employer_client, CLOSE, {"id": job.pk})
    assert answer.data["closeJob"] == {"job": {"id": str(job.pk), "status": "CLOSED"}, "errors": []}
    assert event_types()[-1] == events.JOB_CLOSED
    listing = gql(anon_client, "{ jobs { totalCount } }")
    assert listing.data["jobs"]["totalCount"] == 0


@pytest.mark.parametrize(
    ("who", "code"),
    [
        ("anon_client", "UNAUTHENTICATED"),
        ("seeker_client", "FORBIDDEN"),
        ("other_employer_client", "NOT_FOUND"),
    ],
)
def test_close_job_refuses_everyone_else(request, job, who, code):
    answer = gql(request.getfixturevalue(who), CLOSE, {"id": job.pk})
    assert answer.codes == [code]
    job.refresh_from_db()
    assert job.status == JobStatus.PUBLISHED


# --- applyToJob -----------------------------------------------------------------------------


def application_input(job, **extra) -> dict:
    return {"input": {"job": str(job.pk), "resumeUrl": "https://example.com/cv.pdf", **extra}}


def test_apply_to_job_submits_once(seeker_client, seeker, job):
    answer = gql(seeker_client, APPLY, application_input(job, coverLetter="Hi"))
    payload = answer.data["applyToJob"]
    assert payload["errors"] == []
    assert payload["application"]["status"] == "SUBMITTED"
    assert payload["application"]["coverLetter"] == "Hi"
    assert payload["application"]["history"] == [{"toStatus": "SUBMITTED"}]
    assert event_types()[-1] == events.APPLICATION_SUBMITTED

    again = gql(seeker_client, APPLY, application_input(job))
    assert again.data["applyToJob"]["application"] is None
    assert again.data["applyToJob"]["errors"][0]["messages"] == [
        "You have already applied to this job."
    ]
    assert Application.objects.filter(applicant=seeker).count() == 1


@pytest.mark.parametrize(
    ("state", "field"),
    [("closed", None), ("expired", None), ("draft", "job"), ("unknown", "job")],
)
def test_apply_refuses_jobs_that_are_not_open(seeker_client, make_job, state, field):
    if state == "unknown":
        target = Job(pk=999_999)
    elif state == "expired":
        target = make_job(expired=True)
    else:
        target = make_job(status=state)
    answer = gql(seeker_client, APPLY, application_input(target))
    payload = answer.data["applyToJob"]
    assert payload["application"] is None
    assert [error["field"] for error in payload["errors"]] == [field]
    assert not Application.objects.exists()


@pytest.mark.parametrize("url", ["not a url", "ftp://example.com/cv.pdf", "x" * 600])
def test_apply_refuses_a_bad_resume_url(seeker_client, job, url):
    answer = gql(seeker_client, APPLY, {"input": {"job": str(job.pk), "resumeUrl": url}})
    assert answer.data["applyToJob"]["errors"][0]["field"] == "resumeUrl"


@pytest.mark.parametrize(
    ("who", "code"),
    [("anon_client", "UNAUTHENTICATED"), ("employer_client", "FORBIDDEN")],
)
def test_apply_is_for_job_seekers(request, job, who, code):
    answer = gql(request.getfixturevalue(who), APPLY, application_input(job))
    assert answer.codes == [code]
    assert not Application.objects.exists()


# --- moveApplication ------------------------------------------------------------------------


def test_move_application_along_the_pipeline(employer_client, application):
    answer = gql(employer_client, MOVE, {"id": application.pk, "status": "REVIEWED", "note": "Hi"})
    assert answer.data["moveApplication"]["errors"] == []
    assert answer.data["moveApplication"]["application"]["history"][-1] == {
        "fromStatus": "SUBMITTED",
        "toStatus": "REVIEWED",
        "note": "Hi",
    }
    assert event_types()[-1] == events.APPLICATION_STATUS_CHANGED


@pytest.mark.parametrize(
    ("status", "field"), [("HIRED", None), ("SUBMITTED", "status"), ("WITHDRAWN", "status")]
)
def test_moves_the_pipeline_forbids_are_payload_errors(employer_client, application, status, field):
    answer = gql(employer_client, MOVE, {"id": application.pk, "status": status})
    payload = answer.data["moveApplication"]
    assert payload["application"] is None
    assert [error["field"] for error in payload["errors"]] == [field]
    application.refresh_from_db()
    assert application.status == ApplicationStatus.SUBMITTED


@pytest.mark.parametrize(
    ("who", "code"),
    [
        ("anon_client", "UNAUTHENTICATED"),
        ("seeker_client", "FORBIDDEN"),
        ("other_employer_client", "NOT_FOUND"),
    ],
)
def test_move_application_refuses_everyone_else(request, application, who, code):
    answer = gql(request.getfixturevalue(who), MOVE, {"id": application.pk, "status": "REVIEWED"})
    assert answer.codes == [code]
    application.refresh_from_db()
    assert application.status == ApplicationStatus.SUBMITTED


# --- withdrawApplication --------------------------------------------------------------------


def test_withdraw_application_once(seeker_client, application):
    answer = gql(seeker_client, WITHDRAW, {"id": application.pk})
    assert answer.data["withdrawApplication"] == {
        "application": {"id": str(application.pk), "status": "WITHDRAWN"},
        "errors": [],
    }
    assert event_types()[-1] == events.APPLICATION_WITHDRAWN
    again = gql(seeker_client, WITHDRAW, {"id": application.pk})
    assert again.data["withdrawApplication"]["application"] is None
    assert again.data["withdrawApplication"]["errors"][0]["field"] is None


@pytest.mark.parametrize(
    ("who", "code"),
    [
        ("anon_client", "UNAUTHENTICATED"),
        ("employer_client", "FORBIDDEN"),
        ("other_seeker_client", "NOT_FOUND"),
    ],
)
def test_withdraw_refuses_everyone_else(request, application, who, code):
    answer = gql(request.getfixturevalue(who), WITHDRAW, {"id": application.pk})
    assert answer.codes == [code]
    application.refresh_from_db()
    assert application.status == ApplicationStatus.SUBMITTED
