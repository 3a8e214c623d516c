"""Job alerts end to end: a published job → outbox → RabbitMQ → a real worker → the SMTP server,
the digests run through the broker and by beat's schedule, and the one-click unsubscribe a mail
client posts to a real gunicorn."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest

from core.accounts.models import Role
from core.alerts import services as alert_services
from core.alerts.models import JobAlert, JobAlertDigest
from core.jobs import services as job_services
from tests.e2e.conftest import wait_until
from tests.factories import make_user
from worker.celery import app

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

QUIET_SECONDS = 1.5  # a further email, if one were coming, would arrive within this


def post_job(employer, category, title: str, location: str = "Berlin"):
    return job_services.create_job(
        employer=employer,
        fields={
            "title": title,
            "description": "A team that ships.",
            "company_name": "Acme",
            "location": location,
            "employment_type": "full_time",
            "category": category,
        },
    )


@pytest.fixture
def people(db):
    employer = make_user(Role.EMPLOYER, username="hiring")
    seeker = make_user(Role.JOB_SEEKER, username="sam", email="sam@example.com")
    category = job_services.create_category(name="Engineering", slug="engineering")
    return employer, seeker, category


def open_url(method: str, url: str, body: bytes | None = None) -> tuple[int, bytes]:
    headers = {"Content-Type": "application/x-www-form-urlencoded"} if body is not None else {}
    request = urllib.request.Request(url, data=body, method=method, headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=15) as answer:  # noqa: S310
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_an_instant_alert_arrives_and_one_click_unsubscribe_stops_it(
    start_web, start_celery, smtp_sink, people
):
    employer, seeker, category = people
    web = start_web()
    start_celery(PUBLIC_BASE_URL=web.base)
    alert = alert_services.create_alert(
        user=seeker,
        name="Django in Berlin",
        filters={"search": "django", "category": "engineering", "location": "Berlin"},
        frequency="instant",
    )
    # A second matching alert of the same seeker: still one email for the job.
    alert_services.create_alert(
        user=seeker, name="Anything Berlin", filters={"location": "berlin"}, frequency="instant"
    )

    post_job(employer, category, "Rust engineer", location="Paris")  # matches neither
    published = time.monotonic()
    job = post_job(employer, category, "Senior Django engineer")

    wait_until(lambda: smtp_sink.count() >= 1, timeout=20, what="the instant alert email")
    time.sleep(QUIET_SECONDS)
    (received,) = smtp_sink.received
    assert received.received_at - published < 10
    assert received.envelope_to == ["sam@example.com"]
    assert "Senior Django engineer" in received.message["Subject"]
    assert f"http://localhost:3000/jobs/{job.pk}" in received.text()
    assert f"http://localhost:3000/jobs/{job.pk}" in received.html()
    assert received.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = received.message["List-Unsubscribe"].strip().strip("<>")
    assert unsubscribe.startswith(f"{web.base}/api/alerts/unsubscribe/")

    # A link scanner's GET changes nothing.
    status, _ = open_url("GET", unsubscribe)
    assert status == 200
    assert JobAlert.objects.get(pk=alert.pk).is_active
    # What a mail client posts (RFC 8058): no cookie, no token, this form body.
    status, body = open_url("POST", unsubscribe, b"List-Unsubscribe=One-Click")
    assert status == 200, body
    assert not JobAlert.objects.get(pk=alert.pk).is_active

    # The other alert, paused through the API's service, and nothing more arrives.
    JobAlert.objects.filter(user=seeker).update(is_active=False)
    post_job(employer, category, "Staff Django engineer")
    time.sleep(QUIET_SECONDS * 2)
    assert smtp_sink.count() == 1


def test_daily_digests_go_once_a_day_and_only_with_new_jobs(start_celery, smtp_sink, people):
    employer, seeker, category = people
    start_celery()
    alert = alert_services.create_alert(
        user=seeker, name="Python", filters={"search": "python"}, frequency="daily"
    )

    def run_twice_at_once() -> None:
        # What beat sends, twice and at the same time (two pool processes take one each).
        for _ in range(2):
            app.send_task("tasks.alerts.send_job_alert_digests", args=("daily",))

    run_twice_at_once()  # nothing new yet
    time.sleep(QUIET_SECONDS * 2)
    assert smtp_sink.count() == 0

    first = post_job(employer, category, "Python developer")
    post_job(employer, category, "Rust developer")
    run_twice_at_once()
    wait_until(lambda: smtp_sink.count() >= 1, timeout=20, what="the daily digest")
    time.sleep(QUIET_SECONDS)
    run_twice_at_once()  # the same day again
    time.sleep(QUIET_SECONDS * 2)
    (digest,) = smtp_sink.received
    assert "Python developer" in digest.text()
    assert "Rust developer" not in digest.text()
    assert f"/jobs/{first.pk}" in digest.html()
    assert digest.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    # The next day (the digest sent is yesterday's): only what was published since.
    JobAlertDigest.objects.filter(alert=alert).update(period="2000-01-01")
    second = post_job(employer, category, "Python platform engineer")
    run_twice_at_once()
    wait_until(lambda: smtp_sink.count() >= 2, timeout=20, what="the next digest")
    time.sleep(QUIET_SECONDS)
    assert smtp_sink.count() == 2
    text = smtp_sink.received[1].text()
    assert "Python platform engineer" in text
    assert f"/jobs/{second.pk}" in text
    assert "Python developer\n" not in text
    assert JobAlert.objects.get(pk=alert.pk).last_sent_at is not None


def test_beat_sends_the_daily_digest_at_the_configured_time(start_celery, smtp_sink, people):
    employer, seeker, category = people
    alert_services.create_alert(
        user=seeker, name="Python", filters={"search": "python"}, frequency="daily"
    )
    post_job(employer, category, "Python developer")
    # The next whole minute, with time left for beat to start before it.
    now = datetime.now(UTC)
    at = (now + timedelta(minutes=2 if now.second > 40 else 1)).strftime("%H:%M")
    start_celery()
    start_celery("beat", JOB_ALERT_DIGEST_TIME=at)

    wait_until(lambda: smtp_sink.count() >= 1, timeout=150, what=f"the digest beat sends at {at}")
    time.sleep(QUIET_SECONDS)
    (digest,) = smtp_sink.received
    assert "Python developer" in digest.text()
    assert digest.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
