"""Bounded waits on PostgreSQL: no process ever waits on the database longer than it was told to.

libpq has no client-side query timeout, and its `connect_timeout` only bounds the TCP connect of a
blocking connection; a server that accepts a connection and never answers (hung, or behind a
partition) holds a blocked call forever. psycopg2 lets a *wait callback* do every wait on the
socket instead (the mechanism gevent's psycogreen uses): `install()` registers one that polls with
a deadline. Each connect and each query is one call of the callback:

- a connect waits at most `DATABASE_CONNECT_TIMEOUT` seconds;
- a query during a web request waits at most `DATABASE_REQUEST_TIMEOUT` seconds
  (`request_timeout()` scopes it; `DatabaseTimeoutMiddleware` applies it to every request);
- any other query (tasks, beat, commands) waits at most `DATABASE_STATEMENT_TIMEOUT` plus a
  margin: the server's own `statement_timeout` (set per connection, see settings) cancels a slow
  query first, so the client-side bound only ends waits on a server that does not answer at all.

A wait that runs out raises `psycopg2.OperationalError`; psycopg2 then closes the connection, so
Django opens a fresh one next time, and Django reports it as `django.db.OperationalError` (a 503,
see `core.api.exceptions`). After such a timeout the process fails fast for
`DATABASE_CIRCUIT_SECONDS`, then lets one call through as a trial: a hung database costs each
process one bounded wait per window, not one per request, so its threads stay free for the health
probe and for everything that does not need the database.
"""

from __future__ import annotations

import contextlib
import contextvars
import select
import time
import weakref
from collections.abc import Iterator

import psycopg2
from django.conf import settings
from psycopg2 import extensions

from core.circuit_breakers import circuit_breaker

# Seconds the current context may wait for one database answer; None: the process default.
_request_timeout: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "database_request_timeout", default=None
)
# The client waits this much longer than the server's statement_timeout before giving up itself.
STATEMENT_TIMEOUT_MARGIN_SECONDS = 5.0


class DatabaseTimeout(psycopg2.OperationalError):
    """The database did not answer within the bound (or the circuit is open after one that
    did not)."""


# Open for DATABASE_CIRCUIT_SECONDS after a wait ran out; then one trial call per period.
circuit = circuit_breaker("database", open_seconds=lambda: settings.DATABASE_CIRCUIT_SECONDS)


class _ConnectionAges:
    """Which connections were opened before the latest timed-out wait of this process.

    A hung server or a partition leaves every open connection as silent as the one that timed
    out: such a connection is refused at its next use instead of costing one more full wait,
    and Django's health check of persistent connections then opens a fresh one.
    """

    def __init__(self) -> None:
        self.timeouts = 0
        self._opened_after: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def opened(self, conn: extensions.connection) -> None:
        self._opened_after[conn] = self.timeouts

    def timed_out(self) -> None:
        self.timeouts += 1

    def predates_last_timeout(self, conn: extensions.connection) -> bool:
        return self._opened_after.get(conn, self.timeouts) < self.timeouts

    def forget(self) -> None:
        self._opened_after.clear()


connection_ages = _ConnectionAges()


def reset() -> None:
    """Close the circuit and forget every timeout (tests, between simulated outages)."""
    circuit.close()
    connection_ages.forget()


def _timeout_for(conn: extensions.connection) -> float | None:
    if conn.status == extensions.STATUS_SETUP:  # connecting
        configured = conn.get_dsn_parameters().get("connect_timeout")
        return float(configured) if configured else settings.DATABASE_CONNECT_TIMEOUT
    scoped = _request_timeout.get()
    if scoped is not None:
        return scoped
    statement_timeout = settings.DATABASE_STATEMENT_TIMEOUT
    return statement_timeout + STATEMENT_TIMEOUT_MARGIN_SECONDS if statement_timeout else None


def wait_with_deadline(conn: extensions.connection) -> None:
    """psycopg2's wait callback: poll the connection until it is done, or the bound runs out."""
    if not circuit.allow():
        raise DatabaseTimeout("the database did not answer recently; not trying again for a moment")
    connecting = conn.status == extensions.STATUS_SETUP
    if not connecting and connection_ages.predates_last_timeout(conn):
        raise DatabaseTimeout("connection opened before the database stopped answering")
    timeout = _timeout_for(conn)
    deadline = None if timeout is None else time.monotonic() + timeout
    fileno = conn.fileno()
    while True:
        state = conn.poll()
        if state == extensions.POLL_OK:
            if connecting:
                connection_ages.opened(conn)
            circuit.succeeded()
            return
        remaining = None if deadline is None else deadline - time.monotonic()
        if remaining is not None and remaining <= 0:
            circuit.open()
            connection_ages.timed_out()
            raise DatabaseTimeout(f"the database did not answer within {timeout:g}s")
        if state == extensions.POLL_READ:
            select.select([fileno], [], [], remaining)
        elif state == extensions.POLL_WRITE:
            select.select([], [fileno], [], remaining)
        else:  # pragma: no cover - psycopg2 documents no other state
            raise psycopg2.OperationalError(f"unexpected poll state {state}")


def install() -> None:
    """Route every psycopg2 wait of this process through `wait_with_deadline`."""
    extensions.set_wait_callback(wait_with_deadline)


@contextlib.contextmanager
def request_timeout(seconds: float) -> Iterator[None]:
    """Within this block, any one database answer is waited for at most `seconds`."""
    token = _request_timeout.set(seconds)
    try:
        yield
    finally:
        _request_timeout.reset(token)


class DatabaseTimeoutMiddleware:
    """Bound every database wait of a web request by `DATABASE_REQUEST_TIMEOUT`."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        with request_timeout(settings.DATABASE_REQUEST_TIMEOUT):
            return self.get_response(request)
