"""The request id and the request log line: what a client, an operator and the outbox see.

A client gets the id back in `X-Request-ID` (its own when it sent a safe one); every log line of
the request carries it, the request's own line says what happened without leaking credentials,
and an outbox event recorded during the request keeps it.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from django.test import Client

from core.applications import services
from core.outbox import events
from core.outbox.models import OutboxEvent
from core.request_id import MAX_LENGTH, clean_request_id, current_request_id
from tests.conftest import client_for
from tests.log_lines import json_log_lines

GENERATED = re.compile(r"[0-9a-f]{32}")
CATEGORIES_URL = "/api/categories/"
APPLY_URL = "/api/applications/apply/"


def request_lines(lines) -> list[dict]:
    return lines.parsed("jobboard.request")


@pytest.mark.parametrize(
    "incoming",
    [
        "0f8fad5b-d9cb-469f-a165-70867728950e",
        "edge.proxy_42-abc",
        "x",
        "a" * MAX_LENGTH,
    ],
)
def test_a_safe_incoming_request_id_is_honoured(db, incoming):
    response = Client().get(CATEGORIES_URL, headers={"X-Request-ID": incoming})

    assert response.status_code == 200
    assert response["X-Request-ID"] == incoming


@pytest.mark.parametrize(
    "incoming",
    [
        "",
        "a" * (MAX_LENGTH + 1),
        "has space",
        "quote\"and'apostrophe",
        '{"json":"injection"}',
        "semi;colon",
        "tab\tinside",
        "ünïcödé",
        "../../etc/passwd",
    ],
)
def test_an_unsafe_incoming_request_id_is_replaced_by_a_fresh_one(db, incoming):
    response = Client().get(CATEGORIES_URL, headers={"X-Request-ID": incoming})

    assert response.status_code == 200
    assert response["X-Request-ID"] != incoming
    assert GENERATED.fullmatch(response["X-Request-ID"])


def test_without_an_incoming_id_each_request_gets_its_own(db):
    client = Client()

    first = client.get(CATEGORIES_URL)["X-Request-ID"]
    second = client.get(CATEGORIES_URL)["X-Request-ID"]

    assert GENERATED.fullmatch(first)
    assert GENERATED.fullmatch(second)
    assert first != second


def test_errors_and_unknown_urls_answer_with_a_request_id_too(db):
    client = Client()

    not_found = client.get("/no/such/page/")
    unauthorised = client.get("/api/applications/seeker/")

    assert not_found.status_code == 404
    assert GENERATED.fullmatch(not_found["X-Request-ID"])
    assert unauthorised.status_code == 401
    assert GENERATED.fullmatch(unauthorised["X-Request-ID"])


def test_clean_request_id_accepts_only_bounded_conservative_ids():
    assert clean_request_id("abc-DEF_1.2") == "abc-DEF_1.2"
    assert clean_request_id(None) is None
    assert clean_request_id("") is None
    assert clean_request_id("a" * (MAX_LENGTH + 1)) is None
    assert clean_request_id("line\nbreak") is None
    assert clean_request_id("abc\n") is None


def test_the_request_log_line_says_what_happened(seeker, job):
    with json_log_lines() as lines:
        response = client_for(seeker).post(
            APPLY_URL,
            {"job": job.pk, "cover_letter": "Hello", "resume_url": "https://example.com/cv.pdf"},
            format="json",
            headers={"X-Request-ID": "apply-123"},
        )

    assert response.status_code == 201
    [line] = request_lines(lines)
    assert line["level"] == "INFO"
    assert line["request_id"] == "apply-123"
    assert line["method"] == "POST"
    assert line["path"] == APPLY_URL
    assert line["status"] == 201
    assert line["user_id"] == seeker.pk
    assert isinstance(line["duration_ms"], float)
    assert line["duration_ms"] >= 0
    assert datetime.fromisoformat(line["timestamp"]).utcoffset() == timedelta(0)


def test_an_anonymous_request_is_logged_without_a_user(db):
    with json_log_lines() as lines:
        Client().get("/no/such/page/")

    [line] = request_lines(lines)
    assert line["user_id"] is None
    assert line["status"] == 404


def test_every_line_of_a_request_carries_its_id_even_djangos_own_after_the_middleware(db):
    with json_log_lines() as lines:
        response = Client().get("/no/such/page/", headers={"X-Request-ID": "trace-404"})

    # Django logs "Not Found" once the middleware chain has returned; it is still this request.
    django_lines = lines.parsed("django.request")
    assert response.status_code == 404
    assert django_lines, "Django logged nothing for a 404"
    assert {line["request_id"] for line in lines.parsed()} == {"trace-404"}
    # Django's record carries the request object; its repr (with the query string) stays out.
    assert "request" not in django_lines[0]


def test_the_request_id_is_forgotten_once_the_response_is_sent(db):
    Client().get(CATEGORIES_URL, headers={"X-Request-ID": "short-lived"})

    assert current_request_id() is None


def test_credentials_and_query_strings_never_reach_the_log(seeker):
    client = client_for(seeker)
    authorization = client._credentials["HTTP_AUTHORIZATION"]
    with json_log_lines() as lines:
        client.get("/api/applications/seeker/?token=query-secret-123&page=1")
        Client().post(
            "/api/token/",
            {"username": seeker.username, "password": "password-in-a-body-456"},
            content_type="application/json",
        )

    text = "\n".join(lines.lines)
    assert request_lines(lines)[0]["path"] == "/api/applications/seeker/"
    assert "query-secret-123" not in text
    assert "password-in-a-body-456" not in text
    assert authorization.split()[1] not in text


def test_an_event_recorded_during_a_request_keeps_its_request_id(seeker, job):
    response = client_for(seeker).post(
        APPLY_URL,
        {"job": job.pk, "cover_letter": "Hello", "resume_url": "https://example.com/cv.pdf"},
        format="json",
        headers={"X-Request-ID": "apply-trace-7"},
    )

    assert response.status_code == 201
    event = OutboxEvent.objects.get(event_type=events.APPLICATION_SUBMITTED)
    assert event.request_id == "apply-trace-7"


def test_a_generated_request_id_is_the_one_the_event_keeps(seeker, job):
    response = client_for(seeker).post(
        APPLY_URL,
        {"job": job.pk, "cover_letter": "Hello", "resume_url": "https://example.com/cv.pdf"},
        format="json",
    )

    event = OutboxEvent.objects.get(event_type=events.APPLICATION_SUBMITTED)
    assert event.request_id == response["X-Request-ID"]


def test_an_event_recorded_outside_a_request_has_no_request_id(seeker, job):
    services.apply_to_job(
        applicant=seeker, job=job, cover_letter="", resume_url="https://example.com/cv.pdf"
    )

    event = OutboxEvent.objects.get(event_type=events.APPLICATION_SUBMITTED)
    assert event.request_id == ""
