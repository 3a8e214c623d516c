"""Session revocation over real HTTP: gunicorn with two workers and Redis, as deployed.

Each way a session ends (logout, ending it from another session, ending all others, a password
change, a password reset, an admin deactivating the account) refuses its old access token on the
very next request, whichever worker answers, on a read (`/api/users/me/`) and on a write
(`POST /api/jobs/`); the sessions of two clients are listed and ending one leaves the other.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher

from core.accounts.models import Role, User
from core.accounts.services import password_reset_link_parts
from core.jobs.models import Category
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.e2e

ME_URL = "/api/users/me/"
JOBS_URL = "/api/jobs/"
SESSIONS_URL = "/api/users/me/sessions/"
NEW_PASSWORD = "Purple-Giraffe-Lantern-42"


def production_employer(username: str = "acme") -> User:
    """An employer whose password hash the server can check (the suite's fast hasher is not
    among production's); few iterations, as the hash is upgraded at the first login anyway."""
    user = make_user(Role.EMPLOYER, username=username)
    hasher = PBKDF2PasswordHasher()
    encoded = hasher.encode(PASSWORD, hasher.salt(), iterations=1000)
    User.objects.filter(pk=user.pk).update(password=encoded)
    return user


def job_body(category_id: int) -> dict:
    return {
        "title": "Platform Engineer",
        "description": "Keep the lights on.",
        "company_name": "Acme",
        "location": "Remote",
        "employment_type": "full_time",
        "category": category_id,
    }


def log_in(server, username: str, user_agent: str) -> dict[str, str]:
    answer = server.post(
        "/api/token/", {"username": username, "password": PASSWORD}, **{"User-Agent": user_agent}
    )
    assert answer.status == 200, answer.body[:300]
    return answer.json()


def auth(access: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {access}"}


def end_by_logout(server, victim, other, user):
    assert server.post("/api/token/blacklist/", {"refresh": victim["refresh"]}).status == 200


def end_from_another_session(server, victim, other, user):
    sessions = server.request("GET", SESSIONS_URL, **auth(other["access"])).json()
    (target,) = [s["id"] for s in sessions if not s["current"] and s["user_agent"] == "victim"]
    answer = server.request("DELETE", f"{SESSIONS_URL}{target}/", **auth(other["access"]))
    assert answer.status == 204


def end_all_others(server, victim, other, user):
    answer = server.post(f"{SESSIONS_URL}revoke-all/", b"", **auth(other["access"]))
    assert answer.status == 204


def change_password(server, victim, other, user):
    body = {"old_password": PASSWORD, "new_password": NEW_PASSWORD}
    assert server.post("/api/users/me/password/", body, **auth(other["access"])).status == 204


def reset_password(server, victim, other, user):
    # The link's uid and token as the reset email carries them (tests/e2e sends the real email).
    user.refresh_from_db()  # the token derives from the hash the server's logins upgraded
    uid, token = password_reset_link_parts(user=user)
    body = {"uid": uid, "token": token, "new_password": NEW_PASSWORD}
    assert server.post("/api/users/password-reset/confirm/", body).status == 204


def deactivate(server, victim, other, user):
    # What the admin's "active" checkbox saves.
    User.objects.filter(pk=user.pk).update(is_active=False)


@pytest.mark.parametrize(
    "end_session",
    [
        end_by_logout,
        end_from_another_session,
        end_all_others,
        change_password,
        reset_password,
        deactivate,
    ],
)
def test_old_access_token_is_refused_on_its_very_next_request(start_gunicorn, end_session):
    user = production_employer()
    category = Category.objects.create(name="Engineering", slug="engineering")
    server = start_gunicorn("--workers", "2")
    victim = log_in(server, "acme", "victim")
    other = log_in(server, "acme", "other")
    # Both workers have seen the victim's session open (and cached it so).
    for _ in range(4):
        assert server.request("GET", ME_URL, **auth(victim["access"])).status == 200
    created = server.post(JOBS_URL, job_body(category.pk), **auth(victim["access"]))
    assert created.status == 201, created.body[:300]

    end_session(server, victim, other, user)

    me = server.request("GET", ME_URL, **auth(victim["access"]))
    assert me.status == 401, me.body[:300]
    assert server.post(JOBS_URL, job_body(category.pk), **auth(victim["access"])).status == 401
    refreshed = server.post("/api/token/refresh/", {"refresh": victim["refresh"]})
    assert refreshed.status == 401
    for _ in range(3):  # and on every worker
        assert server.request("GET", ME_URL, **auth(victim["access"])).status == 401


def test_two_clients_sessions_are_listed_and_ending_one_leaves_the_other(start_gunicorn):
    production_employer()
    server = start_gunicorn("--workers", "2")
    laptop = log_in(server, "acme", "Firefox on the laptop")
    phone = log_in(server, "acme", "Safari on the phone")

    listed = server.request("GET", SESSIONS_URL, **auth(laptop["access"])).json()

    assert sorted((s["user_agent"], s["current"]) for s in listed) == [
        ("Firefox on the laptop", True),
        ("Safari on the phone", False),
    ]
    phone_id = next(s["id"] for s in listed if not s["current"])
    assert (
        server.request("DELETE", f"{SESSIONS_URL}{phone_id}/", **auth(laptop["access"])).status
        == 204
    )
    assert server.request("GET", ME_URL, **auth(phone["access"])).status == 401
    for _ in range(3):
        assert server.request("GET", ME_URL, **auth(laptop["access"])).status == 200
    rotated = server.post("/api/token/refresh/", {"refresh": laptop["refresh"]})
    assert rotated.status == 200
    after = server.request("GET", SESSIONS_URL, **auth(rotated.json()["access"])).json()
    assert [(s["user_agent"], s["current"]) for s in after] == [("Firefox on the laptop", True)]
