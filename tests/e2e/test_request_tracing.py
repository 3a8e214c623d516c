"""One request id from the API call to the email it causes, read from real processes' JSON logs.

A gunicorn web process and a Celery worker, both with `LOG_FORMAT=json`, share the test database
and RabbitMQ; a job seeker applies over HTTP. The id the web process answers with in
`X-Request-ID` must be in the web process's request log line, in the outbox row of the
`application.submitted` event, and in the worker's log line of the notification task that emailed
the employer.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request

import pytest

from core.accounts.models import Role
from core.api.accounts import session_refresh_token
from core.outbox import events
from core.outbox.models import OutboxEvent
from tests.e2e.conftest import wait_until
from tests.e2e.test_pipeline import make_open_job
from tests.factories import make_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

NOTIFY_TASK = "tasks.notifications.notify_employer_of_application"


def json_lines(text: str) -> list[dict]:
    """The JSON log lines of a process's output (banners and other plain output skipped)."""
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def post_json(url: str, body: dict, *, token: str) -> tuple[int, dict, dict]:
    request = urllib.request.Request(  # noqa: S310 (loopback only)
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=20) as response:  # noqa: S310
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read())


def test_one_request_id_ties_the_api_call_the_event_and_the_email_task(
    start_celery, start_web, smtp_sink
):
    worker = start_celery(LOG_FORMAT="json")
    web = start_web(LOG_FORMAT="json")
    base, web_log = web.base, web.log_path
    employer = make_user(Role.EMPLOYER)
    seeker = make_user(Role.JOB_SEEKER)
    job = make_open_job(employer, title="Site Reliability Engineer")
    token = str(session_refresh_token(seeker).access_token)

    status, headers, body = post_json(
        f"{base}/api/applications/apply/?source=e2e-query-secret",
        {"job": job.pk, "cover_letter": "Traces!", "resume_url": "https://example.com/cv.pdf"},
        token=token,
    )

    assert status == 201, body
    request_id = headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    wait_until(lambda: smtp_sink.count() >= 1, timeout=15, what="the employer's email")
    assert smtp_sink.received[0].envelope_to == [employer.email]

    # 1. The web process's request log line.
    web_lines = json_lines(web_log.read_text())
    [request_line] = [
        line
        for line in web_lines
        if line["logger"] == "jobboard.request" and line["path"] == "/api/applications/apply/"
    ]
    assert request_line["request_id"] == request_id
    assert request_line["method"] == "POST"
    assert request_line["status"] == 201
    assert request_line["user_id"] == seeker.pk
    assert request_line["duration_ms"] > 0
    assert request_line["level"] == "INFO"
    assert request_line["timestamp"]
    web_text = web_log.read_text()
    assert token not in web_text
    assert "e2e-query-secret" not in web_text

    # 2. The outbox row of the event the request recorded.
    event = OutboxEvent.objects.get(event_type=events.APPLICATION_SUBMITTED)
    assert event.request_id == request_id
    assert event.published_at is not None

    # 3. The worker's line for the notification task that sent the email.
    def task_line() -> dict | None:
        for line in json_lines(worker.log()):
            if line["logger"] == "jobboard.task" and line.get("task_name") == NOTIFY_TASK:
                return line
        return None

    wait_until(lambda: task_line() is not None, timeout=10, what="the task's log line")
    run = task_line()
    assert run["request_id"] == request_id
    assert run["event_id"] == str(event.id)
    assert run["outcome"] == "succeeded"
    assert run["task_id"]
    assert run["duration_ms"] > 0

    # Celery's own log lines (start-up, messages received) come out as JSON too. Its per-task
    # "succeeded" line is silenced: the `jobboard.task` line above says the same, with the ids.
    celery_lines = [
        line for line in json_lines(worker.log()) if line["logger"].startswith("celery")
    ]
    assert any(NOTIFY_TASK in line["message"] for line in celery_lines), worker.log()
    assert not any(line["logger"] == "celery.app.trace" for line in celery_lines), celery_lines
