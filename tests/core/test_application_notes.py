"""Who said what: the employer's `note` is sent to the applicant, its `internal_note` never is,
and the applicant's view of the history names roles, not other people's usernames."""

from __future__ import annotations

import pytest
from django.core import mail

from core.applications import services as application_services
from core.applications.models import ApplicationStatusChange
from core.outbox.models import OutboxEvent
from tasks.notifications import notify_applicant_of_status
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def move(employer_client, application, **body):
    response = employer_client.patch(
        f"/api/applications/{application.pk}/status/", {"status": "reviewed", **body}, format="json"
    )
    assert response.status_code == 200, response.content
    return response.json()


def test_the_employer_sees_every_username_and_its_internal_note(
    employer_client, employer, seeker, application
):
    body = move(
        employer_client, application, note="Thanks, we will call you.", internal_note="Strong CV"
    )

    submitted, reviewed = body["status_history"]
    assert (submitted["actor"], submitted["changed_by"]) == ("applicant", seeker.username)
    assert (reviewed["actor"], reviewed["changed_by"]) == ("employer", employer.username)
    assert reviewed["note"] == "Thanks, we will call you."
    assert reviewed["internal_note"] == "Strong CV"
    assert ApplicationStatusChange.objects.get(to_status="reviewed").internal_note == "Strong CV"
    # Its own reads say the same.
    for url in (f"/api/applications/{application.pk}/", "/api/applications/employer/"):
        response = employer_client.get(url)
        history = (response.json().get("results") or [response.json()])[0]["status_history"]
        assert history[-1]["internal_note"] == "Strong CV"
        assert history[-1]["changed_by"] == employer.username


def test_the_applicant_sees_roles_and_the_note_but_never_the_internal_note(
    employer_client, seeker_client, employer, seeker, application
):
    move(employer_client, application, note="Thanks, we will call you.", internal_note="Strong CV")

    for url in (f"/api/applications/{application.pk}/", "/api/applications/seeker/"):
        response = seeker_client.get(url)
        assert response.status_code == 200
        history = (response.json().get("results") or [response.json()])[0]["status_history"]
        submitted, reviewed = history
        assert (submitted["actor"], submitted["changed_by"]) == ("applicant", seeker.username)
        assert (reviewed["actor"], reviewed["changed_by"]) == ("employer", None)
        assert reviewed["note"] == "Thanks, we will call you."
        assert reviewed["internal_note"] == ""
        assert employer.username.encode() not in response.content
        assert b"Strong CV" not in response.content


def test_a_withdrawal_answers_the_applicants_view(
    employer_client, seeker_client, employer, application
):
    move(employer_client, application, internal_note="Keep warm")
    response = seeker_client.post(f"/api/applications/{application.pk}/withdraw/")

    assert response.status_code == 200
    assert [h["actor"] for h in response.json()["status_history"]] == [
        "applicant",
        "employer",
        "applicant",
    ]
    assert employer.username.encode() not in response.content
    assert b"Keep warm" not in response.content


def test_an_admins_step_is_the_systems_to_the_applicant(
    admin_user, seeker_client, employer, application
):
    application_services.change_application_status(
        application=application, to_status="reviewed", actor=admin_user, internal_note="checked"
    )
    history = seeker_client.get(f"/api/applications/{application.pk}/").json()["status_history"]
    assert (history[-1]["actor"], history[-1]["changed_by"]) == ("system", None)
    admin_view = client_for(admin_user).get(f"/api/applications/{application.pk}/").json()
    assert admin_view["status_history"][-1]["changed_by"] == admin_user.username
    assert admin_view["status_history"][-1]["internal_note"] == "checked"


def test_the_email_to_the_applicant_has_the_note_and_not_the_internal_note(
    employer_client, application, settings
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    move(employer_client, application, note="See you Monday.", internal_note="Offer 5% less")
    event = OutboxEvent.objects.get(event_type="application.status_changed")

    notify_applicant_of_status.apply(args=[str(event.id)])

    [message] = mail.outbox
    assert "See you Monday." in message.body
    assert "Offer 5% less" not in message.body
    assert "Offer 5% less" not in message.alternatives[0][0]


def test_the_history_costs_no_query_per_step(
    employer_client, application, django_assert_max_num_queries
):
    move(employer_client, application, note="a")
    with django_assert_max_num_queries(8):
        employer_client.get("/api/applications/employer/")


def test_the_schema_says_the_note_is_sent_and_the_internal_note_is_not(anon_client):
    schema = anon_client.get("/api/docs/swagger.json").json()["components"]["schemas"]
    update = schema["ApplicationStatusUpdateRequest"]["properties"]
    assert "Sent to the applicant" in update["note"]["description"]
    assert "never emailed" in update["internal_note"]["description"]
    step = schema["ApplicationStatusChange"]["properties"]
    [actor_enum] = step["actor"]["allOf"]
    assert schema[actor_enum["$ref"].rsplit("/", 1)[-1]]["enum"] == [
        "employer",
        "applicant",
        "system",
    ]
    assert "Sent to the applicant" in step["note"]["description"]
    assert step["changed_by"]["nullable"] is True
