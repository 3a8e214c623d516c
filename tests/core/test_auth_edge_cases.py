"""Authentication edge cases: forged, expired, misused and revoked tokens, and odd headers.

Every forgery is tried on each endpoint that reads a token: a protected endpoint
(`/api/users/me/`), refresh, verify and logout (blacklist). Each is a 401, mints nothing and
revokes nothing: the real token it was made from keeps working. Tokens of deleted or deactivated
accounts, sessions after logout or rotation, and every session after a password change (even one
rotating at that very moment) are refused. Parallel refreshes of one token, over HTTP to several
gunicorn workers, mint exactly one new pair.
"""

from __future__ import annotations

import base64
import itertools
import json
import threading
import time
import warnings
from collections import Counter
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from django.conf import settings
from django.db import connection
from jwt.warnings import InsecureKeyLengthWarning
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from core.accounts.models import Role, User
from tests.core.conftest import HttpAnswer
from tests.factories import PASSWORD, make_user
from tests.services import POSTGRESQL, require

TOKEN_URL = "/api/token/"
REFRESH_URL = "/api/token/refresh/"
VERIFY_URL = "/api/token/verify/"
BLACKLIST_URL = "/api/token/blacklist/"
ME_URL = "/api/users/me/"
PASSWORD_URL = "/api/users/me/password/"
NEW_PASSWORD = "Purple-Giraffe-Lantern-42"
ANOTHER_KEY = "an-attacker-chosen-key-of-at-least-32-bytes"

pytestmark = pytest.mark.django_db


# --- Helpers --------------------------------------------------------------------------------


_devices = itertools.count(1)


def tokens_of(user: User, password: str = PASSWORD) -> dict[str, str]:
    """Log in through the API (a new session, from a device of its own so that the login
    throttle never decides) and return its `{"refresh", "access"}` pair."""
    device = next(_devices)
    client = APIClient(REMOTE_ADDR=f"10.30.{device // 250}.{device % 250 + 1}")
    response = client.post(
        TOKEN_URL, {"username": user.username, "password": password}, format="json"
    )
    assert response.status_code == 200, response.content
    return response.json()


def bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def refresh(token: str):
    return APIClient().post(REFRESH_URL, {"refresh": token}, format="json")


def verify(token: str):
    return APIClient().post(VERIFY_URL, {"token": token}, format="json")


def logout(token: str):
    return APIClient().post(BLACKLIST_URL, {"refresh": token}, format="json")


def claims(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


def resigned(token: str, *, key: str, algorithm: str = "HS256", **changes: Any) -> str:
    """The payload of a real `token`, with `changes`, signed again with `key`."""
    with warnings.catch_warnings():
        # HS512 with the test suite's short key: the forgery is about the algorithm.
        warnings.simplefilter("ignore", InsecureKeyLengthWarning)
        return jwt.encode({**claims(token), **changes}, key, algorithm=algorithm)


def tampered(token: str, **changes: Any) -> str:
    """The real `token` with its payload edited and its original header and signature kept."""
    header, _, signature = token.split(".")
    payload = json.dumps({**claims(token), **changes}, separators=(",", ":")).encode()
    body = base64.urlsafe_b64encode(payload).rstrip(b"=").decode()
    return f"{header}.{body}.{signature}"


def assert_refused(response) -> None:
    assert response.status_code == 401, response.content
    body = response.json()
    assert isinstance(body, dict)
    assert "detail" in body
    assert "access" not in body
    assert "refresh" not in body


# Each forgery turns a real token into one an attacker could make without the signing key (or
# with it, for an expired token: the expiry alone must refuse it).
Forgery = Callable[[str, User], str]
FORGERIES: dict[str, Forgery] = {
    "signed-with-another-key": lambda token, victim: resigned(token, key=ANOTHER_KEY),
    "alg-none": lambda token, victim: resigned(token, key="", algorithm="none"),
    "another-algorithm-with-the-real-key": lambda token, victim: resigned(
        token, key=settings.SIMPLE_JWT["SIGNING_KEY"], algorithm="HS512"
    ),
    "expired": lambda token, victim: resigned(
        token,
        key=settings.SIMPLE_JWT["SIGNING_KEY"],
        iat=int(time.time()) - 30 * 86400,
        exp=int(time.time()) - 60,
    ),
    "user-id-tampered": lambda token, victim: tampered(token, user_id=victim.pk),
    "signature-stripped": lambda token, victim: token.rsplit(".", 1)[0] + ".",
}
FORGERY_NAMES = list(FORGERIES)


@pytest.fixture
def victim(db) -> User:
    """Someone whose identity a forged token would claim."""
    return make_user(Role.EMPLOYER, username="victim")


def test_the_forgeries_change_only_what_they_say(seeker, victim):
    """Guards the table above: each forgery differs from the real token as described."""
    access = tokens_of(seeker)["access"]
    forged = {name: forge(access, victim) for name, forge in FORGERIES.items()}

    assert jwt.get_unverified_header(forged["alg-none"])["alg"] == "none"
    assert jwt.get_unverified_header(forged["another-algorithm-with-the-real-key"])["alg"] == (
        "HS512"
    )
    assert claims(forged["expired"])["exp"] < time.time()
    assert claims(forged["user-id-tampered"])["user_id"] == victim.pk
    assert forged["user-id-tampered"].rsplit(".", 1)[1] == access.rsplit(".", 1)[1]
    for name in ("signed-with-another-key", "alg-none", "signature-stripped"):
        assert claims(forged[name]) == claims(access), name
    # Signed again with the real key and nothing changed, a token is accepted: what refuses the
    # forgeries is what they changed.
    assert bearer(resigned(access, key=settings.SIMPLE_JWT["SIGNING_KEY"])).get(ME_URL).json()[
        "id"
    ] == (seeker.pk)


# --- Forged tokens on every endpoint that reads one -----------------------------------------


@pytest.mark.parametrize("forgery", FORGERY_NAMES)
def test_forged_access_token_on_a_protected_endpoint_is_401(seeker, victim, forgery):
    access = tokens_of(seeker)["access"]

    response = bearer(FORGERIES[forgery](access, victim)).get(ME_URL)

    assert response.status_code == 401, response.content
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert bearer(access).get(ME_URL).json()["id"] == seeker.pk


@pytest.mark.parametrize("forgery", FORGERY_NAMES)
def test_forged_refresh_token_is_401_and_mints_nothing(seeker, victim, forgery):
    real = tokens_of(seeker)["refresh"]
    outstanding = OutstandingToken.objects.count()

    response = refresh(FORGERIES[forgery](real, victim))

    assert_refused(response)
    assert OutstandingToken.objects.count() == outstanding
    assert not BlacklistedToken.objects.exists()
    assert refresh(real).status_code == 200  # the real token was not burnt by the forgery


@pytest.mark.parametrize("forgery", FORGERY_NAMES)
def test_forged_token_does_not_verify(seeker, victim, forgery):
    access = tokens_of(seeker)["access"]

    response = verify(FORGERIES[forgery](access, victim))

    assert response.status_code == 401, response.content
    assert verify(access).status_code == 200


@pytest.mark.parametrize("forgery", FORGERY_NAMES)
def test_forged_refresh_token_cannot_log_anyone_out(seeker, victim, forgery):
    real = tokens_of(seeker)["refresh"]

    response = logout(FORGERIES[forgery](real, victim))

    assert_refused(response)
    assert not BlacklistedToken.objects.exists()
    assert refresh(real).status_code == 200


# --- Tokens used as the other type ----------------------------------------------------------


def test_refresh_token_used_as_access_token_is_401(seeker):
    response = bearer(tokens_of(seeker)["refresh"]).get(ME_URL)

    assert response.status_code == 401
    assert "token" in response.json()["detail"].lower()


def test_access_token_sent_to_refresh_is_401_and_mints_nothing(seeker):
    access = tokens_of(seeker)["access"]
    outstanding = OutstandingToken.objects.count()

    assert_refused(refresh(access))
    assert OutstandingToken.objects.count() == outstanding


def test_access_token_sent_to_logout_is_401_and_blacklists_nothing(seeker):
    assert_refused(logout(tokens_of(seeker)["access"]))
    assert not BlacklistedToken.objects.exists()


# --- Tokens of accounts that are gone -------------------------------------------------------


@pytest.mark.parametrize("gone", ["deleted", "deactivated"])
def test_tokens_of_a_deleted_or_deactivated_account_are_refused_everywhere(seeker, gone):
    tokens = tokens_of(seeker)
    if gone == "deleted":
        seeker.delete()
    else:
        User.objects.filter(pk=seeker.pk).update(is_active=False)

    assert bearer(tokens["access"]).get(ME_URL).status_code == 401
    assert verify(tokens["access"]).status_code == 401
    assert verify(tokens["refresh"]).status_code == 401
    assert_refused(refresh(tokens["refresh"]))


def test_a_deleted_account_that_comes_back_under_the_same_name_is_not_the_old_tokens_user(seeker):
    tokens = tokens_of(seeker)
    seeker.delete()
    newcomer = make_user(Role.JOB_SEEKER, username="alice")

    assert newcomer.pk != claims(tokens["access"])["user_id"]
    assert bearer(tokens["access"]).get(ME_URL).status_code == 401
    assert_refused(refresh(tokens["refresh"]))


# --- Malformed Authorization headers --------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        "Bearer",
        "Bearer ",
        "Bearer a b",
        "Bearer {access} extra",
        "{access}",
        "Token {access}",
        "JWT {access}",
        "Basic {basic}",
        "Bearer {basic}",
        "Bearer {access}\x00",
    ],
    ids=[
        "bearer-alone",
        "bearer-and-space",
        "bearer-two-values",
        "valid-token-and-extra-value",
        "valid-token-without-scheme",
        "valid-token-other-scheme",
        "valid-token-jwt-scheme",
        "basic-with-valid-credentials",
        "bearer-with-basic-credentials",
        "valid-token-with-nul",
    ],
)
def test_malformed_authorization_header_is_401_even_around_valid_credentials(seeker, header):
    access = tokens_of(seeker)["access"]
    basic = base64.b64encode(f"{seeker.username}:{PASSWORD}".encode()).decode()

    response = APIClient().get(ME_URL, HTTP_AUTHORIZATION=header.format(access=access, basic=basic))

    assert response.status_code == 401, response.content
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert "detail" in response.json()


# --- Logout and rotation end a session ------------------------------------------------------


def test_logout_ends_the_session_and_every_token_it_rotated_through(seeker):
    first = tokens_of(seeker)["refresh"]
    second = refresh(first).json()["refresh"]
    third = refresh(second).json()["refresh"]

    assert logout(third).status_code == 200

    for token in (first, second, third):
        assert_refused(refresh(token))
        assert verify(token).status_code in (400, 401)
    assert_refused(logout(third))  # logging out twice is refused, not a second success


def test_logout_ends_only_its_own_session(seeker):
    laptop = tokens_of(seeker)["refresh"]
    phone = tokens_of(seeker)["refresh"]

    assert logout(laptop).status_code == 200

    assert_refused(refresh(laptop))
    assert refresh(phone).status_code == 200


def test_a_rotated_refresh_token_is_refused_and_its_successor_still_works(seeker):
    old = tokens_of(seeker)["refresh"]
    new = refresh(old).json()["refresh"]

    assert_refused(refresh(old))
    assert refresh(new).status_code == 200


# --- A password change signs out every session ----------------------------------------------


def test_password_change_revokes_every_session_of_the_user_and_no_one_elses(seeker, other_seeker):
    sessions = [tokens_of(seeker)["refresh"] for _ in range(3)]
    sessions.append(refresh(sessions[0]).json()["refresh"])  # one that has rotated
    sessions.pop(0)  # (its predecessor is blacklisted already)
    sessions.append(str(RefreshToken.for_user(seeker)))  # minted outside the login endpoint
    someone_else = tokens_of(other_seeker)["refresh"]
    current = tokens_of(seeker)

    response = bearer(current["access"]).post(
        PASSWORD_URL, {"old_password": PASSWORD, "new_password": NEW_PASSWORD}, format="json"
    )

    assert response.status_code == 204, response.content
    for token in [*sessions, current["refresh"]]:
        assert_refused(refresh(token))
    assert refresh(someone_else).status_code == 200
    assert tokens_of(seeker, NEW_PASSWORD)["refresh"]


@pytest.mark.django_db(transaction=True)
def test_a_refresh_rotating_while_the_password_changes_mints_no_surviving_token(monkeypatch):
    """The worst interleaving: a refresh has revoked the token it was given and is about to
    record the one it mints when the password change sweeps the user's tokens. The minted token
    must not outlive the change."""
    require(POSTGRESQL, why="a real race of transactions")
    user = make_user(Role.JOB_SEEKER, username="rotating")
    tokens = tokens_of(user)
    about_to_record, go_on = threading.Event(), threading.Event()
    record = RefreshToken.outstand

    def record_when_told(token: RefreshToken):
        about_to_record.set()
        go_on.wait(timeout=10)
        return record(token)

    monkeypatch.setattr(RefreshToken, "outstand", record_when_told)
    answers: dict[str, Any] = {}

    def rotate() -> None:
        try:
            answers["refresh"] = refresh(tokens["refresh"])
        finally:
            connection.close()

    def change_password() -> None:
        try:
            answers["password"] = bearer(tokens["access"]).post(
                PASSWORD_URL,
                {"old_password": PASSWORD, "new_password": NEW_PASSWORD},
                format="json",
            )
        finally:
            connection.close()

    rotating = threading.Thread(target=rotate)
    rotating.start()
    assert about_to_record.wait(timeout=10), "the refresh never reached the point of recording"
    changing = threading.Thread(target=change_password)
    changing.start()
    changing.join(timeout=1)  # the change runs to its end, or waits for the rotation
    go_on.set()
    rotating.join(timeout=30)
    changing.join(timeout=30)
    monkeypatch.undo()

    assert answers["password"].status_code == 204, answers["password"].content
    rotated = answers["refresh"]
    if rotated.status_code == 200:
        assert_refused(refresh(rotated.json()["refresh"]))
    else:
        assert_refused(rotated)
    assert_refused(refresh(tokens["refresh"]))
    assert tokens_of(User.objects.get(pk=user.pk), NEW_PASSWORD)["access"]


@pytest.mark.e2e
def test_twenty_parallel_refreshes_of_one_token_over_http_succeed_exactly_once(start_gunicorn):
    user = make_user(Role.JOB_SEEKER, username="racer")
    token = str(RefreshToken.for_user(user))
    # Two processes of ten threads, each taking at most ten connections: all twenty requests in
    # flight at once, in both workers, each with its own database connection.
    server = start_gunicorn(
        "--workers", "2", "--threads", "10", "--worker-connections", "10", "--preload"
    )
    parallel = 20
    barrier = threading.Barrier(parallel)
    answers: list[HttpAnswer] = []
    lock = threading.Lock()

    def redeem() -> None:
        barrier.wait(timeout=30)
        answer = server.post(REFRESH_URL, {"refresh": token})
        with lock:
            answers.append(answer)

    threads = [threading.Thread(target=redeem) for _ in range(parallel)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert Counter(answer.status for answer in answers) == {200: 1, 401: parallel - 1}
    [winner] = [answer.json() for answer in answers if answer.status == 200]
    assert server.post(REFRESH_URL, {"refresh": winner["refresh"]}).status == 200
    assert len(set(server.pids_that_served(REFRESH_URL, requests=parallel + 1))) == 2
