"""The Django admin writes through the services: an operator's edit has the events, the history and
the cache refresh of the same change made through the API, and what no service writes is
read-only there."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from core.applications.models import Application, ApplicationStatus
from core.jobs.models import Category, Job, JobStatus
from core.outbox import events
from core.outbox.models import OutboxEvent


@pytest.fixture
def admin_browser(admin_user) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


def job_form(job: Job, **changes: Any) -> dict[str, Any]:
    data = {
        "title": job.title,
        "description": job.description,
        "company_name": job.company_name,
        "location": job.location,
        "remote": "on" if job.remote else "",
        "employment_type": job.employment_type,
        "category": job.category_id,
        "salary_min": job.salary_min or "",
        "salary_max": job.salary_max or "",
        "salary_currency": job.salary_currency,
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value != ""}


def application_form(application: Application, **changes: Any) -> dict[str, Any]:
    history = list(application.status_changes.order_by("changed_at", "id"))
    data: dict[str, Any] = {
        "status": application.status,
        "note": "",
        "status_changes-TOTAL_FORMS": len(history),
        "status_changes-INITIAL_FORMS": len(history),
        "status_changes-MIN_NUM_FORMS": 0,
        "status_changes-MAX_NUM_FORMS": 1000,
    }
    for index, change in enumerate(history):
        data[f"status_changes-{index}-id"] = change.pk
        data[f"status_changes-{index}-application"] = application.pk
    data.update(changes)
    return data


def events_of(event_type: str) -> list[OutboxEvent]:
    return list(OutboxEvent.objects.filter(event_type=event_type))


# --- Jobs -----------------------------------------------------------------------------------


def test_editing_a_published_job_in_the_admin_emits_job_updated(admin_browser, job):
    response = admin_browser.post(
        f"/admin/core/job/{job.pk}/change/", job_form(job, title="Staff Engineer")
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    job.refresh_from_db()
    assert job.title == "Staff Engineer"
    updated = events_of(events.JOB_UPDATED)
    assert [event.payload["job_id"] for event in updated] == [job.pk]


def test_a_jobs_status_and_dates_are_read_only_in_the_admin(admin_browser, job):
    expires_at = job.expires_at

    response = admin_browser.post(
        f"/admin/core/job/{job.pk}/change/",
        job_form(job, status=JobStatus.CLOSED, expires_at="2000-01-01 00:00:00"),
    )

    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == JobStatus.PUBLISHED
    assert job.expires_at == expires_at
    assert not events_of(events.JOB_UPDATED)  # nothing editable changed
    page = admin_browser.get(f"/admin/core/job/{job.pk}/change/").content.decode()
    assert 'name="title"' in page
    assert 'name="status"' not in page
    assert 'name="expires_at"' not in page


def test_a_closed_job_has_no_editable_field_in_the_admin(admin_browser, make_job):
    closed = make_job(status=JobStatus.CLOSED)

    page = admin_browser.get(f"/admin/core/job/{closed.pk}/change/").content.decode()

    assert 'name="title"' not in page


@pytest.mark.parametrize(
    ("action", "start", "status", "event_type"),
    [
        ("close", JobStatus.PUBLISHED, JobStatus.CLOSED, events.JOB_CLOSED),
        ("publish", JobStatus.DRAFT, JobStatus.PUBLISHED, events.JOB_PUBLISHED),
        ("renew", JobStatus.EXPIRED, JobStatus.PUBLISHED, events.JOB_PUBLISHED),
    ],
)
def test_the_admins_job_actions_are_the_services(
    admin_browser, make_job, action, start, status, event_type
):
    job = make_job(status=start)
    before = len(events_of(event_type))

    response = admin_browser.post(
        "/admin/core/job/", {"action": action, "_selected_action": [job.pk]}
    )

    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == status
    assert len(events_of(event_type)) == before + 1
    if action == "renew":
        assert job.is_open


def test_an_action_the_service_refuses_is_reported_and_changes_nothing(admin_browser, job):
    response = admin_browser.post(
        "/admin/core/job/", {"action": "publish", "_selected_action": [job.pk]}, follow=True
    )

    assert "Only a draft can be published" in response.content.decode()
    job.refresh_from_db()
    assert job.status == JobStatus.PUBLISHED
    assert len(events_of(events.JOB_PUBLISHED)) == 1  # the one of its creation


def test_deleting_a_job_in_the_admin_is_the_services_soft_delete(admin_browser, make_job):
    job = make_job()

    response = admin_browser.post(f"/admin/core/job/{job.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    job.refresh_from_db()
    assert job.deleted_at is not None
    assert [event.payload["job_id"] for event in events_of(events.JOB_CLOSED)] == [job.pk]


def test_jobs_are_not_added_in_the_admin(admin_browser):
    assert admin_browser.get("/admin/core/job/add/").status_code == 403


# --- Applications ---------------------------------------------------------------------------


def test_moving_an_application_in_the_admin_records_history_and_its_event(
    admin_browser, admin_user, application
):
    response = admin_browser.post(
        f"/admin/core/application/{application.pk}/change/",
        application_form(application, status=ApplicationStatus.REVIEWED, note="Strong CV"),
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    application.refresh_from_db()
    assert application.status == ApplicationStatus.REVIEWED
    step = application.status_changes.order_by("-changed_at", "-id").first()
    assert (step.from_status, step.to_status) == ("submitted", "reviewed")
    assert step.changed_by == admin_user
    assert step.note == "Strong CV"
    (event,) = events_of(events.APPLICATION_STATUS_CHANGED)
    assert event.payload["application_id"] == application.pk
    assert event.payload["to_status"] == "reviewed"


def test_the_admin_offers_only_the_moves_the_pipeline_allows(admin_browser, application):
    response = admin_browser.post(
        f"/admin/core/application/{application.pk}/change/",
        application_form(application, status=ApplicationStatus.HIRED),
    )

    assert response.status_code == 200  # the form again, with its error
    assert "Select a valid choice" in response.content.decode()
    application.refresh_from_db()
    assert application.status == ApplicationStatus.SUBMITTED
    assert not events_of(events.APPLICATION_STATUS_CHANGED)


def test_an_applications_content_is_read_only_and_it_cannot_be_deleted(admin_browser, application):
    response = admin_browser.post(
        f"/admin/core/application/{application.pk}/change/",
        application_form(application, cover_letter="Rewritten by an operator"),
    )

    assert response.status_code == 302
    application.refresh_from_db()
    assert application.cover_letter == "I love APIs."
    assert not events_of(events.APPLICATION_STATUS_CHANGED)
    delete = admin_browser.get(f"/admin/core/application/{application.pk}/delete/")
    assert delete.status_code == 403


# --- Categories -----------------------------------------------------------------------------


def test_categories_written_in_the_admin_go_through_the_service(admin_browser, monkeypatch):
    from core.jobs import listing_cache

    invalidations: list[int] = []
    monkeypatch.setattr(listing_cache, "invalidate_after_commit", lambda: invalidations.append(1))

    added = admin_browser.post("/admin/core/category/add/", {"name": "Data", "slug": "data"})
    category = Category.objects.get(slug="data")
    renamed = admin_browser.post(
        f"/admin/core/category/{category.pk}/change/", {"name": "Data science", "slug": "data"}
    )
    name_after_rename = Category.objects.get(pk=category.pk).name
    deleted = admin_browser.post(f"/admin/core/category/{category.pk}/delete/", {"post": "yes"})

    assert [added.status_code, renamed.status_code, deleted.status_code] == [302, 302, 302]
    assert name_after_rename == "Data science"
    assert not Category.objects.filter(slug="data").exists()
    assert len(invalidations) == 3  # the public category list is refreshed after each


# --- Users ----------------------------------------------------------------------------------


def user_form(user, **changes: Any) -> dict[str, Any]:
    data = {
        "username": user.username,
        "password": user.password,
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "is_active": "on" if user.is_active else "",
        "is_staff": "on" if user.is_staff else "",
        "role": user.role,
        "date_joined_0": user.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": user.date_joined.strftime("%H:%M:%S"),
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value != ""}


def test_deactivating_a_user_in_the_admin_ends_their_sessions(admin_browser, seeker):
    from tests.conftest import client_for

    api = client_for(seeker)
    assert api.get("/api/users/me/").status_code == 200

    answer = admin_browser.post(
        f"/admin/core/user/{seeker.pk}/change/", user_form(seeker, is_active="")
    )

    assert answer.status_code == 302, answer.content[:2000]
    seeker.refresh_from_db()
    assert not seeker.is_active
    assert not seeker.sessions.filter(ended_at__isnull=True).exists()
    # Reactivated, the account's old tokens stay dead: their session has ended.
    type(seeker).objects.filter(pk=seeker.pk).update(is_active=True)
    assert api.get("/api/users/me/").status_code == 401
