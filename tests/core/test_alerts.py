"""Job alerts over REST: saving, validating, owning, pausing and previewing saved searches, and the
one-click unsubscribe link; and the digests and instant emails the tasks build from them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from core.alerts import selectors, services
from core.alerts.models import JobAlert, JobAlertDigest
from core.jobs.models import Job
from core.outbox.models import DeliveryStatus, EmailDelivery, OutboxEvent
from tasks import alerts as alert_tasks
from tests.conftest import client_for

BODY = {
    "name": "Django in Berlin",
    "filters": {
        "search": "django",
        "category": "backend",
        "employment_type": "full_time",
        "location": "Berlin",
        "remote": False,
        "salary_min": 50000,
    },
    "frequency": "instant",
}


def create(client, **changes):
    return client.post("/api/alerts/", {**BODY, **changes}, format="json")


def make_alert(user, **fields) -> JobAlert:
    filters = fields.pop("filters", {})
    return services.create_alert(
        user=user,
        name=fields.pop("name", "Alert"),
        filters=filters,
        frequency=fields.pop("frequency", "instant"),
    )


# --- REST -------------------------------------------------------------------------------------


def test_a_seeker_saves_an_alert_and_reads_it_back(seeker_client, category):
    response = create(seeker_client)

    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {
        "id",
        "name",
        "filters",
        "frequency",
        "is_active",
        "created_at",
        "last_sent_at",
    }
    assert body["filters"] == BODY["filters"]
    assert body["is_active"] is True
    assert body["last_sent_at"] is None
    listed = seeker_client.get("/api/alerts/").json()
    assert [alert["id"] for alert in listed["results"]] == [body["id"]]
    assert seeker_client.get(f"/api/alerts/{body['id']}/").json() == body


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"filters": {"category": "no-such-category"}}, "filters.category"),
        ({"filters": {"salary_min": 90000, "salary_max": 50000}}, "filters.salary_max"),
        ({"frequency": "hourly"}, "frequency"),
        ({"filters": {"search": "x" * 201}}, "filters.search"),
        ({"filters": {"remote": "true"}}, "filters.remote"),
        ({"filters": {"location": 0}}, "filters.location"),
        ({"filters": {"ordering": "-created_at"}}, "filters.ordering"),
        ({"name": ""}, "name"),
    ],
    ids=[
        "unknown-category",
        "min-above-max",
        "unknown-frequency",
        "long-search",
        "string-boolean",
        "number-location",
        "not-a-filter",
        "blank-name",
    ],
)
def test_bad_alerts_are_refused_with_field_errors(seeker_client, category, changes, field):
    response = create(seeker_client, **changes)

    assert response.status_code == 400, response.content
    errors = response.json()
    assert list(errors) == [field]
    assert all(isinstance(message, str) for message in errors[field])
    assert not JobAlert.objects.exists()


def test_the_twenty_first_alert_is_refused(seeker_client, seeker, category, settings):
    for n in range(settings.JOB_ALERTS_PER_USER):
        make_alert(seeker, name=f"Alert {n}")

    response = create(seeker_client)

    assert response.status_code == 400
    assert "non_field_errors" in response.json()
    assert JobAlert.objects.filter(user=seeker).count() == settings.JOB_ALERTS_PER_USER


def test_another_seekers_alert_is_not_found(seeker, other_seeker_client, employer_client):
    alert = make_alert(seeker)

    for method in ("get", "patch", "delete"):
        response = getattr(other_seeker_client, method)(
            f"/api/alerts/{alert.pk}/", {}, format="json"
        )
        assert response.status_code == 404, method
    assert other_seeker_client.get(f"/api/alerts/{alert.pk}/jobs/").status_code == 404
    assert other_seeker_client.get("/api/alerts/").json()["count"] == 0
    assert employer_client.post("/api/alerts/", BODY, format="json").status_code == 403
    assert JobAlert.objects.get(pk=alert.pk).is_active


def test_patch_pauses_changes_and_delete_removes(seeker, seeker_client, category):
    alert = make_alert(seeker, filters={"location": "Berlin"})

    paused = seeker_client.patch(f"/api/alerts/{alert.pk}/", {"is_active": False}, format="json")
    assert paused.status_code == 200
    assert paused.json()["is_active"] is False
    changed = seeker_client.patch(
        f"/api/alerts/{alert.pk}/",
        {"filters": {"search": "rust"}, "frequency": "weekly"},
        format="json",
    ).json()
    assert changed["filters"] == {"search": "rust"}  # replaced whole
    assert changed["frequency"] == "weekly"
    bad = seeker_client.patch(
        f"/api/alerts/{alert.pk}/", {"filters": {"salary_min": 2, "salary_max": 1}}, format="json"
    )
    assert bad.status_code == 400

    assert seeker_client.delete(f"/api/alerts/{alert.pk}/").status_code == 204
    assert seeker_client.get(f"/api/alerts/{alert.pk}/").status_code == 404


def test_the_preview_is_the_listing_for_the_alerts_filters(seeker, seeker_client, make_job):
    make_job(title="Django developer", location="Berlin")
    make_job(title="Django developer", location="Paris")
    alert = make_alert(seeker, filters={"search": "django", "location": "berlin"})

    preview = seeker_client.get(f"/api/alerts/{alert.pk}/jobs/")
    listing = client_for(None).get("/api/jobs/", {"search": "django", "location": "berlin"})

    assert preview.status_code == 200
    assert preview.json() == listing.json()
    assert preview.json()["count"] == 1


def test_deleting_an_account_deletes_its_alerts(seeker):
    alert = make_alert(seeker)

    seeker.delete()

    assert not JobAlert.objects.filter(pk=alert.pk).exists()


# --- Unsubscribe ------------------------------------------------------------------------------


def test_one_click_unsubscribe_post_stops_the_alert_and_get_does_not(seeker):
    alert = make_alert(seeker)
    token = selectors.unsubscribe_token(alert)
    url = f"/api/alerts/unsubscribe/{token}/"
    anonymous = client_for(None)
    anonymous.handler.enforce_csrf_checks = True

    looked = anonymous.get(url)
    assert looked.status_code == 200
    assert looked.json()["is_active"] is True
    assert JobAlert.objects.get(pk=alert.pk).is_active

    posted = anonymous.generic(
        "POST", url, "List-Unsubscribe=One-Click", "application/x-www-form-urlencoded"
    )
    assert posted.status_code == 200, posted.content
    assert not JobAlert.objects.get(pk=alert.pk).is_active
    # Opaque: it names the alert's random key, not its id, and changing it breaks the signature.
    assert token.split(":")[0] == alert.unsubscribe_key.hex


def test_a_tampered_or_incomplete_unsubscribe_is_refused(seeker):
    alert = make_alert(seeker)
    token = selectors.unsubscribe_token(alert)
    anonymous = client_for(None)

    for bad in (token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1], "nonsense"):
        response = anonymous.generic(
            "POST",
            f"/api/alerts/unsubscribe/{bad}/",
            "List-Unsubscribe=One-Click",
            "application/x-www-form-urlencoded",
        )
        assert response.status_code == 404
        assert response.json()["code"] == "invalid_token"
    assert anonymous.get(f"/api/alerts/unsubscribe/{bad}/").status_code == 404
    empty = anonymous.generic(
        "POST", f"/api/alerts/unsubscribe/{token}/", "", "application/x-www-form-urlencoded"
    )
    assert empty.status_code == 400
    assert JobAlert.objects.get(pk=alert.pk).is_active


# --- Instant alerts ---------------------------------------------------------------------------


def _published_event(job: Job) -> OutboxEvent:
    return OutboxEvent.objects.filter(event_type="job.published", payload__job_id=job.pk).latest(
        "occurred_at"
    )


def test_the_instant_matcher_finds_every_matching_alert_in_one_query(
    seeker, other_seeker, make_job, django_assert_num_queries
):
    mine = make_alert(seeker, filters={"search": "django", "location": "berl"})
    also_mine = make_alert(seeker, filters={"category": "backend"})
    make_alert(seeker, filters={"remote": True})
    make_alert(seeker, filters={"search": "django"}, frequency="daily")
    paused = make_alert(other_seeker, filters={})
    services.update_alert(alert=paused, changes={"is_active": False})
    job = make_job(title="Senior Django engineer", location="Berlin")

    with django_assert_num_queries(1):
        matches = selectors.instant_alerts_matching(job_id=job.pk)

    assert matches == [(mine.pk, seeker.pk), (also_mine.pk, seeker.pk)]


def test_an_instant_alert_email_has_the_job_links_and_one_click_headers(seeker, make_job):
    alert = make_alert(seeker, filters={"search": "django"})
    job = make_job(title="Django engineer")
    event = _published_event(job)

    result = alert_tasks.send_instant_alert.apply(args=(str(event.id), seeker.pk)).get()
    again = alert_tasks.send_instant_alert.apply(args=(str(event.id), seeker.pk)).get()

    assert (result, again) == ("sent", "duplicate")
    (message,) = mail.outbox
    assert message.to == [seeker.email]
    assert message.extra_headers["List-Unsubscribe"] == (f"<{selectors.unsubscribe_url(alert)}>")
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert f"http://localhost:3000/jobs/{job.pk}" in message.body
    assert f"http://localhost:3000/alerts/{alert.pk}" in message.body
    assert f"http://localhost:3000/jobs/{job.pk}" in message.alternatives[0][0]
    assert JobAlert.objects.get(pk=alert.pk).last_sent_at is not None


def test_a_paused_alert_sends_nothing_even_when_its_email_was_queued(seeker, make_job):
    alert = make_alert(seeker, filters={"search": "django"})
    job = make_job(title="Django engineer")
    services.update_alert(alert=alert, changes={"is_active": False})

    result = alert_tasks.send_instant_alert.apply(args=(str(_published_event(job).id), seeker.pk))

    assert result.get() == "skipped"
    assert mail.outbox == []


# --- Digests ----------------------------------------------------------------------------------


def _backdate(alert: JobAlert, **delta) -> None:
    JobAlert.objects.filter(pk=alert.pk).update(digest_through=timezone.now() - timedelta(**delta))


def run(frequency="daily", now=None):
    return alert_tasks.run_digests(frequency, send=alert_tasks.send_now_or_queue, now=now)


def test_a_daily_digest_goes_once_per_day_with_only_new_jobs(seeker, make_job):
    alert = make_alert(seeker, filters={"search": "rust"}, frequency="daily")
    first = make_job(title="Rust one")
    make_job(title="Golang one")

    assert run() == {"alerts": 1, "digests": 1}
    assert run() == {"alerts": 1, "digests": 0}  # the same day: nothing more
    (digest,) = mail.outbox
    assert "Rust one" in digest.body
    assert "Golang one" not in digest.body
    assert f"/jobs/{first.pk}" in digest.body
    assert digest.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    second = make_job(title="Rust two")
    tomorrow = timezone.now() + timedelta(days=1)
    assert run(now=tomorrow) == {"alerts": 1, "digests": 1}
    assert len(mail.outbox) == 2
    assert "Rust two" in mail.outbox[1].body
    assert "Rust one" not in mail.outbox[1].body
    assert f"/jobs/{second.pk}" in mail.outbox[1].body
    assert EmailDelivery.objects.filter(status=DeliveryStatus.SENT).count() == 2
    assert JobAlertDigest.objects.filter(alert=alert).count() == 2


def test_a_digest_with_nothing_new_sends_nothing(seeker, make_job):
    make_job(title="Golang one")
    make_alert(seeker, filters={"search": "rust"}, frequency="weekly")

    assert run("weekly") == {"alerts": 1, "digests": 0}
    assert mail.outbox == []


def test_a_digest_lists_at_most_the_maximum_and_links_the_rest(seeker, make_job, settings):
    settings.JOB_ALERT_MAX_JOBS = 2
    alert = make_alert(seeker, frequency="daily")
    for n in range(3):
        make_job(title=f"Job {n}")

    run()

    (digest,) = mail.outbox
    assert "Job 2" in digest.body
    assert "Job 1" in digest.body
    assert "Job 0" not in digest.body
    assert "And 1 more: http://localhost:8000/api/jobs/" in digest.body
    assert JobAlertDigest.objects.get(alert=alert).total == 3


def test_an_alert_paused_after_its_digest_was_claimed_sends_nothing(seeker, make_job):
    alert = make_alert(seeker, frequency="daily")
    make_job()
    claimed = []
    alert_tasks.run_digests("daily", send=claimed.append)
    services.update_alert(alert=alert, changes={"is_active": False})

    assert alert_tasks.deliver_digest(claimed[0], final_attempt=False) == "skipped"
    assert mail.outbox == []


def test_the_command_runs_one_digest_now(seeker, make_job, capsys):
    from django.core.management import call_command

    make_alert(seeker, frequency="daily")
    make_job()

    call_command("send_job_alerts", "--frequency", "daily")

    assert "1 sent" in capsys.readouterr().out
    assert len(mail.outbox) == 1


def test_beat_runs_the_digests_daily_and_weekly_at_the_configured_time(settings):
    from worker.celery import app

    schedule = app.conf.beat_schedule
    daily, weekly = schedule["job-alert-digests-daily"], schedule["job-alert-digests-weekly"]
    hour, minute = (int(part) for part in settings.JOB_ALERT_DIGEST_TIME.split(":"))

    assert daily["task"] == weekly["task"] == "tasks.alerts.send_job_alert_digests"
    assert (daily["args"], weekly["args"]) == (("daily",), ("weekly",))
    for entry in (daily, weekly):
        assert entry["schedule"].hour == {hour}
        assert entry["schedule"].minute == {minute}
    assert weekly["schedule"].day_of_week == {settings.JOB_ALERT_WEEKLY_DAY % 7}
    assert len(daily["schedule"].day_of_week) == 7


def test_a_digest_batch_waits_for_a_free_slot(seeker, make_job, settings, monkeypatch):
    import psycopg2
    from django.db import connection

    settings.JOB_ALERT_DIGEST_CONCURRENCY = 1
    make_alert(seeker, frequency="daily")
    make_job()
    db = connection.settings_dict
    other = psycopg2.connect(
        dbname=db["NAME"], user=db["USER"], host=db["HOST"] or "127.0.0.1", port=db["PORT"]
    )
    with other.cursor() as cursor:  # another run's batch holds the only slot
        cursor.execute("SELECT pg_advisory_lock(%s, 0)", [alert_tasks._DIGEST_LOCK_CLASS])
    waits = []

    def other_batch_ends(seconds: float) -> None:
        waits.append(seconds)
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, 0)", [alert_tasks._DIGEST_LOCK_CLASS])

    monkeypatch.setattr(alert_tasks.time, "sleep", other_batch_ends)

    try:
        assert run() == {"alerts": 1, "digests": 1}
    finally:
        other.close()
    assert len(waits) == 1
    assert len(mail.outbox) == 1
