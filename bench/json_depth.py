"""What the nesting bound costs an ordinary body: DRF's JSON parser against the bounded one.

    .venv/bin/python bench/json_depth.py

Parses the same bodies through `rest_framework.parsers.JSONParser` and the project's
`core.api.parsers.JSONParser` (the depth pre-scan of `core.json_bounds`, then the same `json`),
interleaved in one run, and prints microseconds per parse and the ratio. The bodies: a login, a
job posting, a cover letter of 20 KB, a wide body of 500 short arrays (more brackets than the
bound, so the scan runs), and a body nested 10,000 levels that only the bounded parser refuses.
"""

from __future__ import annotations

import io
import json
import os
import sys
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jobboard.settings")
os.environ.setdefault("DJANGO_DEBUG", "true")

import django

django.setup()

from rest_framework.exceptions import ParseError  # noqa: E402
from rest_framework.parsers import JSONParser as DRFJSONParser  # noqa: E402

from core.api.parsers import JSONParser as BoundedJSONParser  # noqa: E402

BODIES = {
    "login": {"username": "demo_seeker", "password": "demo-Pass-2026"},
    "job posting": {
        "title": "Backend Engineer",
        "description": "Django, PostgreSQL and RabbitMQ. " * 20,
        "company_name": "Acme",
        "location": "Berlin",
        "employment_type": "full_time",
        "category": 1,
    },
    "20 KB cover letter": {"job": 1, "cover_letter": "I would love to. " * 1200},
    "500 short arrays": {"tags": [[i, str(i)] for i in range(500)]},
}


def parse(parser, raw: bytes):
    return parser.parse(io.BytesIO(raw), parser_context={})


def main() -> None:
    drf, bounded = DRFJSONParser(), BoundedJSONParser()
    print(f"{'body':<22}{'bytes':>8}{'DRF µs':>10}{'bounded µs':>12}{'ratio':>8}")
    for name, data in BODIES.items():
        raw = json.dumps(data).encode()
        assert parse(drf, raw) == parse(bounded, raw)
        number = max(200, 2_000_000 // len(raw))
        # Interleaved rounds, best of each: the noise of a shared machine hits both alike.
        drf_best = bounded_best = float("inf")
        for _ in range(5):
            drf_best = min(drf_best, timeit.timeit(lambda raw=raw: parse(drf, raw), number=number))
            bounded_best = min(
                bounded_best, timeit.timeit(lambda raw=raw: parse(bounded, raw), number=number)
            )
        drf_us, bounded_us = drf_best / number * 1e6, bounded_best / number * 1e6
        print(
            f"{name:<22}{len(raw):>8}{drf_us:>10.1f}{bounded_us:>12.1f}{bounded_us / drf_us:>8.2f}"
        )
    deep = b"[" * 10_000 + b"]" * 10_000
    seconds = timeit.timeit(lambda: _refused(bounded, deep), number=200) / 200
    print(
        f"10,000 levels: refused by the bounded parser in {seconds * 1e6:.0f} µs; DRF's parser: ",
        end="",
    )
    try:
        parse(drf, deep)
        print("parsed")
    except RecursionError:
        print("RecursionError (a 500)")


def _refused(parser, raw: bytes) -> None:
    try:
        parse(parser, raw)
    except ParseError:
        return
    raise AssertionError("a deep body was parsed")


if __name__ == "__main__":
    main()
