"""The bare Redis reads of the hot paths: the cache's keys and values, one connection per
thread, and a connection Redis closed replaced without the caller noticing."""

from __future__ import annotations

import threading

import pytest
from django.core.cache import cache

from core.accounts import redis_client
from tests.services import REDIS, require


@pytest.fixture(autouse=True)
def _redis():
    require(REDIS, why="reads of the cache's Redis")


def test_reads_what_the_cache_api_wrote_under_its_prefix():
    cache.set("redis-client-test", 1, 30)
    assert redis_client.get("redis-client-test") == b"1"
    assert redis_client.get("never-written") is None
    assert redis_client.client().get(redis_client.key("redis-client-test")) == b"1"


def test_a_connection_redis_closed_is_replaced_and_the_read_answers():
    cache.set("redis-client-test", 1, 30)
    assert redis_client.get("redis-client-test") == b"1"
    held = redis_client._per_thread.held[2]
    held.send_command("CLIENT", "ID")
    # Redis drops that one connection, as on a restart or an idle timeout.
    assert redis_client.client().client_kill_filter(_id=held.read_response()) == 1

    assert redis_client.get("redis-client-test") == b"1"


def test_each_thread_reads_on_a_connection_of_its_own():
    cache.set("redis-client-test", 1, 30)
    connections, answers = [], []

    def read():
        answers.append(redis_client.get("redis-client-test"))
        connections.append(redis_client._per_thread.held[2])

    threads = [threading.Thread(target=read) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert answers == [b"1"] * 3
    assert len({id(connection) for connection in connections}) == 3
