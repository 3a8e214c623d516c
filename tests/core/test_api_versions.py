"""API versions: `/api/` and `/api/v1/` are one API, `/api/v2/` is v1 with three changes.

CONTRACT.md's flow runs against each of the three prefixes (v2 with its role field, problem
details and cursor pages); v1's answers are compared with the unversioned ones byte for byte;
each error status of v2 is problem details; and a client paging through v2 while jobs are
published sees each job once.
"""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from core.applications.models import Application
from core.jobs import listing_cache
from core.jobs.models import Job, JobStatus
from core.outbox.models import OutboxEvent
from tasks.listings import refresh_listings
from tests.core.test_contract import PASSWORD, bearer
from tests.factories import bulk_jobs

pytestmark = pytest.mark.django_db

PREFIXES = ["/api/", "/api/v1/", "/api/v2/"]
PROBLEM = "application/problem+json"


def register_body(prefix: str, username: str, role: str) -> dict:
    body = {"username": username, "password": PASSWORD, "email": f"{username}@x.test"}
    if prefix == "/api/v2/":
        return {**body, "role": role}
    return {**body, f"is_{role}": True}


def assert_problem(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["type"] == "about:blank"
    assert body["status"] == status
    assert isinstance(body["title"], str)
    assert body["title"]
    assert isinstance(body["detail"], str)
    assert body["detail"]
    assert isinstance(body["code"], str)
    assert body["code"]
    if code is not None:
        assert body["code"] == code
    return body


@pytest.mark.parametrize("prefix", PREFIXES)
def test_the_contract_flow_under_each_prefix(prefix):
    v2 = prefix == "/api/v2/"
    anon = APIClient()

    response = anon.post(
        f"{prefix}users/register/", register_body(prefix, "acme", "employer"), format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["is_employer"] is True
    assert response.json()["is_job_seeker"] is False
    response = anon.post(
        f"{prefix}users/register/", register_body(prefix, "alice", "job_seeker"), format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["is_job_seeker"] is True

    tokens = {}
    for name in ("acme", "alice"):
        response = anon.post(
            f"{prefix}token/", {"username": name, "password": PASSWORD}, format="json"
        )
        assert response.status_code == 200, response.content
        tokens[name] = response.json()
    wrong = anon.post(f"{prefix}token/", {"username": "acme", "password": "no"}, format="json")
    if v2:
        assert_problem(wrong, 401)
    else:
        assert wrong.status_code == 401
        assert wrong["Content-Type"] == "application/json"
    employer, seeker = bearer(tokens["acme"]["access"]), bearer(tokens["alice"]["access"])

    category_body = {"name": "Backend", "slug": "backend"}
    assert anon.post(f"{prefix}categories/", category_body, format="json").status_code == 401
    denied = seeker.post(f"{prefix}categories/", category_body, format="json")
    assert denied.status_code == 403
    response = employer.post(f"{prefix}categories/", category_body, format="json")
    assert response.status_code == 201, response.content
    category_id = response.json()["id"]
    duplicate = employer.post(f"{prefix}categories/", category_body, format="json")
    if v2:
        assert_problem(denied, 403)
        assert "name" in assert_problem(duplicate, 400)["errors"]
    else:
        assert duplicate.status_code == 400
        assert "name" in duplicate.json()

    job_body = {
        "title": "Backend Engineer",
        "description": "Django and PostgreSQL.",
        "company_name": "Acme",
        "location": "Berlin",
        "employment_type": "full_time",
        "category": category_id,
    }
    assert seeker.post(f"{prefix}jobs/create/", job_body, format="json").status_code == 403
    response = employer.post(f"{prefix}jobs/create/", job_body, format="json")
    assert response.status_code == 201, response.content
    job_id = response.json()["id"]
    assert Job.objects.get(pk=job_id).status == JobStatus.PUBLISHED

    listing = anon.get(f"{prefix}jobs/?search=Backend&ordering=created_at").json()
    assert [job["id"] for job in listing["results"]] == [job_id]
    if v2:  # a cursor page: no count
        assert "count" not in listing
        assert listing["next"] is None
        assert listing["previous"] is None
    else:
        assert listing["count"] == 1

    apply_body = {"job": job_id, "cover_letter": "...", "resume_url": "https://example.com/r.pdf"}
    assert (
        employer.post(f"{prefix}applications/apply/", apply_body, format="json").status_code == 403
    )
    assert seeker.post(f"{prefix}applications/apply/", apply_body, format="json").status_code == 201
    again = seeker.post(f"{prefix}applications/apply/", apply_body, format="json")
    assert again.status_code == 400
    assert "already applied" in again.json()["detail"]
    if v2:
        assert_problem(again, 400)
    assert Application.objects.count() == 1
    seeker_list = seeker.get(f"{prefix}applications/seeker/").json()
    assert [a["job"]["id"] for a in seeker_list["results"]] == [job_id]
    employer_list = employer.get(f"{prefix}applications/employer/").json()
    assert [a["applicant"]["username"] for a in employer_list["results"]] == ["alice"]
    assert sorted(OutboxEvent.objects.values_list("event_type", flat=True)) == [
        "application.submitted",
        "job.published",
    ]

    refresh = tokens["alice"]["refresh"]
    rotated = anon.post(f"{prefix}token/refresh/", {"refresh": refresh}, format="json").json()
    assert (
        anon.post(
            f"{prefix}token/blacklist/", {"refresh": rotated["refresh"]}, format="json"
        ).status_code
        == 200
    )
    dead = anon.post(f"{prefix}token/refresh/", {"refresh": rotated["refresh"]}, format="json")
    assert dead.status_code == 401


def _answers(prefix: str, clients: dict, ids: dict) -> list[tuple]:
    """What each of a range of requests answers under `prefix`: status, content type, body."""
    requests = [
        ("anon", "get", "jobs/", None),
        ("anon", "get", "jobs/?ordering=-salary&page_size=1", None),
        ("anon", "get", "jobs/?page=2&page_size=1", None),
        ("anon", "get", "jobs/?page=99", None),
        ("anon", "get", "jobs/?remote=maybe", None),
        ("anon", "get", f"jobs/{ids['job']}/", None),
        ("anon", "get", "jobs/999999/", None),
        ("anon", "get", "categories/", None),
        ("anon", "get", f"categories/{ids['category']}/", None),
        ("anon", "get", "users/me/", None),
        ("anon", "delete", "categories/", None),
        ("anon", "post", "users/register/", {"username": "x"}),
        (
            "anon",
            "post",
            "users/register/",
            {"username": "x", "is_employer": True, "is_job_seeker": True},
        ),
        ("anon", "post", "token/", {"username": "nobody", "password": "nothing"}),
        ("employer", "get", "users/me/", None),
        ("employer", "get", f"jobs/{ids['job']}/", None),
        ("employer", "get", "jobs/mine/", None),
        ("employer", "get", "applications/employer/", None),
        ("employer", "post", "applications/apply/", {"job": ids["job"]}),
        ("seeker", "get", "applications/seeker/", None),
        ("seeker", "get", f"applications/{ids['application']}/", None),
        (
            "seeker",
            "post",
            "applications/apply/",
            {"job": ids["job"], "cover_letter": "again", "resume_url": "https://example.com/r.pdf"},
        ),
        ("seeker", "post", "categories/", {"name": "No", "slug": "no"}),
    ]
    answers = []
    for who, method, path, body in requests:
        response = getattr(clients[who], method)(prefix + path, body, format="json")
        answers.append(
            (who, method, path, response.status_code, response["Content-Type"], response.content)
        )
    raw = clients["anon"].generic("POST", prefix + "token/", "not json", content_type="text/plain")
    answers.append(
        ("anon", "post", "token/ text", raw.status_code, raw["Content-Type"], raw.content)
    )
    return answers


def test_v1_answers_are_the_unversioned_answers_byte_for_byte(
    make_job, employer, seeker, category, application, listings_cache_on
):
    make_job(title="Second", salary_min=10, salary_max=20)
    clients = {
        "anon": APIClient(),
        "employer": APIClient(),
        "seeker": APIClient(),
    }
    clients["employer"].force_authenticate(employer)
    clients["seeker"].force_authenticate(seeker)
    ids = {"job": application.job_id, "category": category.id, "application": application.id}
    unversioned = _answers("/api/", clients, ids)
    v1 = _answers("/api/v1/", clients, ids)
    assert len(v1) == len(unversioned)
    for plain, versioned in zip(unversioned, v1, strict=True):
        assert plain == versioned


def test_an_unknown_version_or_path_is_a_404():
    anon = APIClient()
    assert anon.get("/api/v3/jobs/").status_code == 404
    response = anon.get("/api/v1/nothing-here/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["detail"] == "Not found."
    assert_problem(anon.get("/api/v2/nothing-here/"), 404, "not_found")


# --- v2: registration -----------------------------------------------------------------------


def test_v2_registration_takes_a_role_and_refuses_the_booleans():
    anon = APIClient()
    body = register_body("/api/v2/", "bob", "job_seeker")
    for booleans in ({"is_employer": True}, {"is_job_seeker": True}, {"is_employer": False}):
        legacy = {k: v for k, v in body.items() if k != "role"} | booleans
        problem = assert_problem(anon.post("/api/v2/users/register/", legacy, format="json"), 400)
        assert list(problem["errors"]) == ["role"]
        assert "role" in problem["errors"]["role"][0]
    missing = {k: v for k, v in body.items() if k != "role"}
    problem = assert_problem(anon.post("/api/v2/users/register/", missing, format="json"), 400)
    assert "role" in problem["errors"]
    wrong = {**body, "role": "admin"}
    problem = assert_problem(anon.post("/api/v2/users/register/", wrong, format="json"), 400)
    assert list(problem["errors"]) == ["role"]
    response = anon.post("/api/v2/users/register/", body, format="json")
    assert response.status_code == 201
    assert response.json()["is_job_seeker"] is True
    assert response.json()["is_employer"] is False
    # v1 still refuses a role it does not know, and still takes its booleans.
    v1 = anon.post(
        "/api/v1/users/register/", register_body("/api/v1/", "eve", "employer"), format="json"
    )
    assert v1.status_code == 201
    assert v1.json()["is_employer"] is True


# --- v2: problem details --------------------------------------------------------------------


def test_v2_errors_are_problem_details_for_each_status(seeker, job, settings):
    anon = APIClient()
    signed_in = APIClient()
    signed_in.force_authenticate(seeker)

    problem = assert_problem(
        anon.post("/api/v2/jobs/create/", {}, format="json"), 401, "not_authenticated"
    )
    assert problem["title"] == "Unauthorized"
    assert_problem(
        signed_in.post("/api/v2/categories/", {"name": "A", "slug": "a"}, format="json"), 403
    )
    assert_problem(anon.get("/api/v2/jobs/999999/"), 404, "not_found")
    assert_problem(anon.delete("/api/v2/categories/"), 405, "method_not_allowed")
    assert_problem(anon.get("/api/v2/categories/", HTTP_ACCEPT="text/csv"), 406, "not_acceptable")
    assert_problem(anon.get("/api/v2/categories/?format=csv"), 404, "not_found")
    raw = anon.generic(
        "POST", "/api/v2/token/", "a=b", content_type="application/x-www-form-urlencoded"
    )
    assert_problem(raw, 415, "unsupported_media_type")
    invalid = assert_problem(anon.get("/api/v2/jobs/?remote=maybe"), 400)
    assert "remote" in invalid["errors"]
    # The field messages are v1's body, under `errors`.
    v1 = anon.get("/api/v1/jobs/?remote=maybe")
    assert invalid["errors"] == v1.json()

    big = json.dumps({"username": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)})
    too_large = anon.generic("POST", "/api/v2/token/", big, content_type="application/json")
    assert_problem(too_large, 413, "request_too_large")
    v1_too_large = anon.generic("POST", "/api/v1/token/", big, content_type="application/json")
    assert v1_too_large.status_code == 413
    assert v1_too_large["Content-Type"] == "application/json"


def test_v2_throttled_is_a_problem_with_retry_after(monkeypatch):
    # As tests/core/test_abuse_limits.py sets a rate: DRF binds the rates at import.
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "anon", "1/min")
    anon = APIClient()
    anon.get("/api/v2/categories/")
    response = anon.get("/api/v2/categories/")
    assert_problem(response, 429, "throttled")
    assert int(response["Retry-After"]) > 0


def test_v2_database_outage_is_a_problem_503(monkeypatch):
    from django.db import OperationalError

    from core.api import jobs

    def down(*args, **kwargs):
        raise OperationalError("the database is down")

    monkeypatch.setattr(jobs.listings, "job_detail", down)
    response = APIClient().get("/api/v2/jobs/1/")
    assert_problem(response, 503, "service_unavailable")
    assert response["Retry-After"]


# --- v2: cursor pagination ------------------------------------------------------------------


def refreshed_as_the_worker_does() -> None:
    """The listings worker's answer to the last `job.published` event (`tasks.listings`): the
    generation bump that makes every cached page, v1's and v2's, stale at once."""
    event = OutboxEvent.objects.filter(event_type="job.published").latest("occurred_at")
    refresh_listings(str(event.pk))
    listing_cache.forget_local()  # this process's copy of the generation is re-read at once


def _walk(client: APIClient, url: str, *, between=None) -> list[int]:
    seen, pages = [], 0
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.content
        body = response.json()
        assert "count" not in body
        seen += [job["id"] for job in body["results"]]
        url = body["next"]
        pages += 1
        if between is not None and url:
            between(pages)
    return seen


def test_v2_cursor_pages_neither_skip_nor_repeat_a_job_published_meanwhile(
    employer, category, make_job, listings_cache_on
):
    now = timezone.now()
    # Ties on published_at: the id breaks them.
    bulk_jobs(7, employer=employer, category=category, published_at=now - timedelta(hours=1))
    bulk_jobs(5, employer=employer, category=category, published_at=now - timedelta(hours=2))
    anon = APIClient()
    before = list(Job.objects.open().order_by("-published_at", "-id").values_list("id", flat=True))
    published = []

    def publish(page: int) -> None:
        published.append(make_job(title=f"Published while paging {page}").id)
        refreshed_as_the_worker_does()

    seen = _walk(anon, "/api/v2/jobs/?page_size=3", between=publish)
    assert seen == before  # every job that was there, once, in order; the new ones are above
    assert len(published) == 3  # 12 jobs, 4 pages: 3 links followed
    fresh = _walk(anon, "/api/v2/jobs/?page_size=3")
    assert fresh == [*reversed(published), *before]


def test_v2_previous_cursor_walks_back_and_links_keep_the_filters(employer, category):
    now = timezone.now()
    bulk_jobs(
        10,
        employer=employer,
        category=category,
        remote=True,
        published_at=now - timedelta(minutes=5),
    )
    anon = APIClient()
    first = anon.get("/api/v2/jobs/?remote=true&page_size=4&ordering=-published_at").json()
    assert first["previous"] is None
    assert "remote=true" in first["next"]
    assert "/api/v2/jobs/" in first["next"]
    second = anon.get(first["next"]).json()
    third = anon.get(second["next"]).json()
    assert len(third["results"]) == 2
    assert third["next"] is None
    back = anon.get(third["previous"]).json()
    assert back["results"] == second["results"]
    assert anon.get(back["previous"]).json()["results"] == first["results"]
    assert anon.get(back["previous"]).json()["previous"] is None

    ascending = _walk(anon, "/api/v2/jobs/?ordering=created_at&page_size=3")
    assert ascending == sorted(ascending, key=lambda i: (Job.objects.get(pk=i).created_at, i))


def test_v2_refuses_bad_cursors_and_page_numbers_on_keyset_orderings(job):
    anon = APIClient()
    for cursor in ("nonsense", base64.urlsafe_b64encode(b'["created_at","x",1,0]').decode(), "%00"):
        problem = assert_problem(anon.get(f"/api/v2/jobs/?cursor={cursor}"), 400)
        assert list(problem["errors"]) == ["cursor"]
    # A cursor of one ordering is not one of another.
    page = anon.get("/api/v2/jobs/?page_size=1&ordering=created_at")
    assert page.status_code == 200
    problem = assert_problem(anon.get("/api/v2/jobs/?page=2"), 400)
    assert list(problem["errors"]) == ["page"]
    assert_problem(anon.get("/api/v2/jobs/?ordering=-salary&cursor=abc"), 400)


def test_v2_ranked_and_salary_orderings_keep_numbered_pages_on_v2_links(make_job):
    for n in range(3):
        make_job(title=f"Python developer {n}", salary_min=n, salary_max=n + 1)
    anon = APIClient()
    by_salary = anon.get("/api/v2/jobs/?ordering=-salary&page_size=2").json()
    assert by_salary["count"] == 3
    assert by_salary["next"].startswith("http")
    assert "/api/v2/jobs/?" in by_salary["next"]
    assert "page=2" in by_salary["next"]
    v1 = anon.get("/api/v1/jobs/?ordering=-salary&page_size=2").json()
    assert by_salary["results"] == v1["results"]
    assert anon.get(by_salary["next"]).json()["results"] == anon.get(v1["next"]).json()["results"]
    ranked = anon.get("/api/v2/jobs/?search=python").json()
    assert ranked["count"] == 3


def test_v2_pages_are_cached_and_a_write_refreshes_them(make_job, listings_cache_on):
    first = make_job(title="First")
    anon = APIClient()
    page = anon.get("/api/v2/jobs/")
    assert [job["id"] for job in page.json()["results"]] == [first.id]
    assert anon.get("/api/v2/jobs/", HTTP_IF_NONE_MATCH=page["ETag"]).status_code == 304
    # v1's page of the same query is another entry, with its own bytes.
    assert anon.get("/api/jobs/").content != page.content
    second = make_job(title="Second")
    refreshed_as_the_worker_does()
    fresh = anon.get("/api/v2/jobs/")
    assert [job["id"] for job in fresh.json()["results"]] == [second.id, first.id]
    assert fresh["ETag"] != page["ETag"]


# --- Schemas and documentation --------------------------------------------------------------


def test_a_schema_per_version_and_the_contract_schema_unchanged():
    anon = APIClient()
    contract = anon.get("/api/docs/swagger.json")
    v1 = anon.get("/api/v1/docs/swagger.json")
    v2 = anon.get("/api/v2/docs/swagger.json")
    assert contract.status_code == v1.status_code == v2.status_code == 200
    contract_doc, v1_doc, v2_doc = contract.json(), v1.json(), v2.json()
    assert all(
        path.startswith("/api/") and not path.startswith(("/api/v1/", "/api/v2/"))
        for path in contract_doc["paths"]
    )
    # GraphQL is not versioned: only the unversioned document has it.
    assert "/api/graphql/" in contract_doc["paths"]
    assert not any("graphql" in path for path in [*v1_doc["paths"], *v2_doc["paths"]])
    del contract_doc["paths"]["/api/graphql/"]
    # v1's document is the contract's, at /api/v1/.
    assert json.loads(json.dumps(v1_doc).replace("/api/v1/", "/api/")) == contract_doc
    assert {p.replace("/api/v2/", "/api/") for p in v2_doc["paths"]} == set(contract_doc["paths"])
    assert v1_doc["info"]["version"] == "1.0.0"
    assert v2_doc["info"]["version"] == "2.0.0"

    register = v2_doc["paths"]["/api/v2/users/register/"]["post"]
    body = register["requestBody"]["content"]["application/json"]["schema"]["$ref"].rpartition("/")[
        2
    ]
    fields = v2_doc["components"]["schemas"][body]["properties"]
    assert "role" in fields
    assert "is_employer" not in fields
    assert PROBLEM in register["responses"]["400"]["content"]
    listing = v2_doc["paths"]["/api/v2/jobs/"]["get"]
    assert "cursor" in [p["name"] for p in listing["parameters"]]
    page = listing["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert "count" not in v2_doc["components"]["schemas"][page.rpartition("/")[2]]["required"]
    assert "cursor" not in [
        p["name"] for p in contract_doc["paths"]["/api/jobs/"]["get"]["parameters"]
    ]


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_swagger_ui_and_redoc_per_version_with_a_version_picker(version):
    anon = APIClient()
    page = anon.get(f"/api/{version}/docs/")
    assert page.status_code == 200
    assert "?script" in page.content.decode()  # no inline script: the settings are in a file
    script = anon.get(f"/api/{version}/docs/?script")
    assert script.status_code == 200
    text = script.content.decode()
    assert '"url": "/api/v1/docs/swagger.json"' in text
    assert '"url": "/api/v2/docs/swagger.json"' in text
    assert f'"urls.primaryName": "{version}"' in text
    redoc = anon.get(f"/api/{version}/docs/redoc/")
    assert redoc.status_code == 200
    assert f"/api/{version}/docs/swagger.json" in redoc.content.decode()
    # The contract's Swagger UI stays v1's alone.
    assert "urls.primaryName" not in anon.get("/api/docs/").content.decode()


# --- Deprecation headers --------------------------------------------------------------------


def test_no_version_is_deprecated_now():
    response = APIClient().get("/api/v1/categories/")
    assert not response.has_header("Deprecation")
    assert not response.has_header("Sunset")


def test_a_deprecated_version_says_so_on_every_response(settings, job):
    from jobboard.settings import parse_api_deprecations

    settings.API_DEPRECATIONS = parse_api_deprecations("v1=2026-06-01/2027-12-31")
    settings.API_MIGRATION_NOTES_URL = "https://docs.example.com/migrating-to-v2"
    anon = APIClient()
    for path in (
        "/api/v1/categories/",
        "/api/categories/",
        "/api/v1/jobs/",
        "/api/jobs/",
        f"/api/v1/jobs/{job.id}/",
        "/api/v1/nothing/",
        "/api/users/me/",
    ):
        response = anon.get(path)
        assert response["Deprecation"] == "@1780272000", path  # 2026-06-01T00:00:00Z
        assert response["Sunset"] == "Fri, 31 Dec 2027 00:00:00 GMT"
        assert response["Link"] == '<https://docs.example.com/migrating-to-v2>; rel="deprecation"'
    for path in ("/api/v2/categories/", "/api/docs/swagger.json", "/api/v1/docs/", "/healthz"):
        assert not anon.get(path).has_header("Deprecation"), path


def test_api_deprecations_parsing():
    from django.core.exceptions import ImproperlyConfigured

    from jobboard.settings import parse_api_deprecations

    assert parse_api_deprecations("") == {}
    parsed = parse_api_deprecations("v1=2027-12-31, v2=2028-01-01/2029-01-01")
    assert parsed["v1"][0] is None
    assert str(parsed["v1"][1]) == "2027-12-31"
    assert str(parsed["v2"][0]) == "2028-01-01"
    for bad in ("v3=2027-12-31", "v1=someday", "v1=2028-01-01/2027-01-01", "v1"):
        with pytest.raises(ImproperlyConfigured):
            parse_api_deprecations(bad)


@pytest.mark.parametrize(
    ("path", "version"),
    [("/api/jobs/", "v1"), ("/api/v1/jobs/", "v1"), ("/api/v2/jobs/", "v2")],
)
def test_request_version_is_set_on_every_mount(path, version, monkeypatch):
    """`request.version` as the views see it, unversioned paths included."""
    from core.api import jobs

    seen = []

    def list_jobs(view, request, *args, **kwargs):
        seen.append(request.version)
        raise jobs.NotFound("stop here")

    monkeypatch.setattr(jobs.JobViewSet, "list", list_jobs)
    APIClient().get(path, HTTP_AUTHORIZATION="")  # past the fast path: DRF's dispatch
    assert seen == [version]
