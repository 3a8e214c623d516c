"""Accounts and tokens as a REST client sees them.

Registration (`/api/users/register/`), login (`/api/token/`), bearer authentication on
`/api/users/me/`, profile edits, refresh-token rotation and blacklisting (including many
concurrent refreshes of one token on PostgreSQL), password changes that log the user out
everywhere, and the per-client throttles on login and registration.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import jwt
import pytest
from django.conf import settings
from django.db import connection
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken

from core.accounts.models import Role, User
from tests.factories import PASSWORD, make_user
from tests.services import POSTGRESQL, require

REGISTER_URL = "/api/users/register/"
TOKEN_URL = "/api/token/"
REFRESH_URL = "/api/token/refresh/"
VERIFY_URL = "/api/token/verify/"
BLACKLIST_URL = "/api/token/blacklist/"
ME_URL = "/api/users/me/"
PASSWORD_URL = "/api/users/me/password/"

NEW_PASSWORD = "Purple-Giraffe-Lantern-42"

pytestmark = pytest.mark.django_db


# --- Helpers --------------------------------------------------------------------------------


def registration(**overrides: Any) -> dict[str, Any]:
    """The contract's registration body for a job seeker, with `overrides` applied."""
    body: dict[str, Any] = {
        "username": "carol",
        "password": PASSWORD,
        "email": "carol@example.com",
        "is_job_seeker": True,
    }
    body.update(overrides)
    return {key: value for key, value in body.items() if value is not None}


def login(client: APIClient, username: str, password: str = PASSWORD):
    return client.post(TOKEN_URL, {"username": username, "password": password}, format="json")


def tokens_of(user: User, password: str = PASSWORD) -> dict[str, str]:
    """Log in through the API and return its `{"refresh", "access"}` pair."""
    response = login(APIClient(), user.username, password)
    assert response.status_code == 200, response.content
    return response.json()


def bearer_client(access: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


def resigned(token: str, *, key: str, algorithm: str = "HS256", **claims: Any) -> str:
    """The payload of a real `token`, with `claims` changed, signed again with `key`."""
    payload = jwt.decode(token, options={"verify_signature": False})
    payload.update(claims)
    return jwt.encode(payload, key, algorithm=algorithm)


def assert_field_error(response, field: str, *, containing: str = "") -> None:
    assert response.status_code == 400, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert field in body, body
    messages = body[field]
    assert isinstance(messages, list)
    assert messages
    assert all(isinstance(message, str) for message in messages)
    if containing:
        assert any(containing.lower() in message.lower() for message in messages), messages


# --- Registration ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flag", "role"),
    [("is_job_seeker", Role.JOB_SEEKER), ("is_employer", Role.EMPLOYER)],
)
def test_register_as_in_the_contract_creates_user_with_that_role(anon_client, flag, role):
    body = {"username": "carol", "password": PASSWORD, "email": "carol@example.com", flag: True}

    response = anon_client.post(REGISTER_URL, body, format="json")

    assert response.status_code == 201, response.content
    data = response.json()
    user = User.objects.get(username="carol")
    assert data["id"] == user.pk
    assert data["username"] == "carol"
    assert data["email"] == "carol@example.com"
    assert data["is_employer"] is (role == Role.EMPLOYER)
    assert data["is_job_seeker"] is (role == Role.JOB_SEEKER)
    assert user.role == role
    assert user.check_password(PASSWORD)
    assert user.password != PASSWORD


def test_register_response_never_contains_the_password(anon_client):
    response = anon_client.post(REGISTER_URL, registration(), format="json")

    assert response.status_code == 201, response.content
    assert not [key for key in response.json() if "password" in key.lower()]
    assert PASSWORD not in response.content.decode()


def test_registered_user_can_log_in_and_read_own_account(anon_client):
    assert anon_client.post(REGISTER_URL, registration(), format="json").status_code == 201

    tokens = login(APIClient(), "carol").json()
    me = bearer_client(tokens["access"]).get(ME_URL)

    assert me.status_code == 200
    assert me.json()["username"] == "carol"
    assert me.json()["is_job_seeker"] is True


def test_register_with_one_flag_true_and_the_other_explicitly_false_is_accepted(anon_client):
    body = registration(is_job_seeker=False, is_employer=True)

    response = anon_client.post(REGISTER_URL, body, format="json")

    assert response.status_code == 201, response.content
    assert User.objects.get(username="carol").role == Role.EMPLOYER


@pytest.mark.parametrize(
    "flags",
    [
        {"is_employer": True, "is_job_seeker": True},
        {"is_employer": False, "is_job_seeker": False},
        {"is_employer": None, "is_job_seeker": None},
    ],
    ids=["both-true", "both-false", "neither-given"],
)
def test_register_without_exactly_one_role_flag_is_refused(anon_client, flags):
    response = anon_client.post(REGISTER_URL, registration(**flags), format="json")

    assert response.status_code == 400, response.content
    text = json.dumps(response.json())
    assert "is_employer" in text
    assert "is_job_seeker" in text
    assert not User.objects.filter(username="carol").exists()


@pytest.mark.parametrize(
    ("username", "password", "message"),
    [
        ("carol", "password", "too common"),
        ("carol", "12345678", "too common"),
        ("carol", "83920571", "entirely numeric"),
        ("carol", "Xk9#q", "too short"),
        ("margaretha", "margaretha1", "too similar"),
    ],
    ids=["common", "common-digits", "numeric", "short", "similar-to-username"],
)
def test_register_with_weak_password_is_a_password_field_error(
    anon_client, username, password, message
):
    body = registration(username=username, password=password)

    response = anon_client.post(REGISTER_URL, body, format="json")

    assert_field_error(response, "password", containing=message)
    assert not User.objects.filter(username=username).exists()


def test_register_with_username_taken_in_other_case_is_a_username_field_error(anon_client, seeker):
    body = registration(username="Alice", email="new-alice@example.com")

    response = anon_client.post(REGISTER_URL, body, format="json")

    assert_field_error(response, "username", containing="already exists")
    assert User.objects.filter(username__iexact="alice").count() == 1


def test_register_with_email_taken_in_other_case_is_an_email_field_error(anon_client, seeker):
    body = registration(email="ALICE@Example.COM")

    response = anon_client.post(REGISTER_URL, body, format="json")

    assert_field_error(response, "email", containing="already exists")
    assert not User.objects.filter(username="carol").exists()
    assert User.objects.filter(email__iexact="alice@example.com").count() == 1


@pytest.mark.parametrize("email", ["not-an-email", "carol@", "@example.com", "carol example.com"])
def test_register_with_bad_email_is_an_email_field_error(anon_client, email):
    response = anon_client.post(REGISTER_URL, registration(email=email), format="json")

    assert_field_error(response, "email")
    assert not User.objects.filter(username="carol").exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [("is_employer", "true"), ("is_job_seeker", "true"), ("is_job_seeker", 1)],
)
def test_register_role_flags_must_be_json_booleans(anon_client, field, value):
    body = registration(is_job_seeker=None)
    body[field] = value

    response = anon_client.post(REGISTER_URL, body, format="json")

    assert_field_error(response, field)
    assert not User.objects.filter(username="carol").exists()


def test_register_with_malformed_json_is_a_json_400(anon_client):
    response = anon_client.post(
        REGISTER_URL, data='{"username": "carol", "password": ', content_type="application/json"
    )

    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/json")
    assert "detail" in response.json()
    assert not User.objects.filter(username="carol").exists()


def test_register_ignores_privilege_and_identity_fields_in_the_body(anon_client):
    body = registration(is_staff=True, is_superuser=True, role="employer", id=987_654)

    response = anon_client.post(REGISTER_URL, body, format="json")

    assert response.status_code == 201, response.content
    data = response.json()
    user = User.objects.get(username="carol")
    assert data["id"] == user.pk != 987_654
    assert data["is_employer"] is False
    assert data["is_job_seeker"] is True
    assert not user.is_staff
    assert not user.is_superuser
    assert user.role == Role.JOB_SEEKER
    assert not User.objects.filter(pk=987_654).exists()


# --- Login ----------------------------------------------------------------------------------


def test_login_returns_refresh_and_access_tokens(anon_client, seeker):
    response = login(anon_client, "alice")

    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"refresh", "access"}
    assert jwt.decode(body["access"], options={"verify_signature": False})["token_type"] == (
        "access"
    )
    assert jwt.decode(body["refresh"], options={"verify_signature": False})["token_type"] == (
        "refresh"
    )


@pytest.mark.parametrize(
    ("username", "password"),
    [("alice", "Wrong-Password-123"), ("nobody", PASSWORD)],
    ids=["wrong-password", "unknown-user"],
)
def test_login_with_wrong_credentials_is_401_without_tokens(
    anon_client, seeker, username, password
):
    response = login(anon_client, username, password)

    assert response.status_code == 401
    body = response.json()
    assert "access" not in body
    assert "refresh" not in body
    assert "detail" in body


# --- Bearer authentication ------------------------------------------------------------------


def test_me_with_bearer_access_token_returns_own_account(seeker):
    access = tokens_of(seeker)["access"]

    response = bearer_client(access).get(ME_URL)

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["id"] == seeker.pk
    assert body["username"] == "alice"
    assert body["email"] == "alice@example.com"
    assert body["is_job_seeker"] is True
    assert body["is_employer"] is False
    assert not [key for key in body if "password" in key.lower()]


def test_me_without_token_is_401_with_challenge(anon_client, seeker):
    response = anon_client.get(ME_URL)

    assert response.status_code == 401
    assert "detail" in response.json()
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_me_with_garbage_token_is_401(seeker):
    response = bearer_client("not.a.jwt").get(ME_URL)

    assert response.status_code == 401


def test_me_with_token_resigned_with_the_real_key_is_accepted(seeker):
    """Control for the forged-token tests below: re-signing itself yields a valid token."""
    access = tokens_of(seeker)["access"]
    token = resigned(access, key=settings.SIMPLE_JWT["SIGNING_KEY"])

    assert bearer_client(token).get(ME_URL).status_code == 200


def test_me_with_token_signed_by_another_key_is_401(seeker):
    access = tokens_of(seeker)["access"]
    token = resigned(access, key="an-attacker-chosen-key-that-is-long-enough-32b")

    response = bearer_client(token).get(ME_URL)

    assert response.status_code == 401


def test_me_with_alg_none_token_is_401(seeker):
    access = tokens_of(seeker)["access"]
    token = resigned(access, key="", algorithm="none")
    assert jwt.get_unverified_header(token)["alg"] == "none"

    response = bearer_client(token).get(ME_URL)

    assert response.status_code == 401


def test_me_with_expired_access_token_is_401(seeker):
    access = tokens_of(seeker)["access"]
    now = int(time.time())
    token = resigned(access, key=settings.SIMPLE_JWT["SIGNING_KEY"], iat=now - 3600, exp=now - 60)

    response = bearer_client(token).get(ME_URL)

    assert response.status_code == 401


def test_refresh_token_used_as_access_token_is_401(seeker):
    refresh = tokens_of(seeker)["refresh"]

    response = bearer_client(refresh).get(ME_URL)

    assert response.status_code == 401


def test_access_token_of_deactivated_user_is_401(seeker):
    access = tokens_of(seeker)["access"]
    User.objects.filter(pk=seeker.pk).update(is_active=False)

    response = bearer_client(access).get(ME_URL)

    assert response.status_code == 401


# --- Profile --------------------------------------------------------------------------------


def test_patch_me_changes_email_and_names(seeker, seeker_client):
    body = {"email": "alice.new@example.com", "first_name": "Alice", "last_name": "Liddell"}

    response = seeker_client.patch(ME_URL, body, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["email"] == "alice.new@example.com"
    assert response.json()["first_name"] == "Alice"
    seeker.refresh_from_db()
    assert seeker.email == "alice.new@example.com"
    assert (seeker.first_name, seeker.last_name) == ("Alice", "Liddell")


def test_patch_me_ignores_role_staff_and_username(seeker, seeker_client):
    body = {
        "first_name": "Alice",
        "username": "mallory",
        "role": "employer",
        "is_employer": True,
        "is_job_seeker": False,
        "is_staff": True,
        "is_superuser": True,
    }

    response = seeker_client.patch(ME_URL, body, format="json")

    assert response.status_code == 200, response.content
    data = response.json()
    assert data["username"] == "alice"
    assert data["is_employer"] is False
    assert data["is_job_seeker"] is True
    assert data["is_staff"] is False
    seeker.refresh_from_db()
    assert seeker.first_name == "Alice"
    assert seeker.username == "alice"
    assert seeker.role == Role.JOB_SEEKER
    assert not seeker.is_staff
    assert not seeker.is_superuser


def test_patch_me_with_email_of_another_user_is_an_email_field_error(
    seeker, seeker_client, other_seeker
):
    response = seeker_client.patch(ME_URL, {"email": "BOB@example.com"}, format="json")

    assert_field_error(response, "email", containing="already exists")
    seeker.refresh_from_db()
    assert seeker.email == "alice@example.com"


def test_patch_me_keeping_own_email_is_not_a_conflict(seeker, seeker_client):
    response = seeker_client.patch(
        ME_URL, {"email": "alice@example.com", "first_name": "Al"}, format="json"
    )

    assert response.status_code == 200, response.content
    seeker.refresh_from_db()
    assert seeker.first_name == "Al"


def test_patch_me_with_bad_email_is_an_email_field_error(seeker, seeker_client):
    response = seeker_client.patch(ME_URL, {"email": "nope"}, format="json")

    assert_field_error(response, "email")
    seeker.refresh_from_db()
    assert seeker.email == "alice@example.com"


def test_patch_me_without_token_is_401(anon_client, seeker):
    response = anon_client.patch(ME_URL, {"first_name": "X"}, format="json")

    assert response.status_code == 401
    seeker.refresh_from_db()
    assert seeker.first_name == ""


# --- Refresh, rotation, logout, verify ------------------------------------------------------


def test_refresh_returns_new_access_and_rotated_refresh(seeker, anon_client):
    old = tokens_of(seeker)

    response = anon_client.post(REFRESH_URL, {"refresh": old["refresh"]}, format="json")

    assert response.status_code == 200, response.content
    new = response.json()
    assert set(new) >= {"access", "refresh"}
    assert new["refresh"] != old["refresh"]
    assert new["access"] != old["access"]
    assert bearer_client(new["access"]).get(ME_URL).json()["id"] == seeker.pk


def test_refresh_token_cannot_be_reused_after_rotation(seeker, anon_client):
    old = tokens_of(seeker)["refresh"]
    first = anon_client.post(REFRESH_URL, {"refresh": old}, format="json")
    assert first.status_code == 200, first.content

    reused = anon_client.post(REFRESH_URL, {"refresh": old}, format="json")
    rotated = anon_client.post(REFRESH_URL, {"refresh": first.json()["refresh"]}, format="json")

    assert reused.status_code == 401
    assert "access" not in reused.json()
    assert rotated.status_code == 200


def test_blacklisted_refresh_token_can_no_longer_be_refreshed(seeker, anon_client):
    refresh = tokens_of(seeker)["refresh"]

    logout = anon_client.post(BLACKLIST_URL, {"refresh": refresh}, format="json")
    assert logout.status_code == 200, logout.content
    jti = jwt.decode(refresh, options={"verify_signature": False})["jti"]
    assert BlacklistedToken.objects.filter(token__jti=jti).exists()

    response = anon_client.post(REFRESH_URL, {"refresh": refresh}, format="json")
    assert response.status_code == 401
    assert "access" not in response.json()


def test_blacklisting_a_garbage_token_is_401(anon_client):
    response = anon_client.post(BLACKLIST_URL, {"refresh": "garbage"}, format="json")

    assert response.status_code == 401


def test_refresh_with_garbage_or_access_token_is_401(seeker, anon_client):
    access = tokens_of(seeker)["access"]

    garbage = anon_client.post(REFRESH_URL, {"refresh": "garbage"}, format="json")
    wrong_type = anon_client.post(REFRESH_URL, {"refresh": access}, format="json")

    assert garbage.status_code == 401
    assert wrong_type.status_code == 401


def test_verify_accepts_valid_token_and_rejects_garbage(seeker, anon_client):
    access = tokens_of(seeker)["access"]

    valid = anon_client.post(VERIFY_URL, {"token": access}, format="json")
    garbage = anon_client.post(VERIFY_URL, {"token": "garbage"}, format="json")
    forged = anon_client.post(
        VERIFY_URL,
        {"token": resigned(access, key="another-key-of-32-bytes-or-more!!")},
        format="json",
    )

    assert valid.status_code == 200
    assert garbage.status_code == 401
    assert forged.status_code == 401


def test_verify_rejects_blacklisted_refresh_token(seeker, anon_client):
    refresh = tokens_of(seeker)["refresh"]
    assert anon_client.post(VERIFY_URL, {"token": refresh}, format="json").status_code == 200
    assert anon_client.post(BLACKLIST_URL, {"refresh": refresh}, format="json").status_code == 200

    response = anon_client.post(VERIFY_URL, {"token": refresh}, format="json")

    assert response.status_code in (400, 401)
    assert "blacklisted" in response.content.decode().lower()


@pytest.mark.django_db(transaction=True)
def test_concurrent_refreshes_of_one_token_succeed_exactly_once():
    require(POSTGRESQL, why="real concurrent transactions")
    user = make_user(Role.JOB_SEEKER, username="racer")
    refresh = tokens_of(user)["refresh"]
    threads_count = 20
    barrier = threading.Barrier(threads_count)
    results: list[tuple[int, dict[str, Any]]] = []
    lock = threading.Lock()

    def redeem(index: int) -> None:
        try:
            # A distinct client address each, so per-client throttles cannot decide the outcome.
            client = APIClient(REMOTE_ADDR=f"10.20.0.{index + 1}")
            barrier.wait(timeout=30)
            response = client.post(REFRESH_URL, {"refresh": refresh}, format="json")
            with lock:
                results.append((response.status_code, response.json()))
        finally:
            connection.close()

    threads = [threading.Thread(target=redeem, args=(i,)) for i in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    statuses = sorted(code for code, _ in results)
    assert len(results) == threads_count
    assert statuses == [200] + [401] * (threads_count - 1), statuses
    [winner] = [body for code, body in results if code == 200]
    follow_up = APIClient().post(REFRESH_URL, {"refresh": winner["refresh"]}, format="json")
    assert follow_up.status_code == 200


# --- Password change ------------------------------------------------------------------------


def test_password_change_logs_out_everywhere_and_new_password_works(seeker):
    tokens = tokens_of(seeker)
    other_session = tokens_of(seeker)
    client = bearer_client(tokens["access"])

    response = client.post(
        PASSWORD_URL, {"old_password": PASSWORD, "new_password": NEW_PASSWORD}, format="json"
    )

    assert response.status_code == 204, response.content
    assert response.content == b""
    anon = APIClient()
    for session in (tokens, other_session):
        refreshed = anon.post(REFRESH_URL, {"refresh": session["refresh"]}, format="json")
        assert refreshed.status_code == 401
    assert login(APIClient(), "alice", PASSWORD).status_code == 401
    assert login(APIClient(), "alice", NEW_PASSWORD).status_code == 200
    seeker.refresh_from_db()
    assert seeker.check_password(NEW_PASSWORD)


def test_password_change_with_wrong_old_password_is_refused(seeker, seeker_client):
    response = seeker_client.post(
        PASSWORD_URL,
        {"old_password": "Not-My-Password-1", "new_password": NEW_PASSWORD},
        format="json",
    )

    assert_field_error(response, "old_password")
    seeker.refresh_from_db()
    assert seeker.check_password(PASSWORD)


@pytest.mark.parametrize("new_password", ["password", "12345678", "Xk9#q", "alice123"])
def test_password_change_to_weak_password_is_refused(seeker, seeker_client, new_password):
    response = seeker_client.post(
        PASSWORD_URL, {"old_password": PASSWORD, "new_password": new_password}, format="json"
    )

    assert_field_error(response, "new_password")
    seeker.refresh_from_db()
    assert seeker.check_password(PASSWORD)


def test_password_change_keeps_refresh_tokens_valid_when_refused(seeker):
    tokens = tokens_of(seeker)
    client = bearer_client(tokens["access"])

    response = client.post(
        PASSWORD_URL,
        {"old_password": "Not-My-Password-1", "new_password": NEW_PASSWORD},
        format="json",
    )

    assert response.status_code == 400
    refreshed = APIClient().post(REFRESH_URL, {"refresh": tokens["refresh"]}, format="json")
    assert refreshed.status_code == 200


def test_password_change_without_token_is_401(anon_client, seeker):
    response = anon_client.post(
        PASSWORD_URL, {"old_password": PASSWORD, "new_password": NEW_PASSWORD}, format="json"
    )

    assert response.status_code == 401
    seeker.refresh_from_db()
    assert seeker.check_password(PASSWORD)


# --- Throttling -----------------------------------------------------------------------------


@pytest.fixture
def throttle_rate(monkeypatch):
    """Set one scope's rate for this test.

    DRF binds `SimpleRateThrottle.THROTTLE_RATES` to the settings' dict when the module is
    imported, so changing `settings.REST_FRAMEWORK` later would not reach the throttles.
    """
    if not settings.THROTTLE_ENABLED:
        pytest.skip("throttling is switched off (THROTTLE_ENABLED=false)")

    def set_rate(scope: str, rate: str) -> None:
        monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, scope, rate)

    return set_rate


def assert_throttled(response) -> None:
    assert response.status_code == 429, response.content
    assert int(response["Retry-After"]) >= 1
    assert "detail" in response.json()


def test_sixth_login_in_a_minute_is_throttled_per_client(throttle_rate, seeker):
    throttle_rate("login", "5/min")
    client = APIClient(REMOTE_ADDR="10.1.1.1")

    answers = [login(client, "alice", "Wrong-Password-123").status_code for _ in range(5)]
    sixth = login(client, "alice", PASSWORD)

    assert answers == [401] * 5
    assert_throttled(sixth)
    assert "access" not in sixth.json()
    assert login(APIClient(REMOTE_ADDR="10.1.1.2"), "alice", PASSWORD).status_code == 200


def test_valid_logins_count_towards_the_login_throttle(throttle_rate, seeker):
    throttle_rate("login", "5/min")
    client = APIClient(REMOTE_ADDR="10.1.1.3")

    answers = [login(client, "alice").status_code for _ in range(5)]

    assert answers == [200] * 5
    assert_throttled(login(client, "alice"))


def test_registration_beyond_the_rate_is_throttled_and_creates_nobody(throttle_rate):
    throttle_rate("register", "3/min")
    client = APIClient(REMOTE_ADDR="10.1.2.1")

    def register(n: int):
        body = registration(username=f"user_t{n}", email=f"user_t{n}@example.com")
        return client.post(REGISTER_URL, body, format="json")

    answers = [register(n).status_code for n in range(3)]
    fourth = register(3)

    assert answers == [201] * 3
    assert_throttled(fourth)
    assert not User.objects.filter(username="user_t3").exists()
    assert User.objects.filter(username__startswith="user_t").count() == 3
