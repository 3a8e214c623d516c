"""The default cache's Redis, as one redis-py client per cache backend, for the few hot paths
that need a bare command or a script rather than Django's cache API.

Django's `RedisCache` builds a new `redis.Redis` around its connection pool for every call, and
redis-py's constructor fills a table of about 170 response callbacks each time: profiled, that
was half of what the session check cost per request. This client is built once per backend
instance (Django keeps one per thread), on the same pool, the same server and the same keys
(`key` applies the cache's prefix and version), so values written through `django.core.cache`
are read here and the other way round. Ints are stored bare by Django's Redis serializer, so
an int written by either side reads as `b"<digits>"` here and as an int there.

`client()` is None when the default cache is not Redis (the file cache of a one-command run):
callers then use the cache API.
"""

from __future__ import annotations

from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache

_ATTRIBUTE = "_jobboard_redis_client"


def client():
    """The redis-py client on the default cache's pool, or None if that cache is not Redis."""
    backend = caches["default"]
    if not isinstance(backend, RedisCache):
        return None
    found = getattr(backend, _ATTRIBUTE, None)
    if found is None:
        # `_cache` is Django's RedisCacheClient; `get_client` binds a client to its pool.
        found = backend._cache.get_client(write=True)
        setattr(backend, _ATTRIBUTE, found)
    return found


def key(name: str) -> str:
    """`name` as the default cache stores it (prefix and version applied)."""
    return cache.make_key(name)
