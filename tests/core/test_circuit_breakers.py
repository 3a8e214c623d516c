"""The one circuit breaker of the relay, the listings cache and the throttles."""

from __future__ import annotations

import types

import pytest

from core import circuit_breakers
from core.api import throttling
from core.circuit_breakers import CircuitOpen
from core.jobs import listing_cache
from tasks import relay


@pytest.fixture
def clock(monkeypatch) -> types.SimpleNamespace:
    now = types.SimpleNamespace(value=500.0)
    monkeypatch.setattr(
        circuit_breakers, "time", types.SimpleNamespace(monotonic=lambda: now.value)
    )
    return now


def failing() -> None:
    raise ConnectionError("down")


def test_a_failure_is_raised_as_it_was_and_opens_the_breaker_for_its_time(clock):
    breaker = circuit_breakers.CircuitBreaker("test", open_seconds=2.0)
    calls: list[int] = []

    with pytest.raises(ConnectionError, match="down"):
        breaker.call(failing)
    clock.value += 1.999
    with pytest.raises(CircuitOpen):
        breaker.call(calls.append, 1)
    clock.value += 0.001

    breaker.call(calls.append, 2)

    assert calls == [2]


def test_open_seconds_is_read_at_each_failure(clock):
    seconds = types.SimpleNamespace(value=1.0)
    breaker = circuit_breakers.CircuitBreaker("test", open_seconds=lambda: seconds.value)
    seconds.value = 10.0

    with pytest.raises(ConnectionError):
        breaker.call(failing)
    clock.value += 9.0

    assert breaker.is_open


def test_close_all_closes_the_relays_the_listing_caches_and_the_throttles_breakers():
    breakers = [relay.broker_circuit, listing_cache.cache_circuit, throttling.throttle_circuit]
    for breaker in breakers:
        breaker.open()
    assert all(breaker.is_open for breaker in breakers)

    circuit_breakers.close_all()

    assert not any(breaker.is_open for breaker in breakers)
