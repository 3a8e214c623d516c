"""One circuit breaker for every call to a service that may be down: after a failure, the caller
leaves that service alone for a few seconds instead of waiting on it at every request.

Four breakers use it: the outbox relay's (the broker, for `OUTBOX_CIRCUIT_SECONDS`), the listings
cache's and the throttles' (Redis), and the database's (`jobboard/database.py`, for
`DATABASE_CIRCUIT_SECONDS`). Each opens at its first failure; once its time has passed the next
call is a trial: the others keep being refused for another period while it runs, a trial that
succeeds closes the breaker, one that fails opens it again. So a service that hangs costs a
process one bounded wait per period, not one per thread. `close_all` resets every breaker (tests
call it around each test, in one place).

Ours rather than pybreaker's: pybreaker (1.4) holds one lock for the whole length of a guarded call,
so in a threaded worker (gunicorn `--threads`, as the abuse-limit tests run it) one client's
throttle decision, which may wait up to two seconds for that client's lock, or a relay publish
waiting for the broker's confirm, would stall every other request of the process behind it. It
also times the open state by the wall clock, which can step. These callers need only the smallest
breaker, open at the first failure for N seconds: a monotonic deadline and no lock around the call
(two threads racing to be the trial after the deadline is harmless: each makes one call).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class CircuitOpen(Exception):
    """The breaker is open: the call was not made."""


class CircuitBreaker:
    """Stops calls for `open_seconds` after a failure; `open_seconds` may be a callable, read at
    each failure, so a setting changed at run time (or by a test) applies to the next opening."""

    def __init__(self, name: str, *, open_seconds: float | Callable[[], float]) -> None:
        self.name = name
        self._open_seconds = open_seconds
        self._open_until = 0.0  # monotonic time

    def __repr__(self) -> str:
        return f"<CircuitBreaker {self.name!r} {'open' if self.is_open else 'closed'}>"

    @property
    def open_seconds(self) -> float:
        seconds = self._open_seconds
        return float(seconds() if callable(seconds) else seconds)

    @property
    def is_open(self) -> bool:
        return time.monotonic() < self._open_until

    def open(self) -> None:
        """Stop calls from now for `open_seconds` (for a failure seen outside `call`)."""
        self._open_until = time.monotonic() + self.open_seconds

    def close(self) -> None:
        """Let the next call through at once."""
        self._open_until = 0.0

    def allow(self) -> bool:
        """Whether a call may be made now; past an opening's time, this caller is the trial."""
        open_until = self._open_until
        if not open_until:
            return True
        now = time.monotonic()
        if now < open_until:
            return False
        # Half-open: the others wait while the trial runs (it ends with `close` or `open`).
        self._open_until = now + self.open_seconds
        return True

    def succeeded(self) -> None:
        """A call went through: close the breaker if a trial just proved the service back."""
        if self._open_until:
            self._open_until = 0.0

    def call(self, operation: Callable[..., T], *args, **kwargs) -> T:
        """`operation(*args, **kwargs)`, or `CircuitOpen` without calling it while open.

        Any exception of the operation opens the breaker and is raised as it was.
        """
        if not self.allow():
            raise CircuitOpen(self.name)
        try:
            result = operation(*args, **kwargs)
        except Exception:
            self.open()
            raise
        self.succeeded()
        return result


_breakers: list[CircuitBreaker] = []


def circuit_breaker(name: str, *, open_seconds: float | Callable[[], float]) -> CircuitBreaker:
    """A new breaker, known to `close_all`."""
    breaker = CircuitBreaker(name, open_seconds=open_seconds)
    _breakers.append(breaker)
    return breaker


def close_all() -> None:
    """Close every breaker: an outage one test simulated does not leak into the next."""
    for breaker in _breakers:
        breaker.close()
