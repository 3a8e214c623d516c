"""Bounded waits on PostgreSQL: no process ever waits on the database longer than it was told to.

libpq has no client-side query timeout, and its `connect_timeout` only bounds the TCP connect of a
blocking connection; a server that accepts a connection and never answers (hung, or behind a
partition) holds a blocked call forever. psycopg2 lets a *wait callback* do every wait on the
socket instead (the mechanism gevent's psycogreen uses): `install()` registers one that polls with
a deadline. Each connect and each query is one call of the callback:

- a connect waits at most `DATABASE_CONNECT_TIMEOUT` seconds;
- a query of a web process waits at most `DATABASE_REQUEST_TIMEOUT` seconds: the WSGI and ASGI
  entry points call `bound_every_wait()`, so the bound holds inside a request and around it
  (Django checks its connections in the request_started and request_finished signals, before
  and after the middleware);
- any other process's query (tasks, beat, commands) waits at most `DATABASE_STATEMENT_TIMEOUT`
  plus a margin: the server's own `statement_timeout` (set per connection, see settings) cancels
  a slow query first, so the client-side bound only ends waits on a server that never answers.

A wait that runs out raises `psycopg2.OperationalError`; psycopg2 then closes the connection, so
Django opens a fresh one next time, and Django reports it as `django.db.OperationalError` (a 503,
see `core.api.exceptions`). After such a timeout the process fails fast for
`DATABASE_CIRCUIT_SECONDS`, then lets one call through as a trial: a hung database costs each
process one bounded wait per window, not one per request, so its threads stay free for the health
probe and for everything that does not need the database.
"""

from __future__ import annotations

import select
import time
import weakref

import psycopg2
from django.conf import settings
from psycopg2 import extensions

from core.circuit_breakers import circuit_breaker

# Seconds this process waits for any one answer of the database; None: the statement bound.
_wait_bound: float | None = None
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
    if _wait_bound is not None:
        return _wait_bound
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


def bound_every_wait(seconds: float | None) -> None:
    """Bound every database answer this process waits for (None: back to the statement bound).

    The web's entry points do: a request must answer within a few seconds whatever the database
    does, and nothing else runs in a web process."""
    global _wait_bound
    _wait_bound = seconds
