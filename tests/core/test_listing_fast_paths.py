"""The listing's cheap paths answer exactly what the DRF view answers.

A hit of `GET /api/jobs/` is sent before DRF's dispatch (`core.api.jobs._listing_fast_path`):
the same bytes, `ETag`/304, `Cache-Control` and DRF's own headers, and the throttles count it
as before. Requests the fast path must not answer (signed in, unusual `Accept`, `?format=`, a
miss) go through DRF, which is asserted by counting its dispatches.
"""

from __future__ import annotations

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from core.api import throttling
from core.api.jobs import JobViewSet
from core.jobs import listing_cache

LIST_URL = "/api/jobs/"
# Through DRF's negotiation, to the same JSON renderer: DRF answers these itself.
NEGOTIATED_ACCEPT = "application/json;q=0.9"


@pytest.fixture(autouse=True)
def _listings_cache_enabled(settings):
    settings.LISTINGS_CACHE_ENABLED = True
    cache.clear()
    listing_cache.forget_local()
    yield
    listing_cache.forget_local()


@pytest.fixture
def dispatches(monkeypatch) -> list[str]:
    """Every request that reached DRF's dispatch of the jobs viewset, by method."""
    calls: list[str] = []
    real_dispatch = JobViewSet.dispatch

    def counting_dispatch(self, request, *args, **kwargs):
        calls.append(request.method)
        return real_dispatch(self, request, *args, **kwargs)

    monkeypatch.setattr(JobViewSet, "dispatch", counting_dispatch)
    return calls


def headers_of(response) -> dict[str, str]:
    """The response's headers but the request id, which is new for every request."""
    return {name: value for name, value in response.headers.items() if name != "X-Request-ID"}


@pytest.mark.parametrize(
    "query", ["", "?page_size=2", "?page=2&page_size=2", "?category=backend&remote=false"]
)
def test_a_hit_before_drf_sends_the_bytes_and_headers_drf_sends(
    anon_client, make_job, dispatches, query
):
    for n in range(3):
        make_job(title=f"Fast path {n}", remote=n == 1)
    first = anon_client.get(LIST_URL + query)  # a miss: DRF builds and remembers the page
    assert first.status_code == 200, first.content
    assert dispatches == ["GET"]

    fast = anon_client.get(LIST_URL + query)
    through_drf = anon_client.get(LIST_URL + query, HTTP_ACCEPT=NEGOTIATED_ACCEPT)

    assert dispatches == ["GET", "GET"], "the hit went through DRF, or the negotiated one did not"
    assert fast.status_code == through_drf.status_code == 200
    assert fast.content == through_drf.content == first.content
    assert headers_of(fast) == headers_of(through_drf) == headers_of(first)
    assert fast["Allow"] == "GET, POST, HEAD, OPTIONS"
    assert fast["X-Request-ID"]


@pytest.mark.parametrize("if_none_match", ["{etag}", "W/{etag}", '"other", {etag}', "*"])
def test_a_304_before_drf_is_drfs_304(anon_client, job, dispatches, if_none_match):
    etag = anon_client.get(LIST_URL)["ETag"]
    header = if_none_match.format(etag=etag)

    fast = anon_client.get(LIST_URL, HTTP_IF_NONE_MATCH=header)
    through_drf = anon_client.get(
        LIST_URL, HTTP_IF_NONE_MATCH=header, HTTP_ACCEPT=NEGOTIATED_ACCEPT
    )

    assert dispatches == ["GET", "GET"]
    assert fast.status_code == through_drf.status_code == 304
    assert fast.content == through_drf.content == b""
    assert headers_of(fast) == headers_of(through_drf)
    assert fast["ETag"] == etag


def test_a_failed_if_match_before_drf_is_drfs_412(anon_client, job, dispatches):
    anon_client.get(LIST_URL)

    fast = anon_client.get(LIST_URL, HTTP_IF_MATCH='"not-this-one"')
    through_drf = anon_client.get(
        LIST_URL, HTTP_IF_MATCH='"not-this-one"', HTTP_ACCEPT=NEGOTIATED_ACCEPT
    )

    assert fast.status_code == through_drf.status_code == 412
    assert headers_of(fast) == headers_of(through_drf)


@pytest.mark.parametrize(
    "request_kwargs",
    [
        {"HTTP_ACCEPT": "text/html"},
        {"HTTP_ACCEPT": NEGOTIATED_ACCEPT},
        {"QUERY_STRING": "format=json"},
        {"HTTP_AUTHORIZATION": "Bearer not-a-token"},
    ],
    ids=["html", "negotiated", "format-override", "authorization"],
)
def test_requests_the_fast_path_must_not_answer_go_through_drf(
    anon_client, job, dispatches, request_kwargs
):
    query = request_kwargs.pop("QUERY_STRING", "")
    url = LIST_URL + (f"?{query}" if query else "")
    anon_client.get(url)  # the page is remembered for this query string
    before = len(dispatches)

    anon_client.get(url, **request_kwargs)

    assert len(dispatches) == before + 1


def test_an_unacceptable_accept_is_still_drfs_406(anon_client, job):
    anon_client.get(LIST_URL)

    response = anon_client.get(LIST_URL, HTTP_ACCEPT="text/html")

    assert response.status_code == 406


def test_a_bad_token_is_still_a_401_on_a_cached_page(anon_client, job):
    anon_client.get(LIST_URL)

    response = anon_client.get(LIST_URL, HTTP_AUTHORIZATION="Bearer not-a-token")

    assert response.status_code == 401


def test_a_signed_in_reader_gets_the_same_page_through_drf(
    anon_client, seeker_client, job, dispatches
):
    anonymous = anon_client.get(LIST_URL)
    signed_in = seeker_client.get(LIST_URL)

    assert dispatches == ["GET", "GET"]
    assert signed_in.content == anonymous.content


def test_the_fast_path_is_off_with_the_cache(anon_client, job, dispatches, settings):
    settings.LISTINGS_CACHE_ENABLED = False

    first = anon_client.get(LIST_URL)
    second = anon_client.get(LIST_URL)

    assert dispatches == ["GET", "GET"]
    assert first.content == second.content


def test_post_to_the_list_url_is_still_drfs(anon_client, job, dispatches):
    anon_client.get(LIST_URL)

    response = anon_client.post(LIST_URL, {}, format="json")

    assert response.status_code == 401
    assert dispatches == ["GET", "POST"]


# --- Throttles count the hits answered before DRF -----------------------------------------------


@pytest.fixture
def app_throttles(monkeypatch):
    """The app's throttles on the jobs viewset, whatever THROTTLE_ENABLED says in this run, with
    an anonymous rate of 3 a minute."""
    monkeypatch.setattr(
        JobViewSet,
        "throttle_classes",
        [throttling.AnonRateThrottle, throttling.UserRateThrottle, throttling.ScopedRateThrottle],
    )
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "anon", "3/min")
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "user", "1000/min")


@pytest.mark.parametrize("accept", [None, NEGOTIATED_ACCEPT], ids=["fast-path", "through-drf"])
def test_the_anonymous_throttle_counts_every_request_once(app_throttles, job, dispatches, accept):
    client = APIClient()
    headers = {"HTTP_ACCEPT": accept} if accept else {}

    answers = [client.get(LIST_URL, **headers) for _ in range(4)]

    assert [answer.status_code for answer in answers] == [200, 200, 200, 429]
    assert len(cache.get("throttle_anon_127.0.0.1")) == 3
    # DRF asks every throttle: the general rate passed (and counted) the refused one too.
    assert len(cache.get("throttle_user_127.0.0.1")) == 4
    refused = answers[-1]
    assert int(refused["Retry-After"]) >= 1
    assert "detail" in refused.json()
    # The refusal is DRF's, once: every request but the fast path's hits reached DRF.
    assert len(dispatches) == (2 if accept is None else 4)


def test_a_refusal_before_drf_is_drfs_refusal(app_throttles, job):
    fast_client, drf_client = APIClient(), APIClient(REMOTE_ADDR="10.0.0.2")
    for _ in range(3):
        assert fast_client.get(LIST_URL).status_code == 200
        assert drf_client.get(LIST_URL, HTTP_ACCEPT=NEGOTIATED_ACCEPT).status_code == 200

    fast = fast_client.get(LIST_URL)
    through_drf = drf_client.get(LIST_URL, HTTP_ACCEPT=NEGOTIATED_ACCEPT)

    assert fast.status_code == through_drf.status_code == 429
    assert fast.content == through_drf.content
    assert headers_of(fast) == headers_of(through_drf)
