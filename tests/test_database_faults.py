"""Bounded waits on PostgreSQL (jobboard/database.py), and what the API answers meanwhile.

The database is reached through a TCP fault proxy (tests/faultproxy.py) that refuses connections,
as a restarting server does, or accepts them and never answers, as a hung server or a dropped
network does. The bounds are what the client code enforces; the answers are what a client sees.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

import psycopg2
import pytest
from django.db import DEFAULT_DB_ALIAS, OperationalError, connections
from django.db.utils import load_backend

from core.applications import selectors
from jobboard import database
from tests.faultproxy import FaultProxy
from tests.services import POSTGRESQL, require


@pytest.fixture
def proxied_database(db):
    """A Django connection to the test database through a fault proxy, closed afterwards."""
    require(POSTGRESQL, why="timeouts of a real PostgreSQL connection")
    settings_dict = dict(connections.settings[DEFAULT_DB_ALIAS])
    proxy = FaultProxy(int(settings_dict["PORT"] or 5432), settings_dict["HOST"] or "127.0.0.1")
    settings_dict.update(HOST="127.0.0.1", PORT=str(proxy.port))
    wrapper = load_backend(settings_dict["ENGINE"]).DatabaseWrapper(settings_dict, DEFAULT_DB_ALIAS)
    yield proxy, wrapper
    # Before the test database's own teardown: an open circuit would refuse its rollback too.
    database.reset()
    wrapper.close()
    proxy.close()


@contextlib.contextmanager
def bounded_waits(seconds: float) -> Iterator[None]:
    """As in a web process: every database answer waited for at most `seconds`."""
    database.bound_every_wait(seconds)
    try:
        yield
    finally:
        database.bound_every_wait(None)


def select_one(wrapper) -> int:
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT 1")
        return cursor.fetchone()[0]


def timed(call) -> tuple[float, Exception | None]:
    started = time.monotonic()
    try:
        call()
    except Exception as exc:
        return time.monotonic() - started, exc
    return time.monotonic() - started, None


def test_a_query_to_a_database_that_stopped_answering_fails_within_the_web_process_bound(
    proxied_database, settings
):
    proxy, wrapper = proxied_database
    settings.DATABASE_CIRCUIT_SECONDS = 0
    assert select_one(wrapper) == 1
    proxy.hang()

    with bounded_waits(0.5):
        elapsed, error = timed(lambda: select_one(wrapper))

    assert isinstance(error, OperationalError)
    assert "did not answer within 0.5s" in str(error)
    assert 0.5 <= elapsed < 1.5


def test_connecting_to_a_database_that_accepts_and_never_answers_fails_within_the_connect_bound(
    proxied_database, settings
):
    proxy, wrapper = proxied_database
    settings.DATABASE_CONNECT_TIMEOUT = 0.5
    wrapper.settings_dict["OPTIONS"] = {
        k: v for k, v in wrapper.settings_dict["OPTIONS"].items() if k != "connect_timeout"
    }
    proxy.hang()

    elapsed, error = timed(lambda: select_one(wrapper))

    assert isinstance(error, OperationalError)
    assert 0.5 <= elapsed < 1.5


def test_a_refusing_database_fails_at_once(proxied_database):
    proxy, wrapper = proxied_database
    proxy.refuse()

    elapsed, error = timed(lambda: select_one(wrapper))

    assert isinstance(error, OperationalError)
    assert elapsed < 1.0


def test_after_a_timeout_the_process_fails_fast_then_tries_once_and_recovers(
    proxied_database, settings
):
    proxy, wrapper = proxied_database
    settings.DATABASE_CIRCUIT_SECONDS = 0.5
    assert select_one(wrapper) == 1
    proxy.hang()
    with bounded_waits(0.3):
        timed(lambda: select_one(wrapper))
    assert database.circuit.is_open
    wrapper.close()  # as Django does with a broken connection at the end of the request

    # Open: not even a connection attempt, whatever the database does.
    elapsed, error = timed(lambda: select_one(wrapper))
    assert isinstance(error, OperationalError)
    assert "not trying again" in str(error)
    assert elapsed < 0.1
    wrapper.close()

    proxy.restore()
    time.sleep(0.6)
    # The window is over: one call goes through, succeeds, and closes the circuit.
    assert select_one(wrapper) == 1
    assert not database.circuit.is_open


def test_a_slow_statement_is_cancelled_by_the_server_after_the_statement_timeout(
    proxied_database,
):
    _, wrapper = proxied_database
    with wrapper.cursor() as cursor:
        cursor.execute("SET statement_timeout = 200")
        elapsed, error = timed(lambda: cursor.execute("SELECT pg_sleep(5)"))

    assert isinstance(error, OperationalError)
    assert isinstance(error.__cause__, psycopg2.errors.QueryCanceled)
    assert elapsed < 2


def test_every_connection_carries_the_statement_and_idle_transaction_timeouts(db, settings):
    require(POSTGRESQL, why="PostgreSQL's session settings")
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        statement_timeout = cursor.fetchone()[0]
        cursor.execute("SHOW idle_in_transaction_session_timeout")
        idle_timeout = cursor.fetchone()[0]
    assert statement_timeout == f"{int(settings.DATABASE_STATEMENT_TIMEOUT)}s"
    assert idle_timeout == "1min"


# --- what the API answers while the database is unavailable ---------------------------------


def unavailable(*args, **kwargs):
    raise OperationalError("the database did not answer within 5s")


def test_an_api_request_that_finds_the_database_unavailable_is_a_503_to_retry(
    monkeypatch, seeker_client
):
    monkeypatch.setattr(selectors, "applications_of_seeker", unavailable)

    response = seeker_client.get("/api/applications/seeker/")

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json()["code"] == "service_unavailable"


def test_a_request_outside_drf_that_finds_the_database_unavailable_is_a_503(
    monkeypatch, admin_user, client
):
    client.force_login(admin_user)
    from django.contrib.auth.models import AnonymousUser

    # The admin's user is loaded by Django's session middleware, before any view runs.
    monkeypatch.setattr(
        "django.contrib.auth.get_user", lambda request: unavailable() or AnonymousUser()
    )
    client.raise_request_exception = False

    response = client.get("/admin/")

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json()["code"] == "service_unavailable"


def test_a_bug_is_still_a_500(monkeypatch, seeker_client):
    def bug(*args, **kwargs):
        raise ZeroDivisionError

    monkeypatch.setattr(selectors, "applications_of_seeker", bug)
    seeker_client.raise_request_exception = False

    response = seeker_client.get("/api/applications/seeker/")

    assert response.status_code == 500


def test_the_liveness_probe_never_touches_the_database(monkeypatch, client):
    monkeypatch.setattr(database, "wait_with_deadline", unavailable)
    database.circuit.open()  # even with the circuit open

    response = client.get("/healthz")

    assert response.status_code == 200


def test_every_operation_of_the_schema_documents_the_503(anon_client):
    schema = anon_client.get("/api/docs/swagger.json").json()

    operations = [
        (path, method, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
    ]
    assert operations
    for path, method, operation in operations:
        assert "503" in operation["responses"], (method, path)
