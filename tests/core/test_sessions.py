"""Sessions as a signed-in user sees them: each login is one, listed at
`/api/users/me/sessions/`; ending one (or all others, or logging out, or changing the password)
refuses its access tokens from their very next request, whether or not the cache is up."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from core.accounts import sessions as session_state
from core.accounts.models import UserSession
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/token/"
REFRESH_URL = "/api/token/refresh/"
BLACKLIST_URL = "/api/token/blacklist/"
VERIFY_URL = "/api/token/verify/"
ME_URL = "/api/users/me/"
SESSIONS_URL = "/api/users/me/sessions/"
REVOKE_ALL_URL = "/api/users/me/sessions/revoke-all/"
PASSWORD_URL = "/api/users/me/password/"


def log_in(user, user_agent: str = "test-client/1") -> dict[str, str]:
    answer = APIClient().post(
        TOKEN_URL,
        {"username": user.username, "password": PASSWORD},
        format="json",
        HTTP_USER_AGENT=user_agent,
    )
    assert answer.status_code == 200, answer.content
    return answer.json()


def bearer(access: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


def test_sessions_list_each_login_and_marks_the_current_one(seeker):
    laptop = log_in(seeker, "Firefox/140 on the laptop")
    phone = log_in(seeker, "Safari/19 on the phone")

    answer = bearer(phone["access"]).get(SESSIONS_URL)

    assert answer.status_code == 200, answer.content
    listed = answer.json()
    assert [s["user_agent"] for s in listed] == [
        "Safari/19 on the phone",
        "Firefox/140 on the laptop",
    ]
    assert [s["current"] for s in listed] == [True, False]
    assert set(listed[0]) == {"id", "created_at", "last_used_at", "user_agent", "current"}
    assert bearer(laptop["access"]).get(SESSIONS_URL).json()[1]["current"] is True


def test_sessions_list_shows_only_the_callers_own(seeker, other_seeker):
    log_in(other_seeker)
    mine = log_in(seeker)
    assert len(bearer(mine["access"]).get(SESSIONS_URL).json()) == 1


def test_a_refresh_stays_in_its_session_and_records_its_use(seeker):
    tokens = log_in(seeker)
    session = UserSession.objects.get(user=seeker)
    before = session.last_used_at

    rotated = APIClient().post(REFRESH_URL, {"refresh": tokens["refresh"]}, format="json")

    assert rotated.status_code == 200
    assert AccessToken(rotated.json()["access"])["sid"] == str(session.pk)
    assert UserSession.objects.count() == 1
    session.refresh_from_db()
    assert session.last_used_at > before
    assert bearer(rotated.json()["access"]).get(ME_URL).status_code == 200


def test_ending_a_session_refuses_its_tokens_at_once_and_keeps_the_others(seeker):
    laptop = log_in(seeker, "laptop")
    phone = log_in(seeker, "phone")
    laptop_id = AccessToken(laptop["access"])["sid"]
    assert bearer(laptop["access"]).get(ME_URL).status_code == 200  # cached as open

    answer = bearer(phone["access"]).delete(f"{SESSIONS_URL}{laptop_id}/")

    assert answer.status_code == 204
    assert answer.content == b""
    refused = bearer(laptop["access"]).get(ME_URL)
    assert refused.status_code == 401
    assert refused.json()["code"] == "session_ended"
    again = APIClient().post(REFRESH_URL, {"refresh": laptop["refresh"]}, format="json")
    assert again.status_code == 401
    verify = APIClient().post(VERIFY_URL, {"token": laptop["access"]}, format="json")
    assert verify.status_code == 401
    assert bearer(phone["access"]).get(ME_URL).status_code == 200
    assert [s["user_agent"] for s in bearer(phone["access"]).get(SESSIONS_URL).json()] == ["phone"]


def test_ending_the_current_session_signs_the_caller_out(seeker):
    tokens = log_in(seeker)
    sid = AccessToken(tokens["access"])["sid"]
    assert bearer(tokens["access"]).delete(f"{SESSIONS_URL}{sid}/").status_code == 204
    assert bearer(tokens["access"]).get(ME_URL).status_code == 401


def test_another_users_or_an_unknown_session_is_404(seeker, other_seeker):
    theirs = log_in(other_seeker)
    mine = log_in(seeker)
    their_id = AccessToken(theirs["access"])["sid"]

    for target in (their_id, str(uuid.uuid4())):
        answer = bearer(mine["access"]).delete(f"{SESSIONS_URL}{target}/")
        assert answer.status_code == 404
        assert "code" in answer.json()
    assert bearer(mine["access"]).delete(f"{SESSIONS_URL}not-a-uuid/").status_code == 404
    assert bearer(theirs["access"]).get(ME_URL).status_code == 200


def test_revoke_all_ends_every_session_but_the_current(seeker):
    others = [log_in(seeker, f"device {n}") for n in range(3)]
    current = log_in(seeker, "this one")

    answer = bearer(current["access"]).post(REVOKE_ALL_URL)

    assert answer.status_code == 204
    for tokens in others:
        assert bearer(tokens["access"]).get(ME_URL).status_code == 401
    assert bearer(current["access"]).get(ME_URL).status_code == 200
    listed = bearer(current["access"]).get(SESSIONS_URL).json()
    assert [s["user_agent"] for s in listed] == ["this one"]


def test_logout_refuses_the_access_tokens_of_that_session_only(seeker):
    leaving = log_in(seeker)
    staying = log_in(seeker)
    assert bearer(leaving["access"]).get(ME_URL).status_code == 200

    answer = APIClient().post(BLACKLIST_URL, {"refresh": leaving["refresh"]}, format="json")

    assert answer.status_code == 200
    assert bearer(leaving["access"]).get(ME_URL).status_code == 401
    assert bearer(staying["access"]).get(ME_URL).status_code == 200


def test_password_change_refuses_every_access_token_at_once(seeker):
    first, second = log_in(seeker), log_in(seeker)

    answer = bearer(first["access"]).post(
        PASSWORD_URL,
        {"old_password": PASSWORD, "new_password": "Purple-Giraffe-Lantern-42"},
        format="json",
    )

    assert answer.status_code == 204
    for tokens in (first, second):
        assert bearer(tokens["access"]).get(ME_URL).status_code == 401
    assert bearer(log_in_with(seeker, "Purple-Giraffe-Lantern-42")).get(ME_URL).status_code == 200


def log_in_with(user, password: str) -> str:
    answer = APIClient().post(
        TOKEN_URL, {"username": user.username, "password": password}, format="json"
    )
    assert answer.status_code == 200
    return answer.json()["access"]


def test_an_access_token_naming_no_session_is_refused(seeker):
    # Signed with the real key but minted outside a login: no session, no way to end it.
    token = AccessToken.for_user(seeker)
    assert bearer(str(token)).get(ME_URL).status_code == 401


def test_an_open_session_costs_no_sql_query_once_cached(seeker):
    tokens = log_in(seeker)
    client = bearer(tokens["access"])
    assert client.get(ME_URL).status_code == 200

    with CaptureQueriesContext(connection) as queries:
        assert client.get(ME_URL).status_code == 200

    assert not [q for q in queries.captured_queries if "core_usersession" in q["sql"]]


class UnreachableCache:
    def __getattr__(self, name):
        def fail(*args, **kwargs):
            raise ConnectionError("cache down")

        return fail


def test_with_the_cache_down_the_database_decides_and_never_fails_open(seeker, monkeypatch):
    ended, kept = log_in(seeker), log_in(seeker)
    assert bearer(ended["access"]).get(ME_URL).status_code == 200  # cached as open
    monkeypatch.setattr(session_state, "cache", UnreachableCache())
    monkeypatch.setattr(session_state.redis_client, "get", UnreachableCache().get)

    answer = bearer(kept["access"]).delete(f"{SESSIONS_URL}{AccessToken(ended['access'])['sid']}/")

    assert answer.status_code == 204
    assert bearer(ended["access"]).get(ME_URL).status_code == 401
    assert bearer(kept["access"]).get(ME_URL).status_code == 200


def test_sessions_endpoints_need_a_login(anon_client):
    assert anon_client.get(SESSIONS_URL).status_code == 401
    assert anon_client.post(REVOKE_ALL_URL).status_code == 401
    assert anon_client.delete(f"{SESSIONS_URL}{uuid.uuid4()}/").status_code == 401


def test_last_used_at_is_recorded_about_once_a_minute_never_per_request(seeker):
    tokens = log_in(seeker)
    client = bearer(tokens["access"])
    session = UserSession.objects.get(user=seeker)
    long_ago = session.created_at - timedelta(minutes=5)
    UserSession.objects.filter(pk=session.pk).update(last_used_at=long_ago)

    # While the cached "open" lives, requests write nothing.
    with CaptureQueriesContext(connection) as queries:
        for _ in range(3):
            assert client.get(ME_URL).status_code == 200
    assert not [q for q in queries.captured_queries if "core_usersession" in q["sql"]]
    session.refresh_from_db()
    assert session.last_used_at == long_ago

    # Once it has expired (SESSION_STATE_CACHE_SECONDS), the next request records its use, in
    # the one UPDATE that also checks the session, and the ones after it write nothing again.
    cache.delete(session_state._key(session.pk))
    with CaptureQueriesContext(connection) as queries:
        for _ in range(3):
            assert client.get(ME_URL).status_code == 200
    writes = [q for q in queries.captured_queries if "core_usersession" in q["sql"]]
    assert len(writes) == 1
    assert writes[0]["sql"].startswith("UPDATE")
    session.refresh_from_db()
    assert session.last_used_at > long_ago
    listed = client.get(SESSIONS_URL).json()
    assert listed[0]["last_used_at"] == session.last_used_at.isoformat().replace("+00:00", "Z")
