"""The store of the public listing, job detail and category list as ready-to-send bytes.

Entries live in the Django cache (Redis in production) under a key made of the normalised query
and the listings *generation*, a counter the listings worker bumps on every `job.*` event: a
bump makes every older entry unreachable at once, no request-side invalidation needed. Each
process also keeps the bytes it served in memory and revalidates its generation against Redis at
most every `LISTING_LOCAL_REVALIDATE_SECONDS`, so most hits cost no network round trip at all.

Correctness never depends on the cache: the listing query itself excludes expired postings, and
an entry's lifetime (`valid_until`) never outlives the earliest `expires_at` among the jobs it
shows. If the cache is down, every document is built from the database (and logged).

This module stores bytes and knows no interface: what the bytes are (the REST bodies) is the
caller's, which hands `get_or_build` a function that builds them (`core.api.listings`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from core.circuit_breakers import CircuitOpen, circuit_breaker
from core.jobs.selectors import JobListFilters

logger = logging.getLogger(__name__)

GENERATION_KEY = "listings:generation"
LOCK_WAIT_SECONDS = 3.0
LOCAL_ENTRIES = 1024


@dataclass(frozen=True)
class CachedBody:
    """A response body ready to send, its entity tag, and when it stops being valid (epoch s)."""

    body: bytes
    etag: str
    valid_until: float

    @classmethod
    def of(cls, body: bytes, *, valid_until: float) -> CachedBody:
        """`body` with its entity tag (a digest of the bytes)."""
        etag = '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'
        return cls(body=body, etag=etag, valid_until=valid_until)

    def max_age(self) -> int:
        return max(0, int(self.valid_until - time.time()))


class CacheUnavailable(Exception):
    """The shared cache failed just now, or moments ago; build from the database instead."""


# After a failure the cache is left alone for a few seconds, so an unreachable Redis costs one
# timeout per process per period, not one per request.
CACHE_RETRY_AFTER_SECONDS = 5.0
cache_circuit = circuit_breaker("listings cache", open_seconds=CACHE_RETRY_AFTER_SECONDS)
_last_failure_log = 0.0


def _cache_call(operation: Callable, *args, **kwargs):
    try:
        return cache_circuit.call(operation, *args, **kwargs)
    except CircuitOpen as exc:
        raise CacheUnavailable from exc
    except Exception as exc:  # Redis down or timing out: the database answers instead.
        _log_cache_failure(exc)
        raise CacheUnavailable from exc


def _note_cache_failure(exc: Exception) -> None:
    """A cache call outside `_cache_call` failed: open the circuit as if it had gone through."""
    cache_circuit.open()
    _log_cache_failure(exc)


def _log_cache_failure(exc: Exception) -> None:
    global _last_failure_log
    now = time.monotonic()
    if now - _last_failure_log > 10:
        _last_failure_log = now
        logger.warning(
            "listings cache unavailable (%s: %s); serving from the database for %.0fs",
            type(exc).__name__,
            exc,
            CACHE_RETRY_AFTER_SECONDS,
        )


# --- Generation -------------------------------------------------------------------------------

_local_lock = threading.Lock()
_local_generation: tuple[int, float] | None = None  # (generation, checked at monotonic)
_local_bodies: OrderedDict[str, CachedBody] = OrderedDict()


def current_generation() -> int:
    """The listings generation, read from the shared cache at most every revalidation period."""
    global _local_generation
    now = time.monotonic()
    with _local_lock:
        if (
            _local_generation
            and now - _local_generation[1] < settings.LISTING_LOCAL_REVALIDATE_SECONDS
        ):
            return _local_generation[0]
    generation = _cache_call(cache.get, GENERATION_KEY)
    if generation is None:
        _cache_call(cache.add, GENERATION_KEY, 1, timeout=None)
        generation = _cache_call(cache.get, GENERATION_KEY) or 1
    with _local_lock:
        _local_generation = (int(generation), now)
    return int(generation)


def bump_generation() -> int:
    """Make every cached listing stale at once (called by the listings worker on `job.*`)."""
    try:
        generation = cache.incr(GENERATION_KEY)
    except ValueError:  # no counter yet
        cache.add(GENERATION_KEY, 1, timeout=None)
        generation = cache.incr(GENERATION_KEY)
    forget_local()
    return int(generation)


def invalidate_after_commit() -> None:
    """Bump the generation once the current transaction commits, never failing the caller.

    For writes no `job.*` event covers (categories): they are rare, and a new category should
    be listed at once.
    """

    def bump() -> None:
        try:
            bump_generation()
        except Exception as exc:
            _note_cache_failure(exc)

    transaction.on_commit(bump)


def forget_local() -> None:
    """Drop this process's copies, and forget a cache failure (tests; the worker after a bump)."""
    global _local_generation
    with _local_lock:
        _local_generation = None
        _local_bodies.clear()
    cache_circuit.close()


# --- Get or build -----------------------------------------------------------------------------


def get_or_build(name: str, build: Callable[[], CachedBody | None]) -> CachedBody | None:
    """The cached body named `name` in the current generation; built once on a miss.

    Concurrent misses on one key elect one builder with an atomic `add` of a lock key; the others
    wait for its result (up to `LOCK_WAIT_SECONDS`) instead of building it again.
    """
    if not settings.LISTINGS_CACHE_ENABLED:
        return build()
    try:
        generation = current_generation()
    except CacheUnavailable:
        return build()
    key = _entry_key(generation, name)
    now = time.time()
    with _local_lock:
        local = _local_bodies.get(key)
        if local is not None and local.valid_until > now:
            _local_bodies.move_to_end(key)
            return local
    try:
        entry = _cache_call(cache.get, key)
        if entry is None:
            if _cache_call(cache.add, f"{key}:lock", 1, timeout=int(LOCK_WAIT_SECONDS) + 2):
                try:
                    # Another builder may have stored it and released the lock since our miss.
                    entry = _cache_call(cache.get, key)
                    if entry is None:
                        entry = build()
                        if entry is not None:
                            _store(key, entry)
                finally:
                    _cache_call(cache.delete, f"{key}:lock")
            else:
                entry = _wait_for(key) or build()
    except CacheUnavailable:
        return build()
    if entry is not None and entry.valid_until > time.time():
        _remember_locally(key, entry)
    return entry


def alias_lookup(alias: str) -> tuple[CachedBody | None, int | None]:
    """This process's body for an identical raw request (e.g. the query string) in the current
    generation, and that generation (None when caching is off or the cache is down).

    The fast path of a hit: no query parsing, no validation, no network round trip. Only bodies
    that a validated request produced are ever remembered under an alias.
    """
    if not settings.LISTINGS_CACHE_ENABLED:
        return None, None
    try:
        generation = current_generation()
    except CacheUnavailable:
        return None, None
    with _local_lock:
        entry = _local_bodies.get(_entry_key(generation, f"alias:{alias}"))
    if entry is not None and entry.valid_until > time.time():
        return entry, generation
    return None, generation


def remember_alias(alias: str, generation: int | None, entry: CachedBody) -> None:
    """Remember `entry` as the answer to the raw request `alias` in `generation`."""
    if generation is not None and entry.valid_until > time.time():
        _remember_locally(_entry_key(generation, f"alias:{alias}"), entry)


def store(name: str, entry: CachedBody, *, generation: int) -> None:
    """Store `entry` as the document `name` of `generation` (the listings worker's warming)."""
    _store(_entry_key(generation, name), entry)


def _entry_key(generation: int, name: str) -> str:
    return f"listings:{generation}:{name}"


def _store(key: str, entry: CachedBody) -> None:
    ttl = int(entry.valid_until - time.time())
    if ttl >= 1:
        _cache_call(cache.set, key, entry, timeout=ttl)


def _wait_for(key: str) -> CachedBody | None:
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    while time.monotonic() < deadline:
        time.sleep(0.01)
        entry = _cache_call(cache.get, key)
        if entry is not None:
            return entry
    return None


def _remember_locally(key: str, entry: CachedBody) -> None:
    with _local_lock:
        _local_bodies[key] = entry
        _local_bodies.move_to_end(key)
        while len(_local_bodies) > LOCAL_ENTRIES:
            _local_bodies.popitem(last=False)


def valid_until(earliest_expiry: datetime | None) -> float:
    """The deadline of an entry (epoch seconds): never past the earliest expiry it shows.

    An absolute time taken from the jobs' own `expires_at`, so the time spent rendering cannot
    stretch an entry past the moment one of its jobs expires.
    """
    deadline = time.time() + settings.LISTING_CACHE_SECONDS
    if earliest_expiry is not None:
        deadline = min(deadline, earliest_expiry.timestamp())
    return deadline


def job_list_name(filters: JobListFilters, page: int | str, page_size: int) -> str:
    """The name of one page of the public listing (normalised: equal filters, equal names)."""
    return _key("jobs", {"filters": asdict(filters), "page": page, "page_size": page_size})


def _key(kind: str, params: dict) -> str:
    canonical = json.dumps(params, sort_keys=True, default=str, separators=(",", ":"))
    return f"{kind}:{hashlib.blake2b(canonical.encode(), digest_size=16).hexdigest()}"
