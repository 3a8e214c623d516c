"""Password reset as a user sees it: asking always answers 202 and tells nothing; the emailed
link (derived at send time, never stored) sets a new password once, ends every session, and a
used, expired or forged link is a 400 with a code."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from rest_framework.test import APIClient

from core.outbox.models import OutboxEvent
from tasks.notifications import compose_password_reset
from tests.conftest import client_for
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

RESET_URL = "/api/users/password-reset/"
CONFIRM_URL = "/api/users/password-reset/confirm/"
NEW_PASSWORD = "Purple-Giraffe-Lantern-42"


@pytest.fixture
def reset_url(settings):
    settings.PASSWORD_RESET_URL = "https://front.test/reset?uid={uid}&token={token}"


def link_of(event: OutboxEvent) -> tuple[str, str]:
    email = compose_password_reset(event)
    assert email is not None
    found = re.search(r"uid=([\w-]+)&token=([\w-]+)", email.context["reset_url"])
    return found[1], found[2]


def ask(email: str):
    return APIClient().post(RESET_URL, {"email": email}, format="json")


def test_asking_for_a_known_or_unknown_address_answers_the_same(seeker, reset_url):
    known, unknown = ask(seeker.email.upper()), ask("nobody@example.com")

    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()
    (event,) = OutboxEvent.objects.filter(event_type="user.password_reset_requested")
    assert event.payload == {"user_id": seeker.pk}  # no token, nothing else


def test_the_link_sets_the_password_once_and_ends_every_session(seeker, reset_url):
    signed_in = client_for(seeker)
    assert signed_in.get("/api/users/me/").status_code == 200
    ask(seeker.email)
    uid, token = link_of(OutboxEvent.objects.get())

    answer = APIClient().post(
        CONFIRM_URL, {"uid": uid, "token": token, "new_password": NEW_PASSWORD}, format="json"
    )

    assert answer.status_code == 204, answer.content
    assert signed_in.get("/api/users/me/").status_code == 401
    login = APIClient().post(
        "/api/token/", {"username": seeker.username, "password": NEW_PASSWORD}, format="json"
    )
    assert login.status_code == 200
    again = APIClient().post(
        CONFIRM_URL,
        {"uid": uid, "token": token, "new_password": "Other-Long-Pass-77"},
        format="json",
    )
    assert again.status_code == 400
    assert again.json()["code"] == "invalid_reset_token"


@pytest.mark.parametrize(
    ("uid", "token"),
    [("MQ", "forged-token"), ("!!", "x"), ("OTk5OTk5", "abc-def"), ("", "")],
)
def test_a_forged_or_malformed_link_is_400_with_a_code(seeker, uid, token):
    answer = APIClient().post(
        CONFIRM_URL, {"uid": uid, "token": token, "new_password": NEW_PASSWORD}, format="json"
    )
    assert answer.status_code == 400
    body = answer.json()
    assert body.get("code") == "invalid_reset_token" or {"uid", "token"} & set(body)


def test_an_expired_link_is_refused(seeker, reset_url, settings):
    ask(seeker.email)
    uid, token = link_of(OutboxEvent.objects.get())
    settings.PASSWORD_RESET_TIMEOUT = -1

    answer = APIClient().post(
        CONFIRM_URL, {"uid": uid, "token": token, "new_password": NEW_PASSWORD}, format="json"
    )

    assert answer.status_code == 400
    assert answer.json()["code"] == "invalid_reset_token"
    seeker.refresh_from_db()
    assert seeker.check_password(PASSWORD)


def test_a_weak_new_password_is_a_field_error_and_the_link_still_works(seeker, reset_url):
    ask(seeker.email)
    uid, token = link_of(OutboxEvent.objects.get())

    weak = APIClient().post(
        CONFIRM_URL, {"uid": uid, "token": token, "new_password": "123"}, format="json"
    )

    assert weak.status_code == 400
    assert "new_password" in weak.json()
    ok = APIClient().post(
        CONFIRM_URL, {"uid": uid, "token": token, "new_password": NEW_PASSWORD}, format="json"
    )
    assert ok.status_code == 204


def test_the_email_carries_the_configured_link(seeker, reset_url):
    ask(seeker.email)
    email = compose_password_reset(OutboxEvent.objects.get())
    assert email.recipient == seeker.email
    assert email.context["reset_url"].startswith("https://front.test/reset?uid=")
    assert mail.outbox == []  # the request itself sends nothing: the worker does


def test_a_bad_email_is_a_field_error(anon_client):
    answer = anon_client.post(RESET_URL, {"email": "not-an-address"}, format="json")
    assert answer.status_code == 400
    assert "email" in answer.json()
