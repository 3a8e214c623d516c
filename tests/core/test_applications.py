"""Applications through the HTTP API: applying, reading, the employer's pipeline, withdrawing.

Every test asserts what a user or the system can observe: the status code and JSON body of the
answer, the `Application` and `ApplicationStatusChange` rows, and the `OutboxEvent` rows that the
workers will publish.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from core.accounts.models import Role
from core.applications import services as application_services
from core.applications.models import Application, ApplicationStatus, ApplicationStatusChange
from core.jobs import services as job_services
from core.jobs.models import JobStatus
from core.outbox.models import OutboxEvent
from tests.conftest import client_for
from tests.factories import CategoryFactory, make_user
from tests.services import POSTGRESQL, require

APPLY_URL = "/api/applications/apply/"
SEEKER_LIST_URL = "/api/applications/seeker/"
EMPLOYER_LIST_URL = "/api/applications/employer/"
RESUME_URL = "https://example.com/resume.pdf"

SUBMITTED = "application.submitted"
STATUS_CHANGED = "application.status_changed"
WITHDRAWN = "application.withdrawn"

ALL_STATUSES = [value for value, _ in ApplicationStatus.choices]
ALLOWED_TRANSITIONS = {
    ("submitted", "reviewed"),
    ("reviewed", "interviewing"),
    ("interviewing", "offered"),
    ("offered", "hired"),
    ("submitted", "rejected"),
    ("reviewed", "rejected"),
    ("interviewing", "rejected"),
    ("offered", "rejected"),
}
WITHDRAWABLE = ["submitted", "reviewed", "interviewing", "offered"]
NOT_WITHDRAWABLE = ["hired", "rejected", "withdrawn"]


def detail_url(application: Application) -> str:
    return f"/api/applications/{application.pk}/"


def status_url(application: Application) -> str:
    return f"/api/applications/{application.pk}/status/"


def withdraw_url(application: Application) -> str:
    return f"/api/applications/{application.pk}/withdraw/"


def apply_body(job_id, **overrides):
    body = {"job": job_id, "cover_letter": "I build APIs.", "resume_url": RESUME_URL}
    body.update(overrides)
    return body


def events_of(event_type: str) -> list[OutboxEvent]:
    return list(OutboxEvent.objects.filter(event_type=event_type))


def set_status(application: Application, status: str) -> None:
    """Put an application into `status` directly in the database (no history, no event)."""
    Application.objects.filter(pk=application.pk).update(status=status)


def result_ids(response) -> set[int]:
    return {item["id"] for item in response.json()["results"]}


# --- Applying -------------------------------------------------------------------------------


def test_seeker_applies_exactly_as_the_contract_shows(seeker_client, seeker, job, employer):
    response = seeker_client.post(
        APPLY_URL,
        {"job": job.pk, "cover_letter": "...", "resume_url": "https://example.com/resume.pdf"},
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "submitted"
    assert body["job"]["id"] == job.pk
    assert body["applicant"]["id"] == seeker.pk
    assert body["applicant"]["username"] == seeker.username
    assert body["cover_letter"] == "..."
    assert body["resume_url"] == "https://example.com/resume.pdf"
    assert len(body["status_history"]) == 1
    entry = body["status_history"][0]
    assert entry["to_status"] == "submitted"
    assert entry["from_status"] == ""
    assert entry["changed_by"] == seeker.username

    application = Application.objects.get()
    assert application.pk == body["id"]
    assert application.applicant_id == seeker.pk
    assert application.job_id == job.pk
    assert application.status == ApplicationStatus.SUBMITTED
    assert application.status_changes.count() == 1

    [event] = events_of(SUBMITTED)
    assert event.payload == {
        "application_id": application.pk,
        "job_id": job.pk,
        "applicant_id": seeker.pk,
        "employer_id": employer.pk,
    }
    assert event.published_at is None


@pytest.mark.parametrize(
    ("client_fixture", "expected_status"),
    [
        ("employer_client", 403),
        ("other_employer_client", 403),
        ("admin_client_api", 403),
        ("anon_client", 401),
    ],
)
def test_only_job_seekers_may_apply(request, job, client_fixture, expected_status):
    client = request.getfixturevalue(client_fixture)

    response = client.post(APPLY_URL, apply_body(job.pk), format="json")

    assert response.status_code == expected_status, response.content
    assert "detail" in response.json()
    assert not Application.objects.exists()
    assert events_of(SUBMITTED) == []


def test_applying_twice_is_refused_with_a_clear_message(seeker_client, job):
    first = seeker_client.post(APPLY_URL, apply_body(job.pk), format="json")
    assert first.status_code == 201, first.content

    second = seeker_client.post(
        APPLY_URL, apply_body(job.pk, cover_letter="Second try"), format="json"
    )

    assert second.status_code == 400, second.content
    assert "already applied" in str(second.json()).lower()
    assert Application.objects.count() == 1
    assert Application.objects.get().cover_letter == "I build APIs."
    assert ApplicationStatusChange.objects.count() == 1
    assert len(events_of(SUBMITTED)) == 1


def test_two_seekers_may_each_apply_to_the_same_job(seeker_client, other_seeker_client, job):
    assert seeker_client.post(APPLY_URL, apply_body(job.pk), format="json").status_code == 201
    assert other_seeker_client.post(APPLY_URL, apply_body(job.pk), format="json").status_code == 201

    assert Application.objects.filter(job=job).count() == 2
    assert len(events_of(SUBMITTED)) == 2


@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicate_applications_create_exactly_one():
    require(POSTGRESQL, why="a real concurrent race (row locks)")
    employer = make_user(Role.EMPLOYER, username="race_employer")
    seeker = make_user(Role.JOB_SEEKER, username="race_seeker")
    category = CategoryFactory(name="Race", slug="race")
    job = job_services.create_job(
        employer=employer,
        fields={
            "title": "Backend Engineer",
            "description": "APIs",
            "company_name": "Acme",
            "location": "Berlin",
            "employment_type": "full_time",
            "category": category,
        },
    )
    threads_count = 10
    clients = [client_for(seeker) for _ in range(threads_count)]
    barrier = threading.Barrier(threads_count)
    results: list[tuple[int, object]] = []
    lock = threading.Lock()

    def post_application(client) -> None:
        try:
            barrier.wait(timeout=30)
            response = client.post(APPLY_URL, apply_body(job.pk), format="json")
            with lock:
                results.append((response.status_code, response.json()))
        finally:
            connection.close()

    threads = [threading.Thread(target=post_application, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    statuses = sorted(code for code, _ in results)
    assert statuses == [201] + [400] * (threads_count - 1), results
    for code, body in results:
        if code == 400:
            assert "already applied" in str(body).lower(), body
    assert Application.objects.filter(job=job, applicant=seeker).count() == 1
    assert ApplicationStatusChange.objects.count() == 1
    assert len(events_of(SUBMITTED)) == 1


@pytest.mark.parametrize(
    ("job_state", "expected_text"),
    [
        ("closed", "not accepting applications"),
        ("expired_status", "not accepting applications"),
        ("past_expires_at", "not accepting applications"),
        ("draft", "does not exist"),
        ("deleted", "does not exist"),
    ],
)
def test_applying_to_a_job_that_is_not_open_is_refused(
    seeker_client, make_job, job_state, expected_text
):
    if job_state == "closed":
        job = make_job(status=JobStatus.CLOSED)
    elif job_state == "expired_status":
        job = make_job(status=JobStatus.EXPIRED)
    elif job_state == "past_expires_at":
        job = make_job(expired=True)
        assert job.status == JobStatus.PUBLISHED
    elif job_state == "draft":
        job = make_job(status=JobStatus.DRAFT)
    else:
        job = make_job()
        job_services.delete_job(job=job)

    response = seeker_client.post(APPLY_URL, apply_body(job.pk), format="json")

    assert response.status_code == 400, response.content
    assert expected_text in str(response.json()).lower()
    if expected_text == "does not exist":
        assert "job" in response.json()
    assert not Application.objects.exists()
    assert not ApplicationStatusChange.objects.exists()
    assert events_of(SUBMITTED) == []


@pytest.mark.parametrize(
    "resume_url",
    [
        "ftp://example.com/resume.pdf",
        "ftps://example.com/resume.pdf",
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        "javascript://example.com/%0Aalert(1)",
        "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
        "//example.com/resume.pdf",
        "not a url",
        "",
        "https://example.com/" + "a" * 481,  # 501 characters
        "https://exa mple.com/cv.pdf",
        "file:///etc/passwd",
    ],
)
def test_invalid_resume_url_is_a_field_error(seeker_client, job, resume_url):
    response = seeker_client.post(
        APPLY_URL, apply_body(job.pk, resume_url=resume_url), format="json"
    )

    assert response.status_code == 400, response.content
    assert "resume_url" in response.json()
    assert not Application.objects.exists()
    assert events_of(SUBMITTED) == []


def test_resume_url_of_exactly_500_characters_is_accepted(seeker_client, job):
    url = "https://example.com/" + "a" * 480
    assert len(url) == 500

    response = seeker_client.post(APPLY_URL, apply_body(job.pk, resume_url=url), format="json")

    assert response.status_code == 201, response.content
    assert Application.objects.get().resume_url == url


def test_cover_letter_of_exactly_10000_characters_is_accepted(seeker_client, job):
    response = seeker_client.post(
        APPLY_URL, apply_body(job.pk, cover_letter="x" * 10_000), format="json"
    )

    assert response.status_code == 201, response.content
    assert len(Application.objects.get().cover_letter) == 10_000


def test_cover_letter_may_be_omitted(seeker_client, job):
    response = seeker_client.post(
        APPLY_URL, {"job": job.pk, "resume_url": RESUME_URL}, format="json"
    )

    assert response.status_code == 201, response.content
    assert response.json()["cover_letter"] == ""


@pytest.mark.parametrize(
    ("case", "field"),
    [
        ("job_as_string", "job"),
        ("unknown_job", "job"),
        ("huge_job_id", "job"),
        ("negative_job_id", "job"),
        ("job_as_float", "job"),
        ("job_as_bool", "job"),
        ("job_null", "job"),
        ("missing_job", "job"),
        ("cover_letter_too_long", "cover_letter"),
        ("cover_letter_with_nul", "cover_letter"),
        ("cover_letter_not_a_string", "cover_letter"),
        ("missing_resume_url", "resume_url"),
        ("resume_url_null", "resume_url"),
    ],
)
def test_bad_application_input_is_a_field_error_not_a_500(seeker_client, job, case, field):
    bodies = {
        "job_as_string": apply_body(str(job.pk)),
        "unknown_job": apply_body(job.pk + 1000),
        "huge_job_id": apply_body(2**70),
        "negative_job_id": apply_body(-1),
        "job_as_float": apply_body(float(job.pk)),
        "job_as_bool": apply_body(True),
        "job_null": apply_body(None),
        "missing_job": {"cover_letter": "Hi", "resume_url": RESUME_URL},
        "cover_letter_too_long": apply_body(job.pk, cover_letter="x" * 10_001),
        "cover_letter_with_nul": apply_body(job.pk, cover_letter="Hello\x00world"),
        "cover_letter_not_a_string": apply_body(job.pk, cover_letter={"text": "hi"}),
        "missing_resume_url": {"job": job.pk, "cover_letter": "Hi"},
        "resume_url_null": apply_body(job.pk, resume_url=None),
    }

    response = seeker_client.post(APPLY_URL, bodies[case], format="json")

    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()
    assert not Application.objects.exists()
    assert events_of(SUBMITTED) == []


@pytest.mark.parametrize("payload", ["[1, 2]", '"just a string"', "{not json", ""])
def test_malformed_json_body_is_a_400_object(seeker_client, job, payload):
    response = seeker_client.post(APPLY_URL, payload, content_type="application/json")

    assert response.status_code == 400, response.content
    assert isinstance(response.json(), dict)
    assert not Application.objects.exists()


def test_status_and_applicant_in_the_apply_body_are_ignored(
    seeker_client, seeker, other_seeker, job
):
    body = apply_body(
        job.pk,
        status="hired",
        applicant=other_seeker.pk,
        applicant_id=other_seeker.pk,
        id=999_999,
        created_at="2000-01-01T00:00:00Z",
    )

    response = seeker_client.post(APPLY_URL, body, format="json")

    assert response.status_code == 201, response.content
    assert response.json()["status"] == "submitted"
    assert response.json()["applicant"]["id"] == seeker.pk
    application = Application.objects.get()
    assert application.status == ApplicationStatus.SUBMITTED
    assert application.applicant_id == seeker.pk
    assert application.pk != 999_999
    assert application.created_at.year != 2000
    assert not Application.objects.filter(applicant=other_seeker).exists()


def test_apply_is_throttled_per_user_after_30_an_hour(seeker, other_seeker, make_job):
    jobs = [make_job(title=f"Job {n}") for n in range(31)]
    client = client_for(seeker)

    codes = [client.post(APPLY_URL, apply_body(job.pk), format="json").status_code for job in jobs]

    assert codes[:30] == [201] * 30
    assert codes[30] == 429
    assert Application.objects.filter(applicant=seeker).count() == 30
    assert not Application.objects.filter(applicant=seeker, job=jobs[30]).exists()
    assert len(events_of(SUBMITTED)) == 30
    # The budget is per user: another seeker is not slowed down by the first one.
    other = client_for(other_seeker).post(APPLY_URL, apply_body(jobs[30].pk), format="json")
    assert other.status_code == 201, other.content


# --- Reading applications --------------------------------------------------------------------


def test_seeker_list_shows_only_the_callers_applications(
    seeker_client, seeker, other_seeker, make_job, other_employer
):
    job_a = make_job(title="A")
    job_b = make_job(title="B", owner=other_employer)
    mine_a = application_services.apply_to_job(
        applicant=seeker, job=job_a, cover_letter="", resume_url=RESUME_URL
    )
    mine_b = application_services.apply_to_job(
        applicant=seeker, job=job_b, cover_letter="", resume_url=RESUME_URL
    )
    theirs = application_services.apply_to_job(
        applicant=other_seeker, job=job_a, cover_letter="", resume_url=RESUME_URL
    )

    response = seeker_client.get(SEEKER_LIST_URL)

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["count"] == 2
    assert result_ids(response) == {mine_a.pk, mine_b.pk}
    assert theirs.pk not in result_ids(response)
    assert all(item["applicant"]["id"] == seeker.pk for item in body["results"])
    assert all(len(item["status_history"]) == 1 for item in body["results"])


def test_seeker_list_keeps_applications_to_a_deleted_job(seeker_client, application, job):
    job_services.delete_job(job=job)

    response = seeker_client.get(SEEKER_LIST_URL)

    assert response.status_code == 200
    [item] = response.json()["results"]
    assert item["id"] == application.pk
    assert item["job"]["is_deleted"] is True


@pytest.mark.parametrize(
    ("client_fixture", "expected_status"),
    [
        ("employer_client", 403),
        ("admin_client_api", 403),
        ("anon_client", 401),
    ],
)
def test_seeker_list_is_for_job_seekers_only(request, application, client_fixture, expected_status):
    response = request.getfixturevalue(client_fixture).get(SEEKER_LIST_URL)

    assert response.status_code == expected_status
    assert "results" not in response.json()


@pytest.fixture
def inbox(employer, other_employer, seeker, other_seeker, make_job):
    """Two jobs of `employer` with three applications, and one job of another employer."""
    job_a = make_job(title="A")
    job_b = make_job(title="B")
    foreign_job = make_job(title="Foreign", owner=other_employer)

    def apply(applicant, job):
        return application_services.apply_to_job(
            applicant=applicant, job=job, cover_letter="", resume_url=RESUME_URL
        )

    a_by_seeker = apply(seeker, job_a)
    a_by_other = apply(other_seeker, job_a)
    b_by_seeker = apply(seeker, job_b)
    foreign = apply(seeker, foreign_job)
    application_services.change_application_status(
        application=a_by_other, to_status="reviewed", actor=employer
    )
    return {
        "job_a": job_a,
        "job_b": job_b,
        "foreign_job": foreign_job,
        "a_by_seeker": a_by_seeker,
        "a_by_other": a_by_other,
        "b_by_seeker": b_by_seeker,
        "foreign": foreign,
    }


def test_employer_list_shows_only_applications_to_the_callers_jobs(employer_client, inbox):
    response = employer_client.get(EMPLOYER_LIST_URL)

    assert response.status_code == 200, response.content
    assert response.json()["count"] == 3
    assert result_ids(response) == {
        inbox["a_by_seeker"].pk,
        inbox["a_by_other"].pk,
        inbox["b_by_seeker"].pk,
    }


def test_other_employer_sees_only_their_own_inbox(other_employer_client, inbox):
    response = other_employer_client.get(EMPLOYER_LIST_URL)

    assert response.status_code == 200
    assert result_ids(response) == {inbox["foreign"].pk}


def test_employer_list_filters_by_job(employer_client, inbox):
    response = employer_client.get(EMPLOYER_LIST_URL, {"job": inbox["job_b"].pk})

    assert response.status_code == 200
    assert result_ids(response) == {inbox["b_by_seeker"].pk}


def test_employer_list_filter_by_another_employers_job_is_empty(employer_client, inbox):
    response = employer_client.get(EMPLOYER_LIST_URL, {"job": inbox["foreign_job"].pk})

    assert response.status_code == 200
    assert response.json()["count"] == 0
    assert response.json()["results"] == []


def test_employer_list_filters_by_status(employer_client, inbox):
    response = employer_client.get(EMPLOYER_LIST_URL, {"status": "reviewed"})

    assert response.status_code == 200
    assert result_ids(response) == {inbox["a_by_other"].pk}
    assert response.json()["results"][0]["status"] == "reviewed"


def test_employer_list_combines_job_and_status_filters(employer_client, inbox):
    response = employer_client.get(
        EMPLOYER_LIST_URL, {"job": inbox["job_a"].pk, "status": "submitted"}
    )

    assert response.status_code == 200
    assert result_ids(response) == {inbox["a_by_seeker"].pk}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "bogus"}, "status"),
        ({"job": "abc"}, "job"),
        ({"job": "0"}, "job"),
        ({"job": str(2**70)}, "job"),
    ],
)
def test_employer_list_rejects_bad_filters(employer_client, inbox, params, field):
    response = employer_client.get(EMPLOYER_LIST_URL, params)

    assert response.status_code == 400, response.content
    assert field in response.json()


@pytest.mark.parametrize(
    ("client_fixture", "expected_status"),
    [
        ("seeker_client", 403),
        ("admin_client_api", 403),
        ("anon_client", 401),
    ],
)
def test_employer_list_is_for_employers_only(request, application, client_fixture, expected_status):
    response = request.getfixturevalue(client_fixture).get(EMPLOYER_LIST_URL)

    assert response.status_code == expected_status
    assert "results" not in response.json()


@pytest.mark.parametrize(
    ("client_fixture", "expected_status"),
    [
        ("seeker_client", 200),
        ("employer_client", 200),
        ("admin_client_api", 200),
        ("other_seeker_client", 404),
        ("other_employer_client", 404),
        ("anon_client", 401),
    ],
)
def test_application_detail_visibility(request, application, client_fixture, expected_status):
    response = request.getfixturevalue(client_fixture).get(detail_url(application))

    assert response.status_code == expected_status, response.content
    body = response.json()
    if expected_status == 200:
        assert body["id"] == application.pk
        assert body["resume_url"] == application.resume_url
        assert body["status_history"][0]["to_status"] == "submitted"
    else:
        assert "resume_url" not in body
        assert "cover_letter" not in body


def test_unknown_application_is_404(seeker_client, application):
    response = seeker_client.get(f"/api/applications/{application.pk + 1000}/")

    assert response.status_code == 404
    assert "detail" in response.json()


# --- The employer's pipeline ----------------------------------------------------------------


@pytest.mark.parametrize("to_status", ALL_STATUSES)
@pytest.mark.parametrize("from_status", ALL_STATUSES)
def test_status_transition_table(
    employer_client, employer, seeker, job, application, from_status, to_status
):
    set_status(application, from_status)
    history_before = ApplicationStatusChange.objects.count()

    response = employer_client.patch(
        status_url(application),
        {"status": to_status, "note": "Moved after the call."},
        format="json",
    )

    application.refresh_from_db()
    events = events_of(STATUS_CHANGED)
    if (from_status, to_status) in ALLOWED_TRANSITIONS:
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["status"] == to_status
        assert application.status == to_status
        last = body["status_history"][-1]
        assert last == {
            "from_status": from_status,
            "to_status": to_status,
            "actor": "employer",
            "changed_by": employer.username,
            "note": "Moved after the call.",
            "internal_note": "",
            "changed_at": last["changed_at"],
        }
        assert ApplicationStatusChange.objects.count() == history_before + 1
        change = ApplicationStatusChange.objects.latest("id")
        assert (change.from_status, change.to_status) == (from_status, to_status)
        assert change.changed_by_id == employer.pk
        assert change.note == "Moved after the call."
        [event] = events
        assert event.payload == {
            "application_id": application.pk,
            "job_id": job.pk,
            "applicant_id": seeker.pk,
            "employer_id": employer.pk,
            "from_status": from_status,
            "to_status": to_status,
        }
    else:
        assert response.status_code == 400, response.content
        body = response.json()
        if to_status in ("submitted", "withdrawn"):
            # Never an employer's choice: refused by the serializer as a field error.
            assert "status" in body, body
        else:
            assert body["code"] == "invalid_transition", body
        assert application.status == from_status
        assert ApplicationStatusChange.objects.count() == history_before
        assert events == []


def test_full_pipeline_builds_the_history_in_order(employer_client, employer, seeker, application):
    for step in ["reviewed", "interviewing", "offered", "hired"]:
        response = employer_client.patch(
            status_url(application), {"status": step, "note": f"to {step}"}, format="json"
        )
        assert response.status_code == 200, response.content

    history = response.json()["status_history"]
    assert [(h["from_status"], h["to_status"]) for h in history] == [
        ("", "submitted"),
        ("submitted", "reviewed"),
        ("reviewed", "interviewing"),
        ("interviewing", "offered"),
        ("offered", "hired"),
    ]
    assert [h["changed_by"] for h in history] == [seeker.username] + [employer.username] * 4
    assert [h["note"] for h in history[1:]] == [
        "to reviewed",
        "to interviewing",
        "to offered",
        "to hired",
    ]
    assert [e.payload["to_status"] for e in events_of(STATUS_CHANGED)] == [
        "reviewed",
        "interviewing",
        "offered",
        "hired",
    ]


def test_refused_transition_explains_what_is_allowed(employer_client, application):
    response = employer_client.patch(status_url(application), {"status": "hired"}, format="json")

    assert response.status_code == 400
    message = str(response.json()).lower()
    assert "submitted" in message
    assert "hired" in message


def test_note_is_optional(employer_client, application):
    response = employer_client.patch(status_url(application), {"status": "reviewed"}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["status_history"][-1]["note"] == ""


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "status"),
        ({"status": "bogus"}, "status"),
        ({"status": None}, "status"),
        ({"status": "reviewed", "note": "n" * 1001}, "note"),
    ],
)
def test_bad_status_body_is_a_field_error(employer_client, application, body, field):
    response = employer_client.patch(status_url(application), body, format="json")

    assert response.status_code == 400, response.content
    assert field in response.json()
    application.refresh_from_db()
    assert application.status == ApplicationStatus.SUBMITTED
    assert events_of(STATUS_CHANGED) == []


@pytest.mark.parametrize(
    ("client_fixture", "expected_status"),
    [
        ("other_employer_client", 404),
        ("seeker_client", 403),
        ("other_seeker_client", 403),
        ("anon_client", 401),
    ],
)
def test_only_the_jobs_employer_moves_an_application(
    request, application, client_fixture, expected_status
):
    client = request.getfixturevalue(client_fixture)

    response = client.patch(status_url(application), {"status": "reviewed"}, format="json")

    assert response.status_code == expected_status, response.content
    application.refresh_from_db()
    assert application.status == ApplicationStatus.SUBMITTED
    assert application.status_changes.count() == 1
    assert events_of(STATUS_CHANGED) == []


@pytest.mark.parametrize(
    ("client_fixture", "method", "suffix", "body"),
    [
        ("seeker_client", "get", "", None),
        ("admin_client_api", "get", "", None),
        ("employer_client", "patch", "status/", {"status": "reviewed"}),
        ("seeker_client", "post", "withdraw/", None),
    ],
)
def test_out_of_range_application_id_is_404_not_500(
    request, application, client_fixture, method, suffix, body
):
    client = request.getfixturevalue(client_fixture)

    response = getattr(client, method)(f"/api/applications/{2**70}/{suffix}", body, format="json")

    assert response.status_code == 404, response.content
    assert "detail" in response.json()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": "reviewed", "note": "bad\x00note"}, "note"),
        ({"status": ["reviewed"]}, "status"),
        ({"status": "REVIEWED"}, "status"),
    ],
)
def test_malformed_status_values_are_field_errors(employer_client, application, body, field):
    response = employer_client.patch(status_url(application), body, format="json")

    assert response.status_code == 400, response.content
    assert field in response.json()
    assert events_of(STATUS_CHANGED) == []


def test_status_of_unknown_application_is_404(employer_client, application):
    response = employer_client.patch(
        f"/api/applications/{application.pk + 1000}/status/", {"status": "reviewed"}, format="json"
    )

    assert response.status_code == 404


def test_employer_can_still_move_applications_of_a_deleted_job(employer_client, application, job):
    job_services.delete_job(job=job)

    response = employer_client.patch(status_url(application), {"status": "rejected"}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "rejected"
    assert response.json()["job"]["is_deleted"] is True


# --- Withdrawing ----------------------------------------------------------------------------


@pytest.mark.parametrize("from_status", WITHDRAWABLE)
def test_applicant_withdraws_an_open_application(
    seeker_client, seeker, employer, job, application, from_status
):
    set_status(application, from_status)

    response = seeker_client.post(withdraw_url(application))

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "withdrawn"
    last = body["status_history"][-1]
    assert (last["from_status"], last["to_status"]) == (from_status, "withdrawn")
    assert last["changed_by"] == seeker.username
    application.refresh_from_db()
    assert application.status == ApplicationStatus.WITHDRAWN
    [event] = events_of(WITHDRAWN)
    assert event.payload == {
        "application_id": application.pk,
        "job_id": job.pk,
        "applicant_id": seeker.pk,
        "employer_id": employer.pk,
        "from_status": from_status,
        "to_status": "withdrawn",
    }


@pytest.mark.parametrize("from_status", NOT_WITHDRAWABLE)
def test_finished_application_cannot_be_withdrawn(seeker_client, application, from_status):
    set_status(application, from_status)

    response = seeker_client.post(withdraw_url(application))

    assert response.status_code == 400, response.content
    assert from_status in str(response.json())
    application.refresh_from_db()
    assert application.status == from_status
    assert application.status_changes.count() == 1
    assert events_of(WITHDRAWN) == []


@pytest.mark.parametrize(
    ("client_fixture", "expected_status"),
    [
        ("other_seeker_client", 404),
        ("employer_client", 403),
        ("other_employer_client", 403),
        ("admin_client_api", 403),
        ("anon_client", 401),
    ],
)
def test_only_the_applicant_withdraws(request, application, client_fixture, expected_status):
    response = request.getfixturevalue(client_fixture).post(withdraw_url(application))

    assert response.status_code == expected_status, response.content
    application.refresh_from_db()
    assert application.status == ApplicationStatus.SUBMITTED
    assert events_of(WITHDRAWN) == []


def test_withdrawn_application_can_no_longer_be_moved_by_the_employer(
    seeker_client, employer_client, application
):
    assert seeker_client.post(withdraw_url(application)).status_code == 200

    response = employer_client.patch(status_url(application), {"status": "reviewed"}, format="json")

    assert response.status_code == 400
    application.refresh_from_db()
    assert application.status == ApplicationStatus.WITHDRAWN
    assert events_of(STATUS_CHANGED) == []


def test_withdrawing_does_not_free_the_job_for_a_second_application(
    seeker_client, application, job
):
    assert seeker_client.post(withdraw_url(application)).status_code == 200

    response = seeker_client.post(APPLY_URL, apply_body(job.pk), format="json")

    assert response.status_code == 400
    assert "already applied" in str(response.json()).lower()
    assert Application.objects.count() == 1
