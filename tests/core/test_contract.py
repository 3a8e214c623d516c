"""The public contract, request by request, as existing clients send it (CONTRACT.md).

Each request goes through the real stack with real tokens obtained from `/api/token/`, in the
order a client would make them, so a change of path, method, field name or status code fails here.
"""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from core.accounts.models import User
from core.applications.models import Application
from core.jobs.models import Job, JobStatus
from core.outbox.models import OutboxEvent

pytestmark = pytest.mark.django_db

PASSWORD = "S3cure-Passw0rd!"


def login(client: APIClient, username: str) -> dict[str, str]:
    response = client.post(
        "/api/token/", {"username": username, "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200, response.content
    assert set(response.json()) == {"refresh", "access"}
    return response.json()


def bearer(access: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


def test_the_whole_contract_flow_in_order():
    anon = APIClient()

    # Accounts and tokens.
    response = anon.post(
        "/api/users/register/",
        {"username": "acme", "password": PASSWORD, "email": "hr@acme.test", "is_employer": True},
        format="json",
    )
    assert response.status_code == 201, response.content
    employer_body = response.json()
    assert employer_body["is_employer"] is True
    assert employer_body["is_job_seeker"] is False
    assert "password" not in employer_body
    assert {"id", "username", "email"} <= set(employer_body)

    response = anon.post(
        "/api/users/register/",
        {"username": "alice", "password": PASSWORD, "email": "a@x.test", "is_job_seeker": True},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["is_job_seeker"] is True

    employer_tokens = login(anon, "acme")
    seeker_tokens = login(anon, "alice")
    assert (
        anon.post(
            "/api/token/", {"username": "acme", "password": "wrong"}, format="json"
        ).status_code
        == 401
    )
    employer = bearer(employer_tokens["access"])
    seeker = bearer(seeker_tokens["access"])

    # Categories.
    assert anon.get("/api/categories/").status_code == 200
    category_body = {"name": "Backend", "slug": "backend"}
    assert anon.post("/api/categories/", category_body, format="json").status_code == 401
    assert seeker.post("/api/categories/", category_body, format="json").status_code == 403
    response = employer.post("/api/categories/", category_body, format="json")
    assert response.status_code == 201, response.content
    category_id = response.json()["id"]
    assert employer.post("/api/categories/", category_body, format="json").status_code == 400
    assert [c["slug"] for c in anon.get("/api/categories/").json()] == ["backend"]

    # Jobs.
    job_body = {
        "title": "Backend Engineer",
        "description": "Django and PostgreSQL.",
        "company_name": "Acme",
        "location": "Berlin",
        "employment_type": "full_time",
        "category": category_id,
    }
    assert seeker.post("/api/jobs/create/", job_body, format="json").status_code == 403
    response = employer.post("/api/jobs/create/", job_body, format="json")
    assert response.status_code == 201, response.content
    job_id = response.json()["id"]
    job = Job.objects.get(pk=job_id)
    assert job.employer.username == "acme"
    assert job.status == JobStatus.PUBLISHED

    response = anon.get("/api/jobs/?search=Backend&ordering=created_at")
    assert response.status_code == 200
    listing = response.json()
    assert listing["count"] == 1
    assert listing["results"][0]["id"] == job_id

    # Applications.
    apply_body = {
        "job": job_id,
        "cover_letter": "...",
        "resume_url": "https://example.com/resume.pdf",
    }
    assert employer.post("/api/applications/apply/", apply_body, format="json").status_code == 403
    response = seeker.post("/api/applications/apply/", apply_body, format="json")
    assert response.status_code == 201, response.content
    response = seeker.post("/api/applications/apply/", apply_body, format="json")
    assert response.status_code == 400
    assert "already applied" in response.json()["detail"]
    assert Application.objects.count() == 1

    seeker_list = seeker.get("/api/applications/seeker/").json()
    assert [a["job"]["id"] for a in seeker_list["results"]] == [job_id]
    employer_list = employer.get("/api/applications/employer/").json()
    assert [a["applicant"]["username"] for a in employer_list["results"]] == ["alice"]

    # Every write above left its event in the outbox.
    assert sorted(OutboxEvent.objects.values_list("event_type", flat=True)) == [
        "application.submitted",
        "job.published",
    ]

    # Refresh, then log out: the refresh token is dead afterwards.
    response = anon.post(
        "/api/token/refresh/", {"refresh": seeker_tokens["refresh"]}, format="json"
    )
    assert response.status_code == 200
    rotated = response.json()
    assert {"access", "refresh"} <= set(rotated)
    response = anon.post("/api/token/blacklist/", {"refresh": rotated["refresh"]}, format="json")
    assert response.status_code == 200
    assert (
        anon.post("/api/token/refresh/", {"refresh": rotated["refresh"]}, format="json").status_code
        == 401
    )


def test_closed_job_refuses_applications_through_the_contract_path(seeker_client, make_job, seeker):
    job = make_job(status=JobStatus.CLOSED)
    response = seeker_client.post(
        "/api/applications/apply/",
        {"job": job.pk, "cover_letter": "...", "resume_url": "https://example.com/resume.pdf"},
        format="json",
    )
    assert response.status_code == 400
    assert not Application.objects.filter(applicant=seeker).exists()


def test_registering_with_both_or_no_role_is_refused():
    client = APIClient()
    for flags in ({"is_employer": True, "is_job_seeker": True}, {}):
        body = {"username": "eve", "password": PASSWORD, "email": "eve@x.test", **flags}
        response = client.post("/api/users/register/", body, format="json")
        assert response.status_code == 400
        assert "Exactly one" in str(response.json())
    assert not User.objects.filter(username="eve").exists()
