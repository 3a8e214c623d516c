"""Bad input anywhere is a 4xx JSON answer with a useful message, never a 500 or an HTML page."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.django_db

JUNK_BODIES = [
    "{not json",
    "[]",
    "null",
    '"a string"',
    "42",
    '{"job": {"nested": true}}',
    json.dumps({"title": "\x00", "name": "\x00", "username": "\x00", "status": "\x00"}),
    json.dumps({k: "x" * 100_000 for k in ("title", "name", "username", "cover_letter")}),
    json.dumps({"job": 2**70, "category": -1, "salary_min": 1e308, "remote": "maybe"}),
]
POST_URLS = [
    "/api/users/register/",
    "/api/token/",
    "/api/token/refresh/",
    "/api/token/verify/",
    "/api/token/blacklist/",
    "/api/categories/",
    "/api/jobs/",
    "/api/jobs/create/",
    "/api/applications/apply/",
    "/api/users/me/password/",
]


@pytest.mark.parametrize("url", POST_URLS)
@pytest.mark.parametrize("role", ["anonymous", "seeker", "employer"])
def test_junk_bodies_get_a_json_4xx(url, role, anon_client, seeker_client, employer_client):
    client = {"anonymous": anon_client, "seeker": seeker_client, "employer": employer_client}[role]
    for body in JUNK_BODIES:
        response = client.post(url, data=body, content_type="application/json")
        assert 400 <= response.status_code < 500, (url, body[:60], response.content[:200])
        assert response["Content-Type"].startswith("application/json"), (url, body[:60])
        assert isinstance(response.json(), dict)


def test_an_oversized_body_is_413_with_the_limit(seeker_client, job, settings):
    body = json.dumps(
        {"job": job.pk, "cover_letter": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)}
    )
    response = seeker_client.post(
        "/api/applications/apply/", data=body, content_type="application/json"
    )
    assert response.status_code == 413
    assert "too large" in response.json()["detail"]


def test_form_encoded_bodies_are_refused_with_415(anon_client):
    response = anon_client.post(
        "/api/users/register/", data="username=x", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 415
    assert "Unsupported media type" in response.json()["detail"]


@pytest.mark.parametrize(
    "url",
    [
        "/api/jobs/99999999999999999999/",
        "/api/categories/99999999999999999999/",
        "/api/applications/99999999999999999999/",
        "/api/applications/employer/?job=99999999999999999999",
        "/api/jobs/?page=99999999999999999999",
        "/api/jobs/?posted_since=not-a-date",
        "/api/jobs/?search=" + "x" * 201,
        "/api/no/such/route/",
    ],
)
def test_out_of_range_ids_and_bad_query_values_are_4xx(url, employer_client):
    response = employer_client.get(url)
    assert 400 <= response.status_code < 500, response.content[:200]
    assert isinstance(response.json(), dict)


def test_a_category_id_past_the_integer_range_matches_nothing(anon_client, job):
    response = anon_client.get("/api/jobs/?category=99999999999999999999")
    assert response.status_code == 200
    assert response.json()["count"] == 0


def test_unknown_url_is_a_json_404(anon_client):
    response = anon_client.get("/definitely/not/here/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "code": "not_found"}


@pytest.mark.parametrize("header", ["Bearer", "Bearer a b", "Token abc", "Bearer not.a.jwt"])
def test_malformed_authorization_headers_are_401(anon_client, header):
    response = anon_client.get("/api/users/me/", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert "detail" in response.json()
