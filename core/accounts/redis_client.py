"""The default cache's Redis, for the few hot paths that need a bare command or a script rather
than Django's cache API: a redis-py client per cache backend, and `get` on a connection of the
calling thread's own.

Profiled on the session check, which runs on every authenticated request: Django's `RedisCache`
builds a new `redis.Redis` around its pool for every call (redis-py's constructor fills a table
of about 170 response callbacks each time), and redis-py's pool then costs more than the command
itself (a lock, a readiness poll of the socket, retry and event wrappers): about 70 us of CPU
per `GET`, against about 20 us for the same `GET` written and read on one connection. So `get`
keeps one connection per thread and uses it directly; a broken connection is dropped and the
command tried once more on a new one, and a second failure or a timeout is raised to the caller
(which then asks the database).

Both use the cache's server, options and keys (`key` applies its prefix and version), so values
written through `django.core.cache` are read here and the other way round. Django's Redis
serializer stores ints bare: an int written by either side reads as `b"<digits>"` here.

`client()` is None when the default cache is not Redis (the file cache of a one-command run):
callers then use the cache API.
"""

from __future__ import annotations

import os
import threading

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError

_CLIENT = "_jobboard_redis_client"
_per_thread = threading.local()


def _redis_backend() -> RedisCache | None:
    backend = caches["default"]
    return backend if isinstance(backend, RedisCache) else None


def client():
    """The redis-py client on the default cache's pool, or None if that cache is not Redis."""
    backend = _redis_backend()
    if backend is None:
        return None
    found = getattr(backend, _CLIENT, None)
    if found is None:
        # `_cache` is Django's RedisCacheClient; `get_client` binds a client to its pool.
        found = backend._cache.get_client(write=True)
        setattr(backend, _CLIENT, found)
    return found


def key(name: str) -> str:
    """`name` as the default cache stores it (prefix and version applied)."""
    return caches["default"].make_key(name)


def _connection(backend: RedisCache):
    # Strictly one per thread (two threads on one connection could read each other's answers),
    # for this backend (a test may swap the cache), and never one inherited across a fork.
    held = getattr(_per_thread, "held", None)
    if held is None or held[0] is not backend or held[1] != os.getpid():
        if held is not None and held[1] == os.getpid():
            held[2].disconnect()
        pool = client().connection_pool
        held = (backend, os.getpid(), pool.connection_class(**pool.connection_kwargs))
        _per_thread.held = held
    return held[2]


def get(name: str) -> bytes | None:
    """`GET` of the cache key `name`, raw; the default cache must be Redis (see `client`)."""
    backend = _redis_backend()
    connection = _connection(backend)
    made = backend.make_key(name)
    for attempt in (1, 2):
        try:
            connection.send_command("GET", made)
            return connection.read_response()
        except RedisConnectionError:
            # Redis closed an idle connection, or restarted: one more try on a new one.
            connection.disconnect()
            if attempt == 2:
                raise
        except BaseException:
            # A timeout (or anything) mid-answer leaves the connection out of step: drop it.
            connection.disconnect()
            raise
    raise AssertionError("unreachable")
