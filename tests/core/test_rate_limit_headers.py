"""Throttled operations tell the client its quota: the IETF draft's `RateLimit-Policy` and
`RateLimit` fields, one item per throttle that counted the request, on DRF's path and the
listing's fast path; CORS lets a browser app read them."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from core.api import throttling
from core.api.jobs import JobViewSet

pytestmark = pytest.mark.django_db


@pytest.fixture
def rates(monkeypatch):
    monkeypatch.setattr(
        JobViewSet,
        "throttle_classes",
        [throttling.AnonRateThrottle, throttling.UserRateThrottle, throttling.ScopedRateThrottle],
    )
    for scope, rate in {"anon": "3/min", "user": "1000/min", "login": "2/min"}.items():
        monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, scope, rate)


def items(header: str) -> dict[str, dict[str, int]]:
    """`"a";q=1;w=2, "b";q=3` as {"a": {"q": 1, "w": 2}, "b": {"q": 3}}."""
    parsed = {}
    for item in header.split(", "):
        name, *params = item.split(";")
        assert name.startswith('"'), header
        assert name.endswith('"'), header
        parsed[name.strip('"')] = {k: int(v) for k, v in (p.split("=") for p in params)}
    return parsed


@pytest.mark.usefixtures("listings_cache_on")
@pytest.mark.parametrize("accept", [None, "application/json;q=0.9"], ids=["fast-path", "drf"])
def test_the_listing_counts_down_its_anonymous_quota(rates, job, accept):
    client = APIClient()
    headers = {"HTTP_ACCEPT": accept} if accept else {}
    answers = [client.get("/api/jobs/", **headers) for _ in range(4)]

    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert items(answers[0]["RateLimit-Policy"])["anon"] == {"q": 3, "w": 60}
    remaining = [items(a["RateLimit"])["anon"]["r"] for a in answers]
    assert remaining == [2, 1, 0, 0]
    for answer in answers:
        assert 1 <= items(answer["RateLimit"])["anon"]["t"] <= 60
    assert int(answers[-1]["Retry-After"]) >= 1


def test_a_login_names_each_throttle_that_counted_it(rates, anon_client):
    body = {"username": "nobody", "password": "wrong-Password-1"}
    first = anon_client.post("/api/token/", body, format="json")
    policies = items(first["RateLimit-Policy"])
    assert policies["login"] == {"q": 2, "w": 60}
    assert set(policies) >= {"anon", "login"}
    assert items(first["RateLimit"])["login"]["r"] == 1


def test_an_unthrottled_response_has_no_rate_limit_fields(anon_client, monkeypatch):
    monkeypatch.setattr(JobViewSet, "throttle_classes", [])
    response = anon_client.get("/api/jobs/")
    assert "RateLimit" not in response
    assert "RateLimit-Policy" not in response


def test_cors_exposes_the_headers_a_browser_app_reads(anon_client, settings, rates):
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example.com"]
    response = anon_client.get("/api/jobs/", HTTP_ORIGIN="https://app.example.com")
    exposed = {h.strip() for h in response["Access-Control-Expose-Headers"].split(",")}
    assert exposed >= {"ETag", "X-Request-ID", "RateLimit", "RateLimit-Policy", "Retry-After"}
    assert response["Access-Control-Allow-Origin"] == "https://app.example.com"


def test_the_schema_documents_each_operations_headers(anon_client):
    schema = anon_client.get("/api/docs/swagger.json").json()
    assert set(schema["components"]["headers"]) == {
        "X-Request-ID",
        "Access-Control-Allow-Origin",
        "RateLimit-Policy",
        "RateLimit",
        "Retry-After",
        "ETag",
    }

    def headers(path, method, code):
        return set(schema["paths"][path][method]["responses"][code].get("headers", {}))

    assert headers("/api/jobs/", "get", "200") == {
        "X-Request-ID",
        "Access-Control-Allow-Origin",
        "RateLimit-Policy",
        "RateLimit",
        "ETag",
    }
    assert "ETag" in headers("/api/jobs/{id}/", "get", "200")
    assert "ETag" in headers("/api/categories/", "get", "200")
    assert "ETag" not in headers("/api/jobs/mine/", "get", "200")
    assert headers("/api/token/", "post", "429") >= {"Retry-After", "RateLimit", "X-Request-ID"}
    assert "Retry-After" in headers("/api/token/", "post", "503")
    for item in schema["paths"].values():
        for operation in item.values():
            for response in operation["responses"].values():
                assert "X-Request-ID" in response["headers"]
                assert "Access-Control-Allow-Origin" in response["headers"]
