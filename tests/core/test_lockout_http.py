"""The per-account lockout over real HTTP: gunicorn with two workers and Redis, behind one
trusted proxy (`TRUSTED_PROXY_COUNT=1`), as deployed.

Failures spread over as many forwarded client addresses as attempts (so the per-address login
throttle never sees two) still lock the username, on whichever worker; other accounts log in;
an unknown username answers the same; the lock lifts when its window ends.
"""

from __future__ import annotations

import itertools
import time

import pytest

from tests.core.test_sessions_http import production_employer
from tests.factories import PASSWORD

pytestmark = pytest.mark.e2e

LOGIN_URL = "/api/token/"
LIMIT = 3
# Long enough for the attempts below on a loaded machine (each checks an Argon2id hash).
WINDOW_SECONDS = 10
_clients = (f"203.0.113.{n}" for n in itertools.count(1))


def log_in(server, username: str, password: str = PASSWORD):
    """A login from a client address of its own, as the trusted proxy forwards it."""
    body = {"username": username, "password": password}
    return server.post(LOGIN_URL, body, **{"X-Forwarded-For": next(_clients)})


def assert_locked(answer) -> int:
    assert answer.status == 429, answer.body[:300]
    assert answer.json()["code"] == "account_locked"
    retry_after = int(answer.headers["Retry-After"])
    assert 1 <= retry_after <= WINDOW_SECONDS
    return retry_after


def test_failures_from_many_addresses_lock_the_account_until_its_window_ends(start_gunicorn):
    production_employer("acme")
    production_employer("globex")
    server = start_gunicorn(
        "--workers",
        "2",
        TRUSTED_PROXY_COUNT="1",
        LOGIN_FAILURES_PER_ACCOUNT=str(LIMIT),
        LOGIN_FAILURES_WINDOW_SECONDS=str(WINDOW_SECONDS),
    )
    assert log_in(server, "acme").status == 200  # successes do not count

    for name in ("acme", "no-such-user"):
        for _ in range(LIMIT):
            assert log_in(server, name, "Wrong-Password-123").status == 401

    locked = log_in(server, "acme")  # the right password, from yet another address
    unknown = log_in(server, "no-such-user", PASSWORD)
    assert_locked(locked)
    assert_locked(unknown)
    assert locked.json() == unknown.json()
    assert "access" not in locked.json()
    assert log_in(server, "globex").status == 200

    # Still locked for every address until the window ends, then the right password works.
    wait = assert_locked(log_in(server, "acme"))
    time.sleep(wait + 0.3)  # Retry-After rounds the time left up to whole seconds
    answer = log_in(server, "acme")
    assert answer.status == 200, answer.body[:300]
    assert set(answer.json()) == {"access", "refresh"}
