"""Health probes for Docker, compose and load balancers: `/healthz` and `/readyz`.

`/healthz` says the process answers HTTP and touches nothing else, so a database outage never
gets a healthy web container restarted. `/readyz` says whether this process can serve: it checks
the database (`SELECT 1` on a fresh connection), the cache (a set/get round trip) and the broker
(one AMQP connection, no retries), concurrently, each bounded by `HEALTH_CHECK_TIMEOUT_SECONDS`,
and answers 503 naming what is down. The body names the error's type only; the message, which
may carry host names, goes to the log under the probe's request id.

Both are plain Django views (no DRF: no authentication, throttling or OpenAPI entry), never
cached, GET and HEAD only. `ProbeMiddleware` answers them ahead of the rest of the middleware: a
probe from inside the container (`Host: localhost`) must not be refused by `ALLOWED_HOSTS` or
redirected to HTTPS, and needs no session or CSRF machinery.
"""

from __future__ import annotations

import contextvars
import logging
import math
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.cache import BaseCache, caches
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.utils import load_backend
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from kombu import Connection

logger = logging.getLogger(__name__)

Check = Callable[[float], None]


class CacheMismatch(Exception):
    """The cache answered, but not with the value just stored in it."""


def check_database(timeout: float) -> None:
    """Open a new connection to the default database and run `SELECT 1` on it.

    A connection of its own, not the request's: readiness means a new connection can be made, and
    only a fresh one can be given a connect timeout (libpq's, in whole seconds, at least 2).
    """
    settings_dict = dict(connections.settings[DEFAULT_DB_ALIAS])
    if settings_dict["ENGINE"] == "django.db.backends.postgresql":
        settings_dict["OPTIONS"] = {
            **settings_dict.get("OPTIONS", {}),
            "connect_timeout": max(2, math.ceil(timeout)),
        }
    wrapper = load_backend(settings_dict["ENGINE"]).DatabaseWrapper(settings_dict, DEFAULT_DB_ALIAS)
    try:
        with wrapper.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    finally:
        wrapper.close()


def check_cache(cache: BaseCache, timeout: float) -> None:
    """Store a random value under a key of its own, read it back, delete it."""
    key = f"readyz:{uuid.uuid4().hex}"
    value = uuid.uuid4().hex
    cache.set(key, value, timeout=60)  # gone soon even if the delete below never runs
    try:
        if cache.get(key) != value:
            raise CacheMismatch("the cache did not return the value just stored")
    finally:
        cache.delete(key)


def check_broker(timeout: float) -> None:
    """Connect to the broker once, with a connect timeout and no retries."""
    with Connection(
        settings.CELERY_BROKER_URL,
        connect_timeout=timeout,
        heartbeat=0,
        transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS,
    ) as connection:
        connection.ensure_connection(max_retries=0)


def _run_check(name: str, check: Check, timeout: float, results: dict[str, dict]) -> None:
    started = time.perf_counter()
    try:
        check(timeout)
    except Exception as exc:
        latency_ms = round((time.perf_counter() - started) * 1000, 1)
        logger.warning(
            "readyz: %s unavailable after %.1fms (%s: %s)",
            name,
            latency_ms,
            type(exc).__name__,
            exc,
            extra={"dependency": name},
        )
        results[name] = {"status": "error", "latency_ms": latency_ms, "error": type(exc).__name__}
    else:
        latency_ms = round((time.perf_counter() - started) * 1000, 1)
        results[name] = {"status": "ok", "latency_ms": latency_ms}


def run_checks(checks: dict[str, Check], timeout: float) -> dict[str, dict[str, Any]]:
    """Run every check at once in a thread of its own; a check not done after `timeout` seconds
    is reported as a timeout and left to finish (its own bounds end it) in the background."""
    results: dict[str, dict] = {}
    deadline = time.perf_counter() + timeout
    threads = []
    for name, check in checks.items():
        # A copy of the context per thread, so the check's log lines carry the probe's request id.
        context = contextvars.copy_context()
        thread = threading.Thread(
            target=context.run,
            args=(_run_check, name, check, timeout, results),
            name=f"readyz-{name}",
            daemon=True,
        )
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join(max(0.0, deadline - time.perf_counter()))
    report = {}
    for name in checks:
        result = results.get(name)
        if result is None:
            logger.warning(
                "readyz: %s did not answer within %.1fs", name, timeout, extra={"dependency": name}
            )
            result = {"status": "error", "latency_ms": round(timeout * 1000, 1), "error": "timeout"}
        report[name] = result
    return report


@require_safe
@never_cache
def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness: 200 whenever the process can answer at all."""
    return JsonResponse({"status": "ok"})


@require_safe
@never_cache
def readyz(request: HttpRequest) -> HttpResponse:
    """Readiness: 200 when the database, the cache and the broker all answer, else 503."""
    cache = caches["default"]  # this thread's client, shared with the check's thread
    checks = run_checks(
        {
            "database": check_database,
            "cache": lambda timeout: check_cache(cache, timeout),
            "broker": check_broker,
        },
        settings.HEALTH_CHECK_TIMEOUT_SECONDS,
    )
    ready = all(result["status"] == "ok" for result in checks.values())
    return JsonResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks},
        status=200 if ready else 503,
    )


PROBES: dict[str, Callable[[HttpRequest], HttpResponse]] = {
    "/healthz": healthz,
    "/readyz": readyz,
}


class ProbeMiddleware:
    """Answer `/healthz` and `/readyz` before host validation, the HTTPS redirect, sessions and
    CSRF: orchestrators probe over plain HTTP with whatever host name reaches the container."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        probe = PROBES.get(request.path_info)
        if probe is not None:
            return probe(request)
        return self.get_response(request)
