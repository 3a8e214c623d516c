"""Every query of the GraphQL contract over HTTP, as each kind of caller: the same rows as REST,
another tenant's objects `NOT_FOUND`, a wrong role `FORBIDDEN`, no token `UNAUTHENTICATED`."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from core.applications import services as application_services
from core.jobs import services as job_services
from core.jobs.models import JobStatus
from tests.graphql.conftest import gql

JOB_FIELDS = """id title description companyName location remote employmentType salaryMin
    salaryMax salaryCurrency status createdAt publishedAt expiresAt category { id name slug }"""
JOBS = "query($first: Int, $after: String) { jobs(first: $first, after: $after) { totalCount "
JOBS += "edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }"


def ids(connection: dict) -> list[int]:
    return [int(edge["node"]["id"]) for edge in connection["edges"]]


def apply(job, seeker, letter="Hello"):
    return application_services.apply_to_job(
        applicant=seeker, job=job, cover_letter=letter, resume_url="https://example.com/cv.pdf"
    )


# --- jobs -----------------------------------------------------------------------------------


def test_jobs_lists_open_jobs_only_with_every_public_field(anon_client, make_job):
    open_job = make_job(title="Open", salary_min=50_000, salary_max=70_000, salary_currency="EUR")
    make_job(title="Draft", status=JobStatus.DRAFT)
    make_job(title="Closed", status=JobStatus.CLOSED)
    make_job(title="Stale", expired=True)  # still published, but its expiry passed
    make_job(title="Expired", status=JobStatus.EXPIRED)

    answer = gql(anon_client, f"{{ jobs {{ totalCount edges {{ node {{ {JOB_FIELDS} }} }} }} }}")

    assert answer.status == 200, answer.body
    assert "errors" not in answer.body
    jobs = answer.data["jobs"]
    assert jobs["totalCount"] == 1
    node = jobs["edges"][0]["node"]
    assert node["id"] == str(open_job.pk)
    assert node["employmentType"] == "FULL_TIME"
    assert node["status"] == "PUBLISHED"
    assert node["salaryMin"] == 50_000
    assert node["salaryCurrency"] == "EUR"
    assert node["category"] == {
        "id": str(open_job.category_id),
        "name": "Backend",
        "slug": "backend",
    }


def test_jobs_pages_with_first_and_after(anon_client, make_job):
    for n in range(5):
        make_job(title=f"Job {n}")
    first = gql(anon_client, JOBS, {"first": 2}).data["jobs"]
    assert first["totalCount"] == 5
    assert first["pageInfo"]["hasNextPage"] is True
    second = gql(anon_client, JOBS, {"first": 2, "after": first["pageInfo"]["endCursor"]})
    second = second.data["jobs"]
    last = gql(anon_client, JOBS, {"first": 2, "after": second["pageInfo"]["endCursor"]})
    last = last.data["jobs"]
    assert last["pageInfo"]["hasNextPage"] is False
    every = ids(first) + ids(second) + ids(last)
    assert len(every) == len(set(every)) == 5
    assert every == ids(gql(anon_client, JOBS, {"first": 10}).data["jobs"])


def test_a_cursor_that_is_not_one_is_bad_input(anon_client, job):
    answer = gql(anon_client, JOBS, {"first": 2, "after": "not-a-cursor"})
    assert answer.codes == ["BAD_USER_INPUT"]
    assert answer.data is None


@pytest.fixture
def varied_jobs(make_job, employer, db):
    design = job_services.create_category(name="Design", slug="design")
    make_job(title="Django developer", location="Berlin", salary_min=60_000, salary_max=80_000)
    make_job(
        title="Rust engineer",
        location="Paris",
        remote=True,
        employment_type="contract",
        salary_min=90_000,
        salary_max=120_000,
    )
    make_job(title="Product designer", category=design, location="Berlin, remote", remote=True)
    make_job(title="Python intern", employment_type="internship", salary_min=20_000)
    old = make_job(title="Old Django role", description="Legacy Django code")
    old.published_at = timezone.now() - timedelta(days=10)
    old.save(update_fields=["published_at"])
    return design


LISTING_CASES = [
    ({}, {}),
    ({"search": "django"}, {"search": "django"}),
    ({"category": "design"}, {"category": "design"}),
    ({"employmentType": "CONTRACT"}, {"employment_type": "contract"}),
    ({"location": "berlin"}, {"location": "berlin"}),
    ({"remote": True}, {"remote": "true"}),
    ({"remote": False}, {"remote": "false"}),
    ({"salaryMin": 70_000}, {"salary_min": "70000"}),
    ({"salaryMax": 60_000}, {"salary_max": "60000"}),
    ({"ordering": "created_at"}, {"ordering": "created_at"}),
    ({"ordering": "-salary"}, {"ordering": "-salary"}),
    (
        {"ordering": "published_at", "location": "Berlin"},
        {"ordering": "published_at", "location": "Berlin"},
    ),
]


@pytest.mark.parametrize(("arguments", "parameters"), LISTING_CASES)
def test_filters_and_ordering_give_the_jobs_of_the_rest_list(
    anon_client, varied_jobs, arguments, parameters
):
    query = """query($search: String, $category: String, $employmentType: JobEmploymentType,
        $location: String, $remote: Boolean, $salaryMin: Int, $salaryMax: Int,
        $postedSince: DateTime, $ordering: String) {
      jobs(search: $search, category: $category, employmentType: $employmentType,
           location: $location, remote: $remote, salaryMin: $salaryMin, salaryMax: $salaryMax,
           postedSince: $postedSince, ordering: $ordering, first: 100) {
        totalCount edges { node { id } } } }"""
    answer = gql(anon_client, query, arguments)
    assert answer.status == 200, answer.body
    rest = anon_client.get("/api/jobs/", {**parameters, "page_size": 100})
    assert rest.status_code == 200
    rest_ids = [job["id"] for job in rest.json()["results"]]
    assert rest_ids, "every case selects some jobs"
    assert ids(answer.data["jobs"]) == rest_ids
    assert answer.data["jobs"]["totalCount"] == rest.json()["count"]


def test_posted_since_filters_like_rest(anon_client, varied_jobs):
    since = timezone.now() - timedelta(days=1)
    query = "query($s: DateTime) { jobs(postedSince: $s) { edges { node { id } } } }"
    answer = gql(anon_client, query, {"s": since.isoformat()})
    rest = anon_client.get("/api/jobs/", {"posted_since": since.isoformat()})
    assert ids(answer.data["jobs"]) == [job["id"] for job in rest.json()["results"]]
    assert len(ids(answer.data["jobs"])) == 4


@pytest.mark.parametrize(
    "arguments",
    [
        '(ordering: "nonsense")',
        '(search: "' + "x" * 5000 + '")',
        "(salaryMin: -1)",
    ],
)
def test_bad_listing_arguments_are_bad_input(anon_client, job, arguments):
    answer = gql(anon_client, f"{{ jobs{arguments} {{ totalCount }} }}")
    assert answer.status == 200
    assert answer.data is None
    assert answer.codes == ["BAD_USER_INPUT"]


# --- job ------------------------------------------------------------------------------------

ONE_JOB = "query($id: ID!) { job(id: $id) { id status } }"


@pytest.mark.parametrize(
    ("who", "sees_draft"),
    [
        ("anon_client", False),
        ("seeker_client", False),
        ("other_employer_client", False),
        ("employer_client", True),
        ("admin_client_api", True),
    ],
)
def test_job_open_to_all_draft_to_its_owner_and_admins(request, make_job, who, sees_draft):
    client = request.getfixturevalue(who)
    open_job = make_job()
    draft = make_job(status=JobStatus.DRAFT)
    assert gql(client, ONE_JOB, {"id": open_job.pk}).data["job"]["id"] == str(open_job.pk)
    answer = gql(client, ONE_JOB, {"id": draft.pk})
    if sees_draft:
        assert answer.data["job"] == {"id": str(draft.pk), "status": "DRAFT"}
    else:
        assert answer.data["job"] is None
        assert answer.codes == ["NOT_FOUND"]
        assert "draft" not in answer.errors[0]["message"].lower()


@pytest.mark.parametrize("job_id", ["999999", "abc", "-1", "1e3", "99999999999999999999999"])
def test_unknown_job_ids_are_not_found(anon_client, job, job_id):
    answer = gql(anon_client, ONE_JOB, {"id": job_id})
    assert answer.data == {"job": None}
    assert answer.codes == ["NOT_FOUND"]


# --- categories -----------------------------------------------------------------------------


def test_categories_with_their_open_job_counts(anon_client, make_job, category):
    empty = job_services.create_category(name="Empty", slug="empty")
    make_job()
    make_job()
    make_job(status=JobStatus.CLOSED)
    answer = gql(anon_client, "{ categories { id name slug openJobsCount } }")
    assert answer.data["categories"] == [
        {"id": str(category.pk), "name": "Backend", "slug": "backend", "openJobsCount": 2},
        {"id": str(empty.pk), "name": "Empty", "slug": "empty", "openJobsCount": 0},
    ]


# --- me -------------------------------------------------------------------------------------

ME = "{ me { id username email isEmployer isJobSeeker isStaff } }"


def test_me_is_the_signed_in_user(seeker_client, seeker):
    answer = gql(seeker_client, ME)
    assert answer.data["me"] == {
        "id": str(seeker.pk),
        "username": "alice",
        "email": seeker.email,
        "isEmployer": False,
        "isJobSeeker": True,
        "isStaff": False,
    }


def test_me_needs_a_token(anon_client):
    answer = gql(anon_client, ME)
    assert answer.data == {"me": None}
    assert answer.codes == ["UNAUTHENTICATED"]


# --- myJobs ---------------------------------------------------------------------------------

MY_JOBS = "query($s: JobStatus) { myJobs(status: $s) { totalCount edges { node { id status } } } }"


def test_my_jobs_are_the_employers_own_in_every_status(employer_client, make_job, other_employer):
    published = make_job()
    draft = make_job(status=JobStatus.DRAFT)
    make_job(owner=other_employer)
    answer = gql(employer_client, MY_JOBS)
    assert sorted(ids(answer.data["myJobs"])) == sorted([published.pk, draft.pk])
    drafts = gql(employer_client, MY_JOBS, {"s": "DRAFT"})
    assert ids(drafts.data["myJobs"]) == [draft.pk]


@pytest.mark.parametrize(
    ("who", "code"),
    [("anon_client", "UNAUTHENTICATED"), ("seeker_client", "FORBIDDEN")],
)
def test_my_jobs_is_for_employers(request, job, who, code):
    answer = gql(request.getfixturevalue(who), MY_JOBS)
    assert answer.data is None
    assert answer.codes == [code]


def test_a_jobs_applications_are_for_its_employer_and_admins(
    employer_client, other_employer_client, admin_client_api, seeker_client, application, job
):
    query = """query($id: ID!) { job(id: $id) { id applications { totalCount
        edges { node { id applicant { username } } } } } }"""
    for client in (employer_client, admin_client_api):
        answer = gql(client, query, {"id": job.pk})
        connection = answer.data["job"]["applications"]
        assert ids(connection) == [application.pk]
        assert connection["edges"][0]["node"]["applicant"] == {"username": "alice"}
    for client in (other_employer_client, seeker_client):
        answer = gql(client, query, {"id": job.pk})
        assert answer.data["job"] == {"id": str(job.pk), "applications": None}
        assert answer.codes == ["FORBIDDEN"]


# --- myApplications -------------------------------------------------------------------------

MY_APPLICATIONS = """query($s: ApplicationStatus) { myApplications(status: $s) { totalCount
    edges { node { id status coverLetter resumeUrl createdAt job { id title category { slug } }
    history { fromStatus toStatus changedAt note } } } } }"""


def test_my_applications_are_the_seekers_own_with_job_and_history(
    seeker_client, seeker, other_seeker, make_job, employer
):
    mine = apply(make_job(title="Mine"), seeker)
    apply(make_job(title="Theirs"), other_seeker)
    application_services.change_application_status(
        application=mine, to_status="reviewed", actor=employer, note="Looks good"
    )
    answer = gql(seeker_client, MY_APPLICATIONS)
    connection = answer.data["myApplications"]
    assert ids(connection) == [mine.pk]
    node = connection["edges"][0]["node"]
    assert node["status"] == "REVIEWED"
    assert node["job"]["title"] == "Mine"
    assert node["job"]["category"] == {"slug": "backend"}
    assert [(h["fromStatus"], h["toStatus"], h["note"]) for h in node["history"]] == [
        (None, "SUBMITTED", ""),
        ("SUBMITTED", "REVIEWED", "Looks good"),
    ]
    assert gql(seeker_client, MY_APPLICATIONS, {"s": "SUBMITTED"}).data["myApplications"] == {
        "totalCount": 0,
        "edges": [],
    }


@pytest.mark.parametrize(
    ("who", "code"),
    [("anon_client", "UNAUTHENTICATED"), ("employer_client", "FORBIDDEN")],
)
def test_my_applications_is_for_job_seekers(request, application, who, code):
    answer = gql(request.getfixturevalue(who), MY_APPLICATIONS)
    assert answer.data is None
    assert answer.codes == [code]


# --- applicationsToMyJobs -------------------------------------------------------------------

TO_MY_JOBS = """query($job: ID, $s: ApplicationStatus) { applicationsToMyJobs(job: $job,
    status: $s) { totalCount edges { node { id applicant { username email } } } } }"""


def test_applications_to_my_jobs_filtered_by_job_and_status(
    employer_client, other_employer_client, make_job, seeker, other_seeker, employer
):
    first, second = make_job(title="One"), make_job(title="Two")
    a = apply(first, seeker)
    b = apply(second, other_seeker)
    application_services.change_application_status(
        application=b, to_status="rejected", actor=employer
    )
    every = gql(employer_client, TO_MY_JOBS).data["applicationsToMyJobs"]
    assert sorted(ids(every)) == sorted([a.pk, b.pk])
    assert ids(
        gql(employer_client, TO_MY_JOBS, {"job": first.pk}).data["applicationsToMyJobs"]
    ) == [a.pk]
    rejected = gql(employer_client, TO_MY_JOBS, {"s": "REJECTED"}).data["applicationsToMyJobs"]
    assert ids(rejected) == [b.pk]
    assert rejected["edges"][0]["node"]["applicant"]["username"] == "bob"
    assert gql(other_employer_client, TO_MY_JOBS).data["applicationsToMyJobs"]["totalCount"] == 0


def test_applications_to_my_jobs_refuses_a_job_that_is_no_id(employer_client, application):
    answer = gql(employer_client, TO_MY_JOBS, {"job": "abc"})
    assert answer.codes == ["BAD_USER_INPUT"]


@pytest.mark.parametrize(
    ("who", "code"),
    [("anon_client", "UNAUTHENTICATED"), ("seeker_client", "FORBIDDEN")],
)
def test_applications_to_my_jobs_is_for_employers(request, application, who, code):
    answer = gql(request.getfixturevalue(who), TO_MY_JOBS)
    assert answer.codes == [code]


# --- application ----------------------------------------------------------------------------

ONE_APPLICATION = "query($id: ID!) { application(id: $id) { id status job { id } } }"


@pytest.mark.parametrize(
    ("who", "outcome"),
    [
        ("seeker_client", "seen"),
        ("employer_client", "seen"),
        ("admin_client_api", "seen"),
        ("other_seeker_client", "NOT_FOUND"),
        ("other_employer_client", "NOT_FOUND"),
        ("anon_client", "UNAUTHENTICATED"),
    ],
)
def test_one_application_for_its_applicant_employer_and_admins(request, application, who, outcome):
    answer = gql(request.getfixturevalue(who), ONE_APPLICATION, {"id": application.pk})
    if outcome == "seen":
        assert answer.data["application"] == {
            "id": str(application.pk),
            "status": "SUBMITTED",
            "job": {"id": str(application.job_id)},
        }
        assert "errors" not in answer.body
    else:
        assert answer.data == {"application": None}
        assert answer.codes == [outcome]


def test_only_the_employer_sees_the_applicant(seeker_client, employer_client, application):
    query = "query($id: ID!) { application(id: $id) { id applicant { username email } } }"
    by_employer = gql(employer_client, query, {"id": application.pk})
    assert by_employer.data["application"]["applicant"] == {
        "username": "alice",
        "email": application.applicant.email,
    }
    by_seeker = gql(seeker_client, query, {"id": application.pk})
    assert by_seeker.data["application"] == {"id": str(application.pk), "applicant": None}
    assert by_seeker.codes == ["FORBIDDEN"]
