"""Every error body has a `code`: DRF's own refusals, Django's handlers and the listing's fast
path, for each 4xx the API answers (400, 401, 403, 404, 405, 406, 413, 415, 429)."""

from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from core.api import throttling
from core.api.jobs import JobViewSet

pytestmark = pytest.mark.django_db

CASES = [
    # (who, method, url, request keyword arguments, status, code)
    ("anonymous", "get", "/api/users/me/", {}, 401, "not_authenticated"),
    ("anonymous", "get", "/api/users/me/", {"HTTP_AUTHORIZATION": "Bearer x"}, 401, None),
    ("seeker", "post", "/api/jobs/create/", {"data": {}, "format": "json"}, 403, None),
    ("seeker", "post", "/api/categories/", {"data": {}, "format": "json"}, 403, None),
    ("employer", "get", "/api/jobs/999999/", {}, 404, "not_found"),
    ("anonymous", "get", "/api/jobs/?page=99", {}, 404, "not_found"),
    ("anonymous", "get", "/no/such/page/", {}, 404, "not_found"),
    ("anonymous", "delete", "/api/token/", {}, 405, "method_not_allowed"),
    ("employer", "put", "/api/jobs/", {}, 405, "method_not_allowed"),
    ("employer", "get", "/api/users/me/", {"HTTP_ACCEPT": "text/html"}, 406, "not_acceptable"),
    ("anonymous", "get", "/api/jobs/", {"HTTP_ACCEPT": "text/html"}, 406, "not_acceptable"),
    (
        "anonymous",
        "post",
        "/api/token/",
        {"data": "{not json", "content_type": "application/json"},
        400,
        "parse_error",
    ),
    (
        "anonymous",
        "post",
        "/api/token/",
        {"data": "x" * (300 * 1024), "content_type": "application/json"},
        413,
        "request_too_large",
    ),
    (
        "anonymous",
        "post",
        "/api/users/register/",
        {"data": "username=x", "content_type": "application/x-www-form-urlencoded"},
        415,
        "unsupported_media_type",
    ),
    ("anonymous", "get", "/api/jobs/", {"HTTP_HOST": "evil.example"}, 400, "invalid"),
]


@pytest.mark.parametrize(
    ("who", "method", "url", "kwargs", "status", "code"),
    CASES,
    ids=[f"{c[4]} {c[1]} {c[2]}" for c in CASES],
)
def test_every_4xx_body_has_a_code(
    who, method, url, kwargs, status, code, anon_client, seeker_client, employer_client
):
    client = {"anonymous": anon_client, "seeker": seeker_client, "employer": employer_client}[who]
    response = getattr(client, method)(url, **kwargs)

    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert isinstance(body.get("detail"), str | list), body
    assert isinstance(body.get("code"), str), body
    assert body["code"], body
    if code is not None:
        assert body["code"] == code, body


def test_an_invalid_token_keeps_simplejwts_code(anon_client):
    response = anon_client.get("/api/users/me/", HTTP_AUTHORIZATION="Bearer not.a.jwt")
    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


@pytest.fixture
def anon_rate_of_two(monkeypatch):
    monkeypatch.setattr(
        JobViewSet,
        "throttle_classes",
        [throttling.AnonRateThrottle, throttling.UserRateThrottle, throttling.ScopedRateThrottle],
    )
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "anon", "2/min")
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "user", "1000/min")


@pytest.mark.usefixtures("listings_cache_on")
@pytest.mark.parametrize("accept", [None, "application/json;q=0.9"], ids=["fast-path", "drf"])
def test_a_429_has_the_code_throttled_and_retry_after(anon_rate_of_two, job, accept):
    client = APIClient()
    headers = {"HTTP_ACCEPT": accept} if accept else {}
    answers = [client.get("/api/jobs/", **headers) for _ in range(3)]

    assert [answer.status_code for answer in answers] == [200, 200, 429]
    refused = answers[-1]
    assert refused.json()["code"] == "throttled"
    assert "throttled" in refused.json()["detail"].lower()
    assert int(refused["Retry-After"]) >= 1


def test_a_login_over_its_limit_is_429_throttled(monkeypatch, anon_client, seeker):
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "login", "1/min")
    body = json.dumps({"username": seeker.username, "password": "wrong-Password-1"})
    first = anon_client.post("/api/token/", data=body, content_type="application/json")
    second = anon_client.post("/api/token/", data=body, content_type="application/json")

    assert first.status_code == 401
    assert second.status_code == 429
    assert second.json()["code"] == "throttled"
    assert int(second["Retry-After"]) >= 1
