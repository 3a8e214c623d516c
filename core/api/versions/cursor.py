"""v2's public job listing: keyset (cursor) pages for the date orderings.

v1 pages by number, so page N costs an OFFSET of N x size rows and a COUNT. For the orderings a
keyset can follow (`selectors.KEYSET_ORDERINGS`: newest first, the default, and the other date
orders, each with the id as tie-breaker), v2 answers

    {"next": url | null, "previous": url | null, "results": [...]}

where `next` and `previous` carry an opaque `cursor` (the ordering, the edge row's date and id,
the direction). A page starts at its cursor in the listing's index however deep it is, and a
job published while a client pages is neither skipped nor repeated: a row's position does not
depend on how many rows come before it. No count. Relevance (a search) and salary orderings keep
v1's page numbers, with v2 links.

Pages are cached like v1's (`core.jobs.listing_cache`): under a name of their own (`v2:` and
the cursor), so invalidated by the same generation bump on every write, and valid only until
the first job on them expires.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import orjson
from rest_framework.exceptions import NotFound, ValidationError

from core.api import listings
from core.jobs import listing_cache
from core.jobs.listing_cache import CachedBody
from core.jobs.models import PUBLIC_JOB_FIELDS
from core.jobs.selectors import KEYSET_ORDERINGS, keyset_ordering, open_job_rows_after

CURSOR_PARAM = "cursor"
CURSOR_MAX_LENGTH = 256  # a cursor is about 100 characters; a longer one is not one of ours
V2_LISTING_PATH = "/api/v2/jobs/"
_ID = PUBLIC_JOB_FIELDS.index("id")
_EXPIRES_AT = PUBLIC_JOB_FIELDS.index("expires_at")
_COLUMN = {name: PUBLIC_JOB_FIELDS.index(column) for name, (column, _) in KEYSET_ORDERINGS.items()}


def encode_cursor(ordering: str, row: tuple, *, backwards: bool) -> str:
    payload = [ordering, row[_COLUMN[ordering]].isoformat(), row[_ID], int(backwards)]
    return base64.urlsafe_b64encode(orjson.dumps(payload)).rstrip(b"=").decode()


def decode_cursor(raw: str, ordering: str) -> tuple[tuple[datetime, int], bool]:
    """`(date, id)` of the edge row and the direction; a field error for anything else (a
    cursor of another ordering included)."""
    try:
        if len(raw) > CURSOR_MAX_LENGTH:
            raise ValueError(raw)
        text = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
        name, value, job_id, backwards = orjson.loads(text)
        moment = datetime.fromisoformat(value)
        valid = (
            name == ordering
            and moment.tzinfo is not None
            and type(job_id) is int
            and 0 < job_id < 2**63
            and backwards in (0, 1)
        )
    except (binascii.Error, ValueError, TypeError, orjson.JSONDecodeError):
        valid = False
    if not valid:
        raise ValidationError(
            {CURSOR_PARAM: ["Invalid cursor: use the `next` or `previous` link of a page."]}
        )
    return (moment, job_id), bool(backwards)


def _v2_link(v1_link: str | None, **params: str) -> str | None:
    """A link of v1's listing re-pointed at v2's path, with `params` added."""
    if v1_link is None:
        return None
    parts = urlsplit(v1_link)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    query += list(params.items())
    return urlunsplit(parts._replace(path=V2_LISTING_PATH, query=urlencode(query)))


def render_keyset_page(
    filters, ordering: str, after: tuple[datetime, int] | None, backwards: bool, page_size: int
) -> CachedBody:
    rows = open_job_rows_after(
        filters=filters, after=after, backwards=backwards, limit=page_size + 1
    )
    more = len(rows) > page_size  # one row past the page says there is another page
    if more:
        rows = rows[1:] if backwards else rows[:-1]
    base = listings._page_link(filters, 1, page_size)
    has_next = bool(rows) and (more or backwards)
    has_previous = bool(rows) and (more if backwards else after is not None)
    data = {
        "next": _v2_link(base, cursor=encode_cursor(ordering, rows[-1], backwards=False))
        if has_next
        else None,
        "previous": _v2_link(base, cursor=encode_cursor(ordering, rows[0], backwards=True))
        if has_previous
        else None,
        "results": listings.job_items(rows),
    }
    earliest = min((row[_EXPIRES_AT] for row in rows if row[_EXPIRES_AT]), default=None)
    return CachedBody.of(
        listings.render_json(data), valid_until=listing_cache.valid_until(earliest)
    )


def render_numbered_page(filters, page: int | str, page_size: int) -> CachedBody | None:
    """v1's page (a ranked or salary ordering) with its links on v2's path."""
    entry = listings.render_job_list(filters, page, page_size)
    if entry is None:
        return None
    data = orjson.loads(entry.body)
    data["next"] = _v2_link(data["next"])
    data["previous"] = _v2_link(data["previous"])
    return CachedBody.of(listings.render_json(data), valid_until=entry.valid_until)


def job_list(view, request):
    """`GET /api/v2/jobs/`: the view's own query validation, then a keyset or numbered page."""
    filters = view._filters(request)
    ordering = keyset_ordering(filters)
    params = request.query_params
    if ordering is None:
        if CURSOR_PARAM in params:
            raise ValidationError(
                {CURSOR_PARAM: ["A ranked or salary ordering pages by `page`, not by cursor."]}
            )
        page, page_size = view._page_and_size(request)
        name = "v2:" + listing_cache.job_list_name(filters, page, page_size)
        entry = listing_cache.get_or_build(
            name, lambda: render_numbered_page(filters, page, page_size)
        )
        if entry is None:
            raise NotFound("Invalid page.")
        return listings.job_list_response(request, entry)
    if view.paginator.page_query_param in params:
        raise ValidationError(
            {view.paginator.page_query_param: ["This ordering pages by `cursor`, not by number."]}
        )
    raw = params.get(CURSOR_PARAM, "")
    after, backwards = decode_cursor(raw, ordering) if raw else (None, False)
    page_size = view.paginator.get_page_size(request)
    name = "v2:" + listing_cache.job_list_name(filters, f"cursor:{raw}", page_size)
    entry = listing_cache.get_or_build(
        name, lambda: render_keyset_page(filters, ordering, after, backwards, page_size)
    )
    return listings.job_list_response(request, entry)
