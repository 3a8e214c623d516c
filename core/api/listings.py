"""The public documents of the jobs domain as REST bodies: a job and a category as anyone sees
them, and the listing, job detail and category list rendered to the bytes the listings cache
stores (`core.jobs.listing_cache`) and the views send.

The listings worker (`tasks.listings`) re-warms the cache through `warm`: the one place outside
the REST layer that reaches into it, as the import contracts in `pyproject.toml` declare.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from urllib.parse import urlencode

import orjson
from django.conf import settings
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models import Min
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.cache import get_conditional_response
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request

from core.jobs import listing_cache
from core.jobs.listing_cache import CachedBody
from core.jobs.models import PUBLIC_JOB_FIELDS, Category, Job
from core.jobs.selectors import (
    JobListFilters,
    categories_with_open_job_counts,
    list_open_jobs,
    open_job_rows,
)

# --- Shapes ---------------------------------------------------------------------------------


class CategorySerializer(serializers.ModelSerializer):
    """A category with the number of jobs open in it right now."""

    open_jobs_count = serializers.IntegerField(read_only=True, default=0)

    class Meta:
        model = Category
        fields = ["id", "name", "slug", "open_jobs_count"]
        read_only_fields = fields


class JobSerializer(serializers.ModelSerializer):
    """A job as anyone may see it: no personal data of the employer."""

    category_name = serializers.CharField(source="category.name", read_only=True)
    category_slug = serializers.CharField(source="category.slug", read_only=True)

    class Meta:
        model = Job
        fields = list(PUBLIC_JOB_FIELDS)
        read_only_fields = fields


def _render(data: object, *, valid_until: float) -> CachedBody:
    return CachedBody.of(JSONRenderer().render(data), valid_until=valid_until)


# --- The three cached documents -------------------------------------------------------------


LIST_PATH = "/api/jobs/"


def _page_link(filters: JobListFilters, page: int | None, page_size: int) -> str | None:
    if page is None:
        return None
    params = {k: v for k, v in asdict(filters).items() if v not in ("", None)}
    if isinstance(params.get("remote"), bool):
        params["remote"] = "true" if params["remote"] else "false"
    if page > 1:
        params["page"] = page
    if page_size != settings.REST_FRAMEWORK["PAGE_SIZE"]:
        params["page_size"] = page_size
    query = urlencode(params, doseq=True)
    return LIST_PATH + (f"?{query}" if query else "")


def render_job_list(filters: JobListFilters, page: int | str, page_size: int) -> CachedBody | None:
    """Build one page of the public listing from the database; None for a page that does not exist.

    Links to the next and previous pages are stored host-relative (`/api/jobs/?page=2`), so
    the same bytes serve every host a client may call; `absolute_links` puts the scheme and
    host of each request in front of them as it is answered.
    """
    if page == "last":
        page = _page_count(list_open_jobs(filters=filters).count(), page_size)
    offset = (page - 1) * page_size
    if offset >= 2**63:  # past the end of any listing, and past what OFFSET takes
        return None
    rows, count = open_job_rows(filters=filters, offset=offset, limit=page_size)
    pages = _page_count(count, page_size)
    if page > pages:  # Django's Paginator: only the first page may be empty
        return None
    data = {
        "count": count,
        "next": _page_link(filters, page + 1 if page < pages else None, page_size),
        "previous": _page_link(filters, page - 1 if page > 1 else None, page_size),
        "results": job_items(rows),
    }
    earliest = min((row[_EXPIRES_AT] for row in rows if row[_EXPIRES_AT]), default=None)
    return CachedBody.of(render_json(data), valid_until=listing_cache.valid_until(earliest))


def _page_count(count: int, page_size: int) -> int:
    """Django's `Paginator.num_pages`: one page at least (the first may be empty), no orphans."""
    return max(1, -(-count // page_size))


def _is_datetime(name: str) -> bool:
    try:
        return isinstance(Job._meta.get_field(name), models.DateTimeField)
    except FieldDoesNotExist:  # read through the category
        return False


# The positions, in a row of `open_job_rows` (`PUBLIC_JOB_FIELDS` order), of the date-times.
_DATETIME_COLUMNS = tuple(i for i, name in enumerate(PUBLIC_JOB_FIELDS) if _is_datetime(name))
_EXPIRES_AT = PUBLIC_JOB_FIELDS.index("expires_at")


def job_items(rows: list[tuple]) -> list[dict]:
    """Rows of `selectors.open_job_rows` shaped as `JobSerializer` shapes jobs, without it.

    Every public field is a string, an integer, a boolean or None as the database returns it,
    which is what the serializer's fields return too; date-times are written as DRF writes them
    (ISO 8601 in the current time zone, `Z` for UTC). `tests/core/test_listing_fast_paths.py`
    pins the bytes against the serializer's.
    """
    zone = timezone.get_current_timezone()
    items = []
    for row in rows:
        values = list(row)
        for index in _DATETIME_COLUMNS:
            value = values[index]
            if value is not None:
                text = value.astimezone(zone).isoformat()
                values[index] = text[:-6] + "Z" if text.endswith("+00:00") else text
        items.append(dict(zip(PUBLIC_JOB_FIELDS, values, strict=True)))
    return items


def render_json(data: object) -> bytes:
    """What DRF's `JSONRenderer` writes for plain data (strings, integers, booleans, None, lists
    and dicts): compact, UTF-8, U+2028 and U+2029 escaped; by orjson, byte for byte the same."""
    return (
        orjson.dumps(data).replace(b"\xe2\x80\xa8", b"\\u2028").replace(b"\xe2\x80\xa9", b"\\u2029")
    )


def job_list(filters: JobListFilters, page: int | str, page_size: int) -> CachedBody | None:
    """One page of the public listing, from the cache when possible."""
    return listing_cache.get_or_build(
        listing_cache.job_list_name(filters, page, page_size),
        lambda: render_job_list(filters, page, page_size),
    )


def render_job_detail(job_id: int) -> CachedBody | None:
    """An open job as the public sees it; None when it is not open (not cached)."""
    job = (
        Job.objects.open()
        .select_related("category")
        .defer("search_vector")
        .filter(pk=job_id)
        .first()
    )
    if job is None:
        return None
    return _render(JobSerializer(job).data, valid_until=listing_cache.valid_until(job.expires_at))


def job_detail(job_id: int) -> CachedBody | None:
    """An open job's public representation from the cache; None if the job is not open."""
    if not 0 < job_id < 2**63:
        return None
    return listing_cache.get_or_build(f"job:{job_id}", lambda: render_job_detail(job_id))


def render_categories() -> CachedBody:
    categories = list(categories_with_open_job_counts())
    earliest = Job.objects.open().aggregate(earliest=Min("expires_at"))["earliest"]
    return _render(
        CategorySerializer(categories, many=True).data,
        valid_until=listing_cache.valid_until(earliest),
    )


def categories() -> CachedBody | None:
    """Every category with its open-job count, from the cache when possible."""
    return listing_cache.get_or_build("categories", render_categories)


def cached_response(
    request: HttpRequest | Request, entry: CachedBody, *, body: bytes | None = None
) -> HttpResponse:
    """Send cached bytes as they are (or `body`, what was made of them for this request), or
    304 when the client already holds this version.

    Django's conditional GET (`django.utils.cache`) compares `If-None-Match` with the entry's tag
    (weakly, `*` and lists included); its 304 keeps the `ETag` and `Cache-Control` headers.
    """
    response = HttpResponse(entry.body if body is None else body, content_type="application/json")
    response["ETag"] = entry.etag
    # What `patch_cache_control(response, public=True, max_age=...)` writes on a response that
    # has no Cache-Control yet, without parsing an empty header on every hit.
    max_age = min(entry.max_age(), settings.LISTING_CLIENT_MAX_AGE)
    response["Cache-Control"] = f"public, max-age={max_age}"
    meta = request.META
    if any(header in meta for header in _PRECONDITION_HEADERS):
        return get_conditional_response(request, etag=entry.etag, response=response)
    return response  # what get_conditional_response returns when the request has no precondition


# The top of a stored listing, before its results: `{"count":N,"next":...,"previous":...`. The
# links are the only strings there; a job's text, after it, never holds an unescaped quote.
_RESULTS_KEY = b',"results":'
_RELATIVE_LINKS = ((b'"next":"/', b'"next":"'), (b'"previous":"/', b'"previous":"'))


def absolute_links(body: bytes, request: HttpRequest | Request) -> bytes:
    """A stored listing with its `next` and `previous` links made absolute on the scheme and
    host this request called, as DRF's paginators write them (`request.build_absolute_uri`:
    the `Host` header as `ALLOWED_HOSTS` admits it, the scheme as `SECURE_PROXY_SSL_HEADER`
    says). Only the few bytes before the results are touched; a page with neither link is
    sent as stored.
    """
    end = body.find(_RESULTS_KEY)
    head = body[:end]
    if b'":"/' not in head:
        return body
    origin = f"{request.scheme}://{request.get_host()}".encode()
    for relative, key in _RELATIVE_LINKS:
        head = head.replace(relative, key + origin + b"/", 1)
    return head + body[end:]


def job_list_response(request: HttpRequest | Request, entry: CachedBody) -> HttpResponse:
    """A listing page from its stored bytes: `cached_response` with the links made absolute."""
    return cached_response(request, entry, body=absolute_links(entry.body, request))


_PRECONDITION_HEADERS = (
    "HTTP_IF_MATCH",
    "HTTP_IF_NONE_MATCH",
    "HTTP_IF_MODIFIED_SINCE",
    "HTTP_IF_UNMODIFIED_SINCE",
)


# --- The listing's hit before DRF's dispatch ----------------------------------------------------

# Accept headers for which DRF's content negotiation (one renderer, JSON) always picks JSON: no
# header, anything, JSON, and what common HTTP clients send. Any other value takes DRF's path,
# which negotiates (and may answer 406) as it always did.
PLAIN_ACCEPT = frozenset(
    {"", "*/*", "application/json", "application/json, */*", "application/json, text/plain, */*"}
)


def job_list_alias(query_string: str) -> str:
    """The name under which this process remembers the body it served for a raw query string."""
    return "jobs?" + query_string


def plain_anonymous_get(request: HttpRequest) -> bool:
    """A request the listing's fast path may answer exactly as the DRF view would.

    An anonymous GET (no `Authorization` header: the JWT authentication would find no user) whose
    content negotiation cannot fail or change anything (`PLAIN_ACCEPT`, no `?format=` override).
    """
    meta = request.META
    return (
        request.method == "GET"
        and "HTTP_AUTHORIZATION" not in meta
        and meta.get("HTTP_ACCEPT", "") in PLAIN_ACCEPT
        and "format" not in meta.get("QUERY_STRING", "")
    )


def remembered_job_list(request: HttpRequest) -> CachedBody | None:
    """The page this process already served for this exact query string in the current
    generation (`listing_cache.alias_lookup`), or None: no parsing, no validation, no I/O."""
    alias = job_list_alias(request.META.get("QUERY_STRING", ""))
    entry, _generation = listing_cache.alias_lookup(alias)
    return entry


# --- Warming (the listings worker) --------------------------------------------------------------


def warm(*, job_id: int | None = None, detail_only: bool = False) -> int:
    """Build the most requested documents for the current generation; returns how many.

    The first page of the listing, the first page of each category (by id and by slug), the
    category list, and the detail of `job_id` when given (only that with `detail_only`).
    """
    page_size = settings.REST_FRAMEWORK["PAGE_SIZE"]
    warmed = 0
    plain = JobListFilters()

    def list_key(filters: JobListFilters) -> str:
        return listing_cache.job_list_name(filters, 1, page_size)

    # (names to store under, builder): a category's page is keyed by its id and by its slug.
    documents: list[tuple[list[str], Callable[[], CachedBody | None]]] = []
    if not detail_only:
        documents.append(([list_key(plain)], lambda: render_job_list(plain, 1, page_size)))
        documents.append((["categories"], render_categories))
        for category_id, slug in Category.objects.values_list("id", "slug"):
            by_id = JobListFilters(category=str(category_id))
            by_slug = JobListFilters(category=slug)
            documents.append(
                (
                    [list_key(by_id), list_key(by_slug)],
                    lambda f=by_id: render_job_list(f, 1, page_size),
                )
            )
    if job_id is not None:
        documents.append(([f"job:{job_id}"], lambda: render_job_detail(job_id)))
    generation = listing_cache.current_generation()
    for names, build in documents:
        entry = build()
        if entry is None:
            continue
        for name in names:
            listing_cache.store(name, entry, generation=generation)
        warmed += 1
    return warmed
