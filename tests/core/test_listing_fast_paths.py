"""The listing's cheap paths answer exactly what the DRF view answers.

A hit of `GET /api/jobs/` is sent before DRF's dispatch (`core.api.jobs._listing_fast_path`):
the same bytes, `ETag`/304, `Cache-Control` and DRF's own headers, and the throttles count it
as before. Requests the fast path must not answer (signed in, unusual `Accept`, `?format=`, a
miss) go through DRF, which is asserted by counting its dispatches.

A page that is not cached is built from plain rows and written by orjson
(`core.api.listings.render_job_list`): byte for byte what Django's Paginator, `JobSerializer` and
DRF's `JSONRenderer` made of the same jobs, for every kind of value, filter, order and page.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.core.paginator import InvalidPage, Paginator
from django.http import QueryDict
from django.utils import timezone
from rest_framework.renderers import JSONRenderer
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from core.api import listings, throttling
from core.api.jobs import JobListQuerySerializer, JobViewSet
from core.api.listings import JobSerializer
from core.jobs import selectors
from core.jobs import services as job_services
from core.jobs.models import Job

LIST_URL = "/api/jobs/"
# Through DRF's negotiation, to the same JSON renderer: DRF answers these itself.
NEGOTIATED_ACCEPT = "application/json;q=0.9"


# The cache on, empty, and no copy of an earlier test left in this process (tests/core/conftest.py).
pytestmark = pytest.mark.usefixtures("listings_cache_on")


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
    """The response's headers but the request id, new for every request, and `RateLimit`, the
    quota left, one less for every request (`RateLimit-Policy` stays: the same on both paths)."""
    return {
        name: value
        for name, value in response.headers.items()
        if name not in ("X-Request-ID", "RateLimit")
    }


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


# --- The uncached page: plain rows and orjson, the serializer's bytes -----------------------------


def serializer_page(filters, page, page_size, origin: str = "") -> bytes | None:
    """The page as it was built before plain rows: Django's Paginator over model instances,
    `JobSerializer` and DRF's `JSONRenderer`. The reference the fast build must equal: its
    links host-relative as stored, or absolute on `origin` as answered."""
    paginator = Paginator(selectors.list_open_jobs(filters=filters), page_size)
    try:
        current = paginator.page(paginator.num_pages if page == "last" else page)
    except InvalidPage:
        return None

    def link(*args) -> str | None:
        relative = listings._page_link(*args)
        return None if relative is None else origin + relative

    data = {
        "count": paginator.count,
        "next": link(
            filters, current.next_page_number() if current.has_next() else None, page_size
        ),
        "previous": link(
            filters, current.previous_page_number() if current.has_previous() else None, page_size
        ),
        "results": JobSerializer(list(current.object_list), many=True).data,
    }
    return JSONRenderer().render(data)


@pytest.fixture
def varied_jobs(make_job, category) -> list[Job]:
    """Jobs that between them take every kind of value the public fields have."""
    design = job_services.create_category(name="Dé­sign & Ünïcode ✓", slug="design")
    jobs = [
        make_job(title="Plain", salary_min=None, salary_max=None, salary_currency=""),
        make_job(
            title='Ünïcode — “quotes”, 日本語, emoji 🚀, line\u2028sep\u2029and "escapes" \\',
            description="Tabs\tnew\nlines\r and control \x01\x1f chars; </script>",
            company_name="Zoë & Co <b>",
            location="Zürich",
            remote=True,
            employment_type="contract",
            category=design,
            salary_min=0,
            salary_max=2_147_483_647,
            salary_currency="CHF",
        ),
        make_job(title="Floor only", salary_min=80_000, remote=False, employment_type="part_time"),
        make_job(title="Closed later", salary_max=50_000, category=design),
    ]
    base = timezone.now() - timedelta(days=2)
    for n, job in enumerate(jobs):
        # Microseconds zero and not, so both ISO forms are written.
        Job.objects.filter(pk=job.pk).update(
            published_at=base + timedelta(hours=n, microseconds=0 if n % 2 else 123_456),
            created_at=base.replace(microsecond=0) + timedelta(minutes=n),
        )
    return jobs


FILTER_CASES = [
    selectors.JobListFilters(),
    selectors.JobListFilters(remote=True),
    selectors.JobListFilters(remote=False),
    selectors.JobListFilters(category="design"),
    selectors.JobListFilters(category="1"),
    selectors.JobListFilters(employment_type="contract"),
    selectors.JobListFilters(location="zür"),
    selectors.JobListFilters(salary_min=60_000),
    selectors.JobListFilters(salary_max=60_000, ordering="salary"),
    selectors.JobListFilters(ordering="-salary"),
    selectors.JobListFilters(ordering="created_at"),
    selectors.JobListFilters(search="plain"),
    selectors.JobListFilters(search="nothing-matches-this"),
    selectors.JobListFilters(search="plain or zürich", ordering="-created_at"),
    selectors.JobListFilters(search="engineer -plain"),
    selectors.JobListFilters(ordering="relevance"),
    selectors.JobListFilters(ordering="published_at"),
    selectors.JobListFilters(location="%"),
    selectors.JobListFilters(location="_"),
    selectors.JobListFilters(location="\\"),
    selectors.JobListFilters(category=str(2**63)),
    selectors.JobListFilters(posted_since=timezone.now() - timedelta(hours=46, minutes=30)),
    selectors.JobListFilters(
        category="design", remote=True, salary_min=0, employment_type="contract", location="z"
    ),
]


@pytest.mark.parametrize("filters", FILTER_CASES, ids=lambda f: repr(f)[15:60])
@pytest.mark.parametrize(("page", "page_size"), [(1, 20), (1, 2), (2, 2), ("last", 3), (9, 2)])
def test_the_page_built_from_rows_is_the_serializers_page_byte_for_byte(
    varied_jobs, filters, page, page_size
):
    expected = serializer_page(filters, page, page_size)
    built = listings.render_job_list(filters, page, page_size)

    if expected is None:
        assert built is None
    else:
        assert built is not None
        assert built.body == expected


def test_every_public_field_is_in_the_built_page(varied_jobs):
    body = json.loads(listings.render_job_list(selectors.JobListFilters(), 1, 20).body)

    assert body["count"] == 4
    assert [set(item) for item in body["results"]] == [set(JobSerializer.Meta.fields)] * 4
    unicode_job = next(item for item in body["results"] if item["remote"])
    assert unicode_job["salary_max"] == 2_147_483_647
    assert unicode_job["category_name"] == "Dé­sign & Ünïcode ✓"


@pytest.mark.parametrize("cache_enabled", [True, False], ids=["cached", "uncached"])
@pytest.mark.parametrize(
    "query",
    [
        "",
        "?page_size=2&page=2",
        "?remote=true",
        "?category=design&ordering=-salary",
        "?search=plain",
    ],
)
def test_the_api_answers_the_serializers_bytes(
    anon_client, varied_jobs, settings, cache_enabled, query
):
    settings.LISTINGS_CACHE_ENABLED = cache_enabled
    params = QueryDict(query.removeprefix("?"))
    serializer = JobListQuerySerializer(data=params)
    assert serializer.is_valid(), serializer.errors
    page_size = int(params.get("page_size", 20))
    # Links absolute on the host the test client calls, as DRF's paginators write them.
    expected = serializer_page(
        serializer.to_filters(), int(params.get("page", 1)), page_size, "http://testserver"
    )

    first = anon_client.get(LIST_URL + query)
    second = anon_client.get(LIST_URL + query)

    assert first.status_code == second.status_code == 200
    assert first.content == second.content == expected
    assert first["ETag"] == second["ETag"]


@pytest.mark.parametrize("cache_enabled", [True, False], ids=["cached", "uncached"])
def test_the_listing_without_the_cache_answers_a_matching_etag_with_304(
    anon_client, job, settings, cache_enabled
):
    settings.LISTINGS_CACHE_ENABLED = cache_enabled
    etag = anon_client.get(LIST_URL)["ETag"]

    response = anon_client.get(LIST_URL, HTTP_IF_NONE_MATCH=etag)

    assert response.status_code == 304
    assert response["ETag"] == etag


def test_one_statement_reads_the_page_and_its_count(
    anon_client, varied_jobs, settings, django_assert_num_queries
):
    settings.LISTINGS_CACHE_ENABLED = False
    with django_assert_num_queries(1):
        page = anon_client.get(LIST_URL, {"page_size": 2})
    assert page.json()["count"] == 4
    # Past the end the page is empty, and the count alone says whether the page exists.
    with django_assert_num_queries(2):
        assert anon_client.get(LIST_URL, {"page": 3, "page_size": 2}).status_code == 404


@pytest.mark.parametrize("page", ["99999999999999999999", str(2**62)])
def test_a_page_far_past_the_end_is_a_404_not_a_database_error(anon_client, job, settings, page):
    settings.LISTINGS_CACHE_ENABLED = False

    response = anon_client.get(LIST_URL, {"page": page})

    assert response.status_code == 404


@pytest.mark.parametrize("query", ["", "?page=1", "?page_size=20", "?page=1&page_size=20"])
def test_an_empty_query_is_the_default_listing(anon_client, varied_jobs, settings, query):
    settings.LISTINGS_CACHE_ENABLED = False
    assert anon_client.get(LIST_URL + query).content == serializer_page(
        selectors.JobListFilters(), 1, 20
    )


@pytest.mark.parametrize(
    ("query", "status", "field"),
    [
        ("?remote=maybe&page=abc", 400, "remote"),
        ("?page_size=0&page=abc", 404, "detail"),  # the page is read before its size
        ("?page=abc", 404, "detail"),
    ],
)
def test_a_bad_query_is_refused_before_a_bad_page(anon_client, job, settings, query, status, field):
    settings.LISTINGS_CACHE_ENABLED = False

    response = anon_client.get(LIST_URL + query)

    assert response.status_code == status
    assert field in response.json()


def test_json_rendering_is_drfs_for_every_character():
    text = "".join(chr(cp) for cp in range(0x110000) if not 0xD800 <= cp <= 0xDFFF)
    data = {"s": text, "n": [0, -1, 2**63 - 1, None, True, False], "e": "", "l": [], "d": {}}

    assert listings.render_json(data) == JSONRenderer().render(data)
