"""Per-account lockout: failed logins of one username, from every address, are limited.

`LOGIN_FAILURES_PER_ACCOUNT` attempts that fail within `LOGIN_FAILURES_WINDOW_SECONDS` (a fixed
window from the first of them) lock the username until the window ends: every login of it then
answers `AccountLocked` (429, `Retry-After`), the right password included, without checking the
password. Usernames are not looked up, so an unknown one is counted and answered exactly like a
known one. A successful password reset lifts the lock (`lift`).

The username is counted exactly as the login looks it up (Django's `ModelBackend`: an exact,
case-sensitive match of the string simplejwt's serializer passes, surrounding whitespace
already trimmed): `Acme` can never sign in as `acme`, so its failures are not `acme`'s. The key is
a digest of it, so no store names an account.

Every attempt is counted before its password is checked and uncounted if it succeeds, so
parallel attempts cannot slip past the limit together (checking, then counting failures, would
let every attempt already in flight through). In Redis that is one script per login (`INCR`, and
`PEXPIRE` when the key has no expiry yet), atomic across every worker. With Redis unreachable the
counting moves to the database (`LoginFailureWindow`, one locked row per username) rather than
failing open, and a warning is logged; the two stores do not share counts, so an outage starting
or ending can grant a username at most one more window's worth of attempts. With the database
down too, the login answers 503 like any request needing the database.
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from core.accounts import redis_client
from core.accounts.models import LoginFailureWindow
from core.circuit_breakers import CircuitOpen, circuit_breaker
from core.exceptions import AccountLocked

logger = logging.getLogger(__name__)

# After a failure of Redis, logins are counted in the database for a while without asking it.
lockout_circuit = circuit_breaker("login lockout", open_seconds=5.0)

_COUNT = """
local attempts = redis.call('INCR', KEYS[1])
local ms_left = redis.call('PTTL', KEYS[1])
if ms_left < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ms_left = tonumber(ARGV[1])
end
return {attempts, ms_left}
"""
# DECR only a key that still exists: on an expired one it would create a key that never expires.
_UNCOUNT = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  return redis.call('DECR', KEYS[1])
end
return 0
"""


def _digest(username: str) -> str:
    # surrogatepass: a JSON body may carry a lone surrogate, which must not make this a 500.
    return hashlib.sha256(username.encode("utf-8", "surrogatepass")).hexdigest()


def _redis_key(digest: str) -> str:
    return redis_client.key(f"accounts:login-attempts:{digest}")


def _redis(operation, *args):
    """`operation(client, *args)` on the default cache's Redis; None if there is none or it
    fails (the caller then uses the database)."""
    client = redis_client.client()
    if client is None:
        return None
    try:
        return lockout_circuit.call(operation, client, *args)
    except CircuitOpen:
        return None
    except Exception as exc:
        logger.warning(
            "login lockout counted in the database, Redis unavailable (%s: %s)",
            type(exc).__name__,
            exc,
        )
        return None


def _redis_count(client, digest: str, window_ms: int) -> tuple[int, int]:
    attempts, ms_left = client.register_script(_COUNT)(
        keys=[_redis_key(digest)], args=[window_ms], client=client
    )
    return int(attempts), int(ms_left)


def _database_count(digest: str, window: timedelta) -> tuple[int, int]:
    now = timezone.now()
    with transaction.atomic():
        row, created = LoginFailureWindow.objects.select_for_update().get_or_create(
            key=digest, defaults={"attempts": 1, "window_ends": now + window}
        )
        if not created:
            if row.window_ends <= now:
                row.attempts, row.window_ends = 1, now + window
            else:
                row.attempts += 1
            row.save(update_fields=["attempts", "window_ends"])
        # Rows appear only while Redis is out; this keeps the table as small as the windows.
        LoginFailureWindow.objects.filter(window_ends__lt=now).delete()
    return row.attempts, int((row.window_ends - now).total_seconds() * 1000)


@dataclass(frozen=True)
class _Attempt:
    digest: str
    in_redis: bool

    def uncount(self) -> None:
        if self.in_redis and _redis(_redis_uncount, self.digest) is not None:
            return
        LoginFailureWindow.objects.filter(
            key=self.digest, window_ends__gt=timezone.now(), attempts__gt=0
        ).update(attempts=F("attempts") - 1)


def _redis_uncount(client, digest: str) -> int:
    return int(client.register_script(_UNCOUNT)(keys=[_redis_key(digest)], client=client))


def _count_attempt(username: str) -> _Attempt | None:
    limit = settings.LOGIN_FAILURES_PER_ACCOUNT
    if limit <= 0:
        return None
    digest = _digest(username)
    window = timedelta(seconds=settings.LOGIN_FAILURES_WINDOW_SECONDS)
    counted = _redis(_redis_count, digest, int(window.total_seconds() * 1000))
    in_redis = counted is not None
    attempts, ms_left = counted if in_redis else _database_count(digest, window)
    if attempts > limit:
        if attempts == limit + 1:
            logger.warning(
                "login lockout: username %s... locked after %d failures", digest[:12], limit
            )
        raise AccountLocked(retry_after=max(1, math.ceil(ms_left / 1000)))
    return _Attempt(digest, in_redis)


@contextmanager
def counted_login(*, username: str) -> Iterator[None]:
    """Count a login attempt of `username` around the check of its password.

    Raises `AccountLocked` before the body runs when the username is past its limit; an attempt
    whose body raises (wrong password, inactive account) stays counted, one that returns is
    uncounted, so only failures add up.
    """
    attempt = _count_attempt(username)
    yield
    if attempt is not None:
        attempt.uncount()


def lift(*, username: str) -> None:
    """Forget the username's failed logins (a successful password reset): it may log in again."""
    digest = _digest(username)
    _redis(lambda client: client.delete(_redis_key(digest)))
    LoginFailureWindow.objects.filter(key=digest).delete()
