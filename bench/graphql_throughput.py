"""Benchmark: the GraphQL query for the first 20 public jobs with their categories against the
uncached REST list of the same page, side by side in one run, and the SQL queries of each.

One gunicorn (the production app, listings cache off so REST builds every page from the
database, throttling off) serves both; wrk loads `GET /api/jobs/` and
`POST /api/graphql/` alternately every `--slice` seconds after a warm-up, so drift on the
machine falls on both alike. The verdict is on the median of the rounds' ratios
GraphQL ÷ REST. Target: >= 0.5. Before the load, both answers are checked to hold the same 20
jobs, and each is run once in this process to count its SQL queries.

    .venv/bin/python bench/graphql_throughput.py [--duration 10 --slice 2 --rounds 2 --connections 8
                                       --threads 2 --workers 2]

Needs wrk on PATH (`apt-get install -y wrk`), PostgreSQL and Redis; seeds the database named in
DATABASE_URL (default `jobboard_bench_listings`, shared with bench/listings_throughput.py) with
200 published jobs: never point it at data you want to keep. Exits 0 when the target is met, 3
when it is missed, 1 when an answer is wrong.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, this file's folder comes first on the path, and this module's name would
# hide graphql-core's package `graphql`.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

# Sets the benchmark's environment (database, Redis db 8, throttling and debug off, no broker).
from bench.listings_throughput import (  # noqa: E402
    BARE_PATH,
    WrkResult,
    combined,
    get,
    run_wrk,
    seed,
    start_gunicorn,
    wait_until_serving,
)
from bench.processes import stop_gunicorn  # noqa: E402
from bench.seeding import ensure_database  # noqa: E402
from tests.services import free_port  # noqa: E402

TARGET = 0.5
PAGE = 20
REST_PATH = f"/api/jobs/?page_size={PAGE}"
GRAPHQL_PATH = "/api/graphql/"
QUERY = """query FirstJobs($first: Int) { jobs(first: $first) { totalCount edges { node {
  id title description companyName location remote employmentType salaryMin salaryMax
  salaryCurrency status createdAt publishedAt expiresAt category { id name slug } } }
  pageInfo { hasNextPage endCursor } } }"""
BODY = json.dumps({"query": QUERY, "variables": {"first": PAGE}})


def post_graphql(base: str) -> dict:
    request = urllib.request.Request(  # noqa: S310 (loopback only)
        base + GRAPHQL_PATH,
        data=BODY.encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return json.loads(response.read())


def same_page(base: str) -> str | None:
    """None when both answers hold the same jobs in the same order, else what differs."""
    status, _, body = get(base + REST_PATH)
    if status != 200:
        return f"REST answered {status}"
    rest_ids = [str(job["id"]) for job in json.loads(body)["results"]]
    answer = post_graphql(base)
    if "errors" in answer:
        return f"GraphQL answered errors: {answer['errors']}"
    graphql_ids = [edge["node"]["id"] for edge in answer["data"]["jobs"]["edges"]]
    if len(rest_ids) != PAGE or graphql_ids != rest_ids:
        return f"the pages differ: REST {rest_ids[:5]}..., GraphQL {graphql_ids[:5]}..."
    return None


def sql_queries() -> tuple[int, int]:
    """The SQL queries of one uncached REST page and of one GraphQL query, in this process."""
    from django.db import connection
    from django.test import Client, override_settings
    from django.test.utils import CaptureQueriesContext

    client = Client()
    counts = []
    with override_settings(LISTINGS_CACHE_ENABLED=False, ALLOWED_HOSTS=["testserver"]):
        for send in (
            lambda: client.get(REST_PATH),
            lambda: client.post(GRAPHQL_PATH, BODY, content_type="application/json"),
        ):
            send()  # warm: the first request of a process loads what it caches
            with CaptureQueriesContext(connection) as captured:
                response = send()
            assert response.status_code == 200, response.content[:300]
            counts.append(len(captured.captured_queries))
    return counts[0], counts[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--duration", type=float, default=10.0, help="seconds per endpoint per round"
    )
    parser.add_argument(
        "--slice", type=float, default=2.0, help="alternate every this many seconds"
    )
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (sync)")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is not on PATH: install it (apt-get install -y wrk) and run again.")
        return 2

    ensure_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from django.core.cache import cache
    from django.core.management import call_command
    from django.db import connection

    from core.outbox import events

    events.set_publisher(None)
    call_command("migrate", verbosity=0)
    seed()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE core_job")
    cache.clear()
    rest_queries, graphql_queries = sql_queries()

    log_path = Path(os.environ.get("JOBBOARD_VAR_DIR", ROOT / "var")) / "bench-gunicorn.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_gunicorn(port, args.workers, 0, log_path, cache="off")
    with tempfile.TemporaryDirectory() as scratch:
        script = Path(scratch) / "graphql.lua"
        script.write_text(
            'wrk.method = "POST"\n'
            'wrk.headers["Content-Type"] = "application/json"\n'
            f"wrk.body = {json.dumps(BODY)}\n"
        )
        try:
            wait_until_serving(base + BARE_PATH, server)
            problem = same_page(base)
            if problem:
                print(f"FAILED: {problem}")
                return 1
            runs = measure(args, base, script)
            problem = same_page(base)
        finally:
            stop_gunicorn(server)
    if runs is None:
        return 1
    if problem:
        print(f"FAILED under load: {problem}")
        return 1

    def rate(results: list[WrkResult]) -> float:
        return sum(r.requests for r in results) / sum(
            r.requests / r.requests_per_second for r in results
        )

    ratios = [
        graphql.requests_per_second / rest.requests_per_second
        for rest, graphql in zip(runs["rest"], runs["graphql"], strict=True)
    ]
    ratio = statistics.median(ratios)
    met = ratio >= TARGET
    print(
        f"uncached GET {REST_PATH:<22} {rate(runs['rest']):8.0f} req/s  {rest_queries} SQL queries"
    )
    print(
        f"POST {GRAPHQL_PATH} jobs(first: {PAGE})  {rate(runs['graphql']):8.0f} req/s  "
        f"{graphql_queries} SQL queries"
    )
    print(
        f"GraphQL / REST = {ratio:.2f}x median of rounds ({', '.join(f'{r:.2f}' for r in ratios)})"
        f"   target >= {TARGET}x: {'met' if met else 'MISSED'}"
    )
    return 0 if met else 3


def measure(args: argparse.Namespace, base: str, script: Path) -> dict[str, list] | None:
    print(
        f"gunicorn: {args.workers} sync workers, listings cache off, throttling off; wrk "
        f"-t{args.threads} -c{args.connections}, {args.rounds} rounds of {args.duration:g}s per "
        f"endpoint (alternating every {args.slice:g}s) after {args.warmup:g}s warm-up each"
    )
    endpoints = {"rest": (base + REST_PATH, None), "graphql": (base + GRAPHQL_PATH, script)}
    for url, lua in endpoints.values():
        run_wrk(url, args, args.warmup, script=lua)
    runs: dict[str, list[WrkResult]] = {"rest": [], "graphql": []}
    slices = max(1, round(args.duration / args.slice)) if args.slice else 1
    for _ in range(args.rounds):
        parts: dict[str, list[WrkResult]] = {"rest": [], "graphql": []}
        for _ in range(slices):
            for name, (url, lua) in endpoints.items():
                parts[name].append(run_wrk(url, args, args.duration / slices, script=lua))
        for name in endpoints:
            result = combined(parts[name])
            runs[name].append(result)
            print(
                f"  {name:<8} {result.requests_per_second:8.0f} req/s  p50 {result.p50_ms:6.2f} ms"
                f"  p99 {result.p99_ms:6.2f} ms" + (f"  [{result.errors}]" if result.errors else "")
            )
    failed = [r.errors for results in runs.values() for r in results if "Non-2xx" in r.errors]
    if failed:
        print(f"FAILED: error responses under load: {failed}")
        return None
    return runs


if __name__ == "__main__":
    sys.exit(main())
