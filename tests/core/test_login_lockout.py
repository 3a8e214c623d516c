"""Per-account lockout as an attacker and the account's owner meet it: failed logins of one
username from many addresses lock that username (429 with `Retry-After` and a code, the right
password included) while other accounts log in; an unknown username answers the same; a
password reset lifts it; with Redis down it still holds, counted in the database, and never
answers 500. Over real HTTP (gunicorn, forwarded addresses, the window's end): see
tests/core/test_lockout_http.py."""

from __future__ import annotations

import itertools
import threading

import pytest
from django.test import override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from core.accounts import lockout
from core.accounts.models import LoginFailureWindow
from core.accounts.services import password_reset_link_parts
from core.exceptions import AccountLocked
from tests.factories import PASSWORD
from tests.services import unreachable_redis

pytestmark = pytest.mark.django_db

LOGIN_URL = "/api/token/"
WRONG_PASSWORD = "Wrong-Password-123"
LIMIT = 3
_addresses = (f"198.51.100.{n}" for n in itertools.count(1))


@pytest.fixture(autouse=True)
def three_failures_lock(settings):
    settings.LOGIN_FAILURES_PER_ACCOUNT = LIMIT
    settings.LOGIN_FAILURES_WINDOW_SECONDS = 600


def login(username: str, password: str = PASSWORD):
    """A login from an address of its own, as a credential-stuffing run spreads them: the
    per-address throttle never sees two of these."""
    client = APIClient(REMOTE_ADDR=next(_addresses))
    return client.post(LOGIN_URL, {"username": username, "password": password}, format="json")


def fail(username: str, times: int = LIMIT) -> None:
    for _ in range(times):
        assert login(username, WRONG_PASSWORD).status_code == 401


def assert_locked(answer) -> None:
    assert answer.status_code == 429, answer.content
    assert 1 <= int(answer["Retry-After"]) <= 600
    body = answer.json()
    assert body["code"] == "account_locked"
    assert set(body) == {"detail", "code"}


def test_past_the_limit_the_right_password_is_refused_and_others_log_in(seeker, other_seeker):
    fail(seeker.username)

    assert_locked(login(seeker.username))
    assert login(other_seeker.username).status_code == 200


def test_the_last_allowed_failure_is_still_a_401(seeker):
    fail(seeker.username, LIMIT - 1)
    assert login(seeker.username, WRONG_PASSWORD).status_code == 401
    assert_locked(login(seeker.username, WRONG_PASSWORD))


def test_an_unknown_username_is_answered_exactly_like_a_known_one(seeker):
    fail(seeker.username)
    fail("nobody-has-this-name")

    known, unknown = login(seeker.username), login("nobody-has-this-name")

    assert_locked(known)
    assert_locked(unknown)
    assert known.json() == unknown.json()
    assert abs(int(known["Retry-After"]) - int(unknown["Retry-After"])) <= 1


def test_successful_logins_do_not_count(seeker):
    for _ in range(LIMIT + 2):
        assert login(seeker.username).status_code == 200
    fail(seeker.username, LIMIT - 1)
    assert login(seeker.username).status_code == 200


def test_login_is_case_sensitive_so_another_spelling_is_another_name(seeker):
    # ModelBackend looks the username up exactly: `SEEKER` never signs in as `seeker`, even with
    # its password, so the lockout counts the name the login looks up, as it looks it up.
    shouted = seeker.username.upper()
    assert shouted != seeker.username
    assert login(shouted).status_code == 401
    fail(shouted, LIMIT - 1)
    assert_locked(login(shouted))
    assert login(seeker.username).status_code == 200
    # Surrounding whitespace is trimmed before the lookup, and before counting.
    fail(f"  {seeker.username} ")
    assert_locked(login(seeker.username))


def test_a_password_reset_lifts_the_lock(seeker, django_capture_on_commit_callbacks):
    fail(seeker.username)
    assert_locked(login(seeker.username))
    uid, token = password_reset_link_parts(user=seeker)

    with django_capture_on_commit_callbacks(execute=True):
        answer = APIClient().post(
            "/api/users/password-reset/confirm/",
            {"uid": uid, "token": token, "new_password": "Purple-Giraffe-Lantern-42"},
            format="json",
        )

    assert answer.status_code == 204, answer.content
    assert login(seeker.username, "Purple-Giraffe-Lantern-42").status_code == 200


def test_off_when_the_limit_is_zero(seeker, settings):
    settings.LOGIN_FAILURES_PER_ACCOUNT = 0
    fail(seeker.username, LIMIT + 2)
    assert login(seeker.username).status_code == 200


def test_with_redis_down_the_database_counts_and_the_lock_holds(seeker, other_seeker, caplog):
    with override_settings(CACHES=unreachable_redis()):
        fail(seeker.username)
        locked = login(seeker.username)
        other = login(other_seeker.username)

    assert_locked(locked)
    assert other.status_code == 200
    # The locked name's attempts, and the other's success counted and then uncounted.
    assert sorted(LoginFailureWindow.objects.values_list("attempts", flat=True)) == [0, LIMIT + 1]
    assert "login lockout counted in the database" in caplog.text


def test_with_redis_down_the_lock_ends_with_its_window_and_a_reset_lifts_it(seeker):
    with override_settings(CACHES=unreachable_redis()):
        fail(seeker.username)
        assert_locked(login(seeker.username))
        LoginFailureWindow.objects.update(window_ends=timezone.now())
        assert login(seeker.username).status_code == 200

        fail(seeker.username)
        lockout.lift(username=seeker.username)
        assert login(seeker.username).status_code == 200
    assert not LoginFailureWindow.objects.filter(attempts__gt=0).exists()


def test_parallel_attempts_cannot_slip_past_the_limit_together():
    # Each attempt is counted before its password is checked: of twelve at once, with none
    # failed before, exactly the limit get to try a password.
    barrier, tried, locked = threading.Barrier(12), [], []

    def attempt() -> None:
        barrier.wait()
        try:
            with lockout.counted_login(username="mallory"):
                tried.append(1)
                raise PermissionError("wrong password")
        except AccountLocked:
            locked.append(1)
        except PermissionError:
            pass

    threads = [threading.Thread(target=attempt) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert (len(tried), len(locked)) == (LIMIT, 12 - LIMIT)
