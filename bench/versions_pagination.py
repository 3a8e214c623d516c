"""Benchmark: the public listing's page 1 and a deep page, v1 (page number, OFFSET) against v2
(keyset cursor), side by side in one run on PostgreSQL.

Each page is built as the API builds it on a cache miss, without the cache:

- v1: `core.api.listings.render_job_list` (one statement: OFFSET rows + the page, and the count
  as a scalar subquery), for page 1 and the page `--depth` rows deep;
- v2: `core.api.versions.cursor.render_keyset_page` for the first page and for the page that
  starts `--depth` rows deep (the cursor a client following `next` links would hold there).

Target (issue 16): the deep v2 page within 2x of v2's page 1. The seeding is `bench/search.py`'s
(its database is kept for the next run).

    .venv/bin/python bench/versions_pagination.py [--jobs 1000000 --depth 100000 --repeats 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

os.environ["DATABASE_URL"] = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/jobboard_bench_versions"
)
os.environ.setdefault("DJANGO_SECRET_KEY", "benchmark-only-key")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jobboard.settings")
os.environ["THROTTLE_ENABLED"] = "false"
os.environ["LISTINGS_CACHE_ENABLED"] = "false"
# Seeding is one INSERT of every job: longer than the API's 30 s bound on a busy machine.
os.environ.setdefault("DATABASE_STATEMENT_TIMEOUT", "900")
os.environ.pop("CELERY_BROKER_URL", None)

from bench import seeding  # noqa: E402
from bench.search import seed  # noqa: E402

PAGE_SIZE = 20
TARGET = 2.0


def timed(build, repeats: int) -> tuple[float, object]:
    """Median milliseconds of `repeats` builds (after one untimed warm-up), and the last result."""
    result = build()
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        result = build()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples), result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=1_000_000)
    parser.add_argument("--depth", type=int, default=100_000, help="rows before the deep page")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()

    seeding.ensure_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    import orjson
    from django.core.management import call_command

    from core.api import listings
    from core.api.versions import cursor
    from core.jobs.models import Job
    from core.jobs.selectors import JobListFilters, keyset_ordering, open_job_rows_after
    from core.outbox import events

    events.set_publisher(None)
    call_command("migrate", verbosity=0)
    seconds = seed(args.jobs)
    open_jobs = Job.objects.open().count()
    print(
        f"{Job.objects.count():,} jobs ({open_jobs:,} open); seeding: "
        + (f"{seconds:.0f} s this run" if seconds is not None else "reused from an earlier run")
    )
    if args.depth + PAGE_SIZE > open_jobs:
        print(f"FAILED: --depth {args.depth:,} is past the {open_jobs:,} open jobs")
        return 1

    filters = JobListFilters()
    ordering = keyset_ordering(filters)
    deep_page = args.depth // PAGE_SIZE + 1
    # The row just before the deep page: where a client following `next` links would be.
    (edge,) = open_job_rows_after(filters=filters, after=None, backwards=False, limit=args.depth)[
        -1:
    ]
    after = (edge[cursor._COLUMN[ordering]], edge[cursor._ID])

    builds = {
        ("v1 page number", "page 1"): lambda: listings.render_job_list(filters, 1, PAGE_SIZE),
        ("v1 page number", "deep"): lambda: listings.render_job_list(filters, deep_page, PAGE_SIZE),
        ("v2 cursor", "page 1"): lambda: cursor.render_keyset_page(
            filters, ordering, None, False, PAGE_SIZE
        ),
        ("v2 cursor", "deep"): lambda: cursor.render_keyset_page(
            filters, ordering, after, False, PAGE_SIZE
        ),
    }
    results = {key: timed(build, args.repeats) for key, build in builds.items()}

    v1_deep = orjson.loads(results[("v1 page number", "deep")][1].body)["results"]
    v2_deep = orjson.loads(results[("v2 cursor", "deep")][1].body)["results"]
    same = [job["id"] for job in v1_deep] == [job["id"] for job in v2_deep]
    print(
        f"\nGET /api/jobs/ (newest first, {PAGE_SIZE} a page), uncached, median of "
        f"{args.repeats}; deep = {args.depth:,} rows in (v1 page {deep_page:,})"
    )
    print(f"{'':16}{'page 1 ms':>12}{'deep ms':>12}{'deep/page 1':>14}")
    ratios = {}
    for version in ("v1 page number", "v2 cursor"):
        first, deep = results[(version, "page 1")][0], results[(version, "deep")][0]
        ratios[version] = deep / first
        print(f"{version:16}{first:12.2f}{deep:12.2f}{ratios[version]:13.1f}x")
    v1_deep_ms = results[("v1 page number", "deep")][0]
    v2_deep_ms = results[("v2 cursor", "deep")][0]
    print(f"deep page, v1 / v2: {v1_deep_ms / v2_deep_ms:.0f}x")
    print(f"the deep pages hold the same jobs: {same}")
    met = ratios["v2 cursor"] <= TARGET and same
    print(
        f"target (deep v2 page within {TARGET:.0f}x of page 1): "
        + ("met" if met else "MISSED")
        + f" ({ratios['v2 cursor']:.2f}x on {open_jobs:,} open jobs)"
    )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
