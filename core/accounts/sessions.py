"""Whether a session is still open, answered from the cache on an ordinary request.

Every authenticated request asks `is_session_open`. The answer is cached per session (`open` or
`ended`), so a request costs one Redis `GET` (written and read on a connection kept per
thread, see `core.accounts.redis_client`) and no SQL query. It never fails open: on a cache miss,
or with the cache unreachable, the database answers. Ending a session writes `ended` into the
cache at once and after commit (`mark_ended`); the `open` entries live only
`SESSION_STATE_CACHE_SECONDS`, which bounds how long a session ended while the cache could not be
written (Redis partitioned from the web process, not restarted) might still be taken as open.

The same expiry paces `last_used_at`: the miss that re-reads an open session from the database
is one `UPDATE` that both checks it and records its use, so a session in use is written about
once per `SESSION_STATE_CACHE_SECONDS` (a minute), never once per request. With the cache down
the database is only read (a write per request is what the cache is there to avoid), so
`last_used_at` lags for the outage.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from core.accounts import redis_client
from core.accounts.models import UserSession
from core.circuit_breakers import CircuitOpen, circuit_breaker

logger = logging.getLogger(__name__)

# Bare ints: Django's Redis serializer stores them unpickled, so the hot read needs no unpickling.
OPEN, ENDED = 1, 0
_OPEN_BYTES, _ENDED_BYTES = b"1", b"0"
_UNAVAILABLE = object()
# After a failure of the cache, session checks go straight to the database for a while.
session_cache_circuit = circuit_breaker("session cache", open_seconds=5.0)


def _key(session_id: uuid.UUID | str) -> str:
    # "state", not the "session" of the pickled strings before: a new deploy never reads those.
    return f"accounts:session-state:{session_id}"


def _cache_call(operation, *args, unavailable=None):
    try:
        return session_cache_circuit.call(operation, *args)
    except CircuitOpen:
        return unavailable
    except Exception as exc:
        logger.warning("session cache unavailable (%s: %s)", type(exc).__name__, exc)
        return unavailable


def _cached_state(key: str):
    """OPEN, ENDED, None (not cached) or _UNAVAILABLE: one `GET`, no Django cache layer."""
    client = redis_client.client()
    if client is None:
        return _cache_call(cache.get, key, unavailable=_UNAVAILABLE)
    raw = _cache_call(redis_client.get, key, unavailable=_UNAVAILABLE)
    if raw == _OPEN_BYTES:
        return OPEN
    if raw == _ENDED_BYTES:
        return ENDED
    return _UNAVAILABLE if raw is _UNAVAILABLE else None


def _ended_lifetime() -> int:
    # An ended session stays ended: its entry need outlive only its last access token.
    return int(settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"].total_seconds()) + 60


def is_session_open(*, session_id: str, user_id: int) -> bool:
    """True while the session `session_id` of user `user_id` has not ended."""
    try:
        key = _key(uuid.UUID(str(session_id)))
    except ValueError:
        return False
    state = _cached_state(key)
    if state is not _UNAVAILABLE and state in (OPEN, ENDED):
        return state == OPEN
    sessions = UserSession.objects.filter(pk=session_id, user_id=user_id, ended_at__isnull=True)
    if state is _UNAVAILABLE:
        return sessions.exists()
    # A miss: the entry expired (or was never written). Check and record this use at once.
    is_open = bool(sessions.update(last_used_at=timezone.now()))
    if is_open:
        # `add`, not `set`: an `ended` that `mark_ended` wrote since the UPDATE must stay.
        _cache_call(cache.add, key, OPEN, settings.SESSION_STATE_CACHE_SECONDS)
    else:
        _cache_call(cache.set, key, ENDED, _ended_lifetime())
    return is_open


def mark_open(session_id: uuid.UUID) -> None:
    """Cache a new session as open, so even its first request costs no SQL query."""
    _cache_call(cache.set, _key(session_id), OPEN, settings.SESSION_STATE_CACHE_SECONDS)


def mark_ended(session_ids: Iterable[uuid.UUID]) -> None:
    """Tell the cache these sessions have ended: at once, and again once the transaction ending
    them commits.

    The first write errs only on the safe side (were the ending rolled back, the sessions would
    be refused early); the second covers a request that, meanwhile, missed the cache and read
    the database's not yet committed "open".
    """
    ids = list(session_ids)
    if not ids:
        return
    lifetime = _ended_lifetime()

    def write() -> None:
        if _cache_call(cache.set_many, {_key(pk): ENDED for pk in ids}, lifetime) is None:
            # set_many answers [] on success; None means the cache could not be written.
            logger.error("could not mark %d ended sessions in the cache", len(ids))

    write()
    transaction.on_commit(write)
