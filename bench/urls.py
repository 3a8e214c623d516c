"""Bench-only URLconf: the production URLs plus `GET /bench/bare/`, a plain Django view.

The bare view returns a constant JSON body through the same middleware stack as the API, with
no DRF, no cache lookup and no database: the ceiling a cached listing is measured against.
`BENCH_BARE_BODY_BYTES` sets the body's size (the benchmark passes the real listing page's size).
Served only by `bench/bare_wsgi.py`; never part of `jobboard.urls`.
"""

from __future__ import annotations

import json
import os

from django.http import HttpRequest, HttpResponse
from django.urls import path

from jobboard import urls as production

BODY_BYTES = int(os.environ.get("BENCH_BARE_BODY_BYTES", "8000"))


def _constant_body(size: int) -> bytes:
    # Shaped like a listing page (count, links, 20 results) and padded to `size` bytes.
    page = {
        "count": 200,
        "next": "http://localhost:8000/api/jobs/?page=2",
        "previous": None,
        "results": [{"id": i, "title": "Bench job", "description": ""} for i in range(20)],
    }
    base = len(json.dumps(page, separators=(",", ":")).encode())
    padding, extra = divmod(max(0, size - base), 20)
    for i, result in enumerate(page["results"]):
        result["description"] = "x" * (padding + (1 if i < extra else 0))
    return json.dumps(page, separators=(",", ":")).encode()


BODY = _constant_body(BODY_BYTES)


def bare(request: HttpRequest) -> HttpResponse:
    """A constant JSON body: what any Django view costs at the least."""
    return HttpResponse(BODY, content_type="application/json")


urlpatterns = [path("bench/bare/", bare, name="bench-bare"), *production.urlpatterns]

handler400 = production.handler400
handler403 = production.handler403
handler404 = production.handler404
handler500 = production.handler500
