"""Benchmark: throughput of the public listing, cached and uncached, against a bare Django view.

One gunicorn (`bench.bare_wsgi`, the production app plus a bench-only `GET /bench/bare/` that
returns a constant JSON body of the listing page's size) serves both endpoints with the same
workers; wrk loads each with the same threads, connections and duration, alternating
bare, listing, bare, listing... every `--slice` seconds after a warm-up, so drift on the machine
falls on both alike. Each round (`--duration` seconds of each) gives the ratio listing ÷ bare;
the verdict is on the median of the rounds.
Targets: `GET /api/jobs/` >= 0.85x the bare view's requests/s with the listings cache on, and
>= 0.15x with it off (`LISTINGS_CACHE_ENABLED=false`: every request builds the page from the
database). `--cache on|off` measures one of them; the default measures both, one gunicorn each.

    .venv/bin/python bench/listings_throughput.py [--cache both --duration 10 --slice 2
                                                    --rounds 2 --connections 8 --threads 2
                                                    --workers 2]

Needs wrk on PATH (`apt-get install -y wrk`), PostgreSQL and Redis. The database named in
DATABASE_URL (default `jobboard_bench_listings`) is created if missing, migrated and re-seeded
with 200 published jobs: never point it at data you want to keep. Redis db 8 is flushed.
Exits 0 when every target measured is met, 3 when one is missed, 1 when the listing is wrong.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/jobboard_bench_listings")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/8")
os.environ.setdefault("DJANGO_SECRET_KEY", "benchmark-only-key")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jobboard.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ["THROTTLE_ENABLED"] = "false"
os.environ["DJANGO_DEBUG"] = "false"
# No broker: seeding records no events, and nothing here should reach RabbitMQ.
os.environ.pop("CELERY_BROKER_URL", None)

from bench.processes import stop_gunicorn  # noqa: E402
from bench.seeding import employer_and_categories, empty_tables, ensure_database  # noqa: E402
from tests.services import free_port  # noqa: E402

RATIO_TARGETS = {"on": 0.85, "off": 0.15}
JOBS = 200
LISTING_PATH = "/api/jobs/"
BARE_PATH = "/bench/bare/"


@dataclass
class WrkResult:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: str


def seed() -> None:
    """200 published jobs in 5 categories, descriptions of a few hundred bytes."""
    from datetime import timedelta

    from django.db import connection
    from django.utils import timezone

    from core.jobs.models import EmploymentType, Job, JobStatus

    with connection.cursor() as cursor:
        empty_tables(cursor)
    employer, categories = employer_and_categories(
        ["Backend", "Frontend", "Data", "Design", "Operations"]
    )
    now = timezone.now()
    types = list(EmploymentType.values)
    Job.objects.bulk_create(
        Job(
            employer=employer,
            category=categories[i % len(categories)],
            title=f"Senior Python Engineer {i}",
            description=(
                "Build and run the services behind a busy job board: Django, PostgreSQL, "
                "Redis and Celery. You will own features end to end, review code, and help "
                "keep p99 latency low. Remote-friendly team across three time zones. "
            )
            * 2,
            company_name=f"Company {i % 37}",
            location=["Berlin", "Lisbon", "Remote", "Toronto", "Nairobi"][i % 5],
            remote=i % 3 == 0,
            employment_type=types[i % len(types)],
            salary_min=50_000 + 1_000 * (i % 40),
            salary_max=90_000 + 1_000 * (i % 40),
            salary_currency="EUR",
            status=JobStatus.PUBLISHED,
            published_at=now - timedelta(minutes=i),
            expires_at=now + timedelta(days=30),
        )
        for i in range(JOBS)
    )


def start_gunicorn(
    port: int, workers: int, body_bytes: int, log_path: Path, *, cache: str
) -> subprocess.Popen:
    gunicorn = Path(sys.executable).with_name("gunicorn")
    env = {
        **os.environ,
        "BENCH_BARE_BODY_BYTES": str(body_bytes),
        "LISTINGS_CACHE_ENABLED": "true" if cache == "on" else "false",
    }
    with log_path.open("ab") as log:
        return subprocess.Popen(
            [
                str(gunicorn),
                "bench.bare_wsgi",
                "--chdir",
                str(ROOT),
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(workers),
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def get(url: str) -> tuple[int, dict[str, str], bytes]:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (loopback only)
        return response.status, dict(response.headers), response.read()


def wait_until_serving(url: str, process: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited with {process.returncode}; see its log")
        try:
            if get(url)[0] == 200:
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"gunicorn did not answer {url} within {timeout:.0f} s")
        time.sleep(0.2)


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(number) * _UNITS_MS[unit]


def run_wrk(
    url: str, args: argparse.Namespace, duration: float, *, script: Path | None = None
) -> WrkResult:
    output = subprocess.run(
        [
            "wrk",
            f"-t{args.threads}",
            f"-c{args.connections}",
            f"-d{duration:g}s",
            "--latency",
            *(["--script", str(script)] if script else []),
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    requests = int(re.search(r"(\d+) requests in", output).group(1))
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", output, re.MULTILINE).group(1))
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", output, re.MULTILINE).group(1))
    errors = "; ".join(
        line.strip() for line in output.splitlines() if "Non-2xx" in line or "Socket errors" in line
    )
    return WrkResult(rps, p50, p99, requests, errors)


def combined(parts: list[WrkResult]) -> WrkResult:
    """Slices of one endpoint's run as one result: all their requests over all their time."""
    requests = sum(part.requests for part in parts)
    seconds = sum(part.requests / part.requests_per_second for part in parts)
    return WrkResult(
        requests / seconds,
        sum(part.p50_ms for part in parts) / len(parts),
        max(part.p99_ms for part in parts),
        requests,
        "; ".join(part.errors for part in parts if part.errors),
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--cache",
        choices=["on", "off", "both"],
        default="both",
        help="the listings cache on (cached hits), off (every request from the database), or both",
    )
    parser.add_argument(
        "--duration", type=float, default=10.0, help="seconds of load per endpoint per round"
    )
    parser.add_argument(
        "--slice",
        type=float,
        default=2.0,
        help="alternate bare and listing every this many seconds within a round (0: one run each)",
    )
    parser.add_argument("--rounds", type=int, default=2, help="bare+listing pairs to alternate")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of warm-up each")
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
    from django.conf import settings
    from django.core.cache import cache
    from django.core.management import call_command
    from django.db import connection

    from core.api import listings
    from core.jobs import selectors
    from core.jobs.models import Job
    from core.outbox import events

    events.set_publisher(None)
    call_command("migrate", verbosity=0)
    seed()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE core_job")  # plans as on a table that has lived a while
    open_jobs = Job.objects.open().count()
    page_size = settings.REST_FRAMEWORK["PAGE_SIZE"]
    reference = listings.render_job_list(selectors.JobListFilters(), 1, page_size)
    body_bytes = len(reference.body)

    log_path = Path(os.environ.get("JOBBOARD_VAR_DIR", ROOT / "var")) / "bench-gunicorn.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    modes = ["on", "off"] if args.cache == "both" else [args.cache]
    verdicts = []
    for mode in modes:
        cache.clear()  # FLUSHDB on Redis db 8, the benchmark's own
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = start_gunicorn(port, args.workers, body_bytes, log_path, cache=mode)
        try:
            wait_until_serving(base + BARE_PATH, server)
            verdict = measure(args, base, mode, open_jobs, page_size, reference.body)
        finally:
            stop_gunicorn(server)
        if verdict is None:
            return 1
        verdicts.append(verdict)
    print()
    for line, _ in verdicts:
        print(line)
    return 0 if all(met for _, met in verdicts) else 3


def verify_listing(
    base: str, mode: str, open_jobs: int, page_size: int, reference: bytes
) -> str | None:
    """None when GET /api/jobs/ is the real listing (served from the cache when it is on, built
    from the database when off), else what is wrong."""
    from django.core.cache import cache

    from core.jobs import listing_cache, selectors

    status, headers, body = get(base + LISTING_PATH)
    if status != 200:
        return f"GET {LISTING_PATH} answered {status}"
    page = json.loads(body)
    if page.get("count") != open_jobs or open_jobs == 0:
        return f"listing count {page.get('count')} != {open_jobs} open jobs seeded"
    if len(page.get("results", [])) != page_size:
        return f"listing has {len(page.get('results', []))} results, expected {page_size}"
    # The stored page's links are host-relative; the answer has them on the host called.
    reference = reference.replace(b'"next":"/', b'"next":"' + base.encode() + b"/")
    if body != reference:
        return "the response differs from the page rendered by the benchmark"
    generation = cache.get(listing_cache.GENERATION_KEY)
    name = listing_cache.job_list_name(selectors.JobListFilters(), 1, page_size)
    entry = cache.get(f"listings:{generation}:{name}")
    if mode == "on":
        if entry is None:
            return "no listing entry in Redis after a GET: the cache is not in use"
        if entry.body.replace(b'"next":"/', b'"next":"' + base.encode() + b"/") != body or (
            headers.get("ETag") != entry.etag
        ):
            return "the response differs from the cached entry in Redis"
    elif generation is not None or entry is not None:
        return "the listings cache was used although LISTINGS_CACHE_ENABLED=false"
    return None


def measure(
    args: argparse.Namespace,
    base: str,
    mode: str,
    open_jobs: int,
    page_size: int,
    reference: bytes,
) -> tuple[str, bool] | None:
    """Alternate bare and listing runs; the verdict line and whether the target is met, or None
    when the listing is not what it should be."""
    name = "cached" if mode == "on" else "uncached"
    problem = verify_listing(base, mode, open_jobs, page_size, reference)
    if problem:
        print(f"FAILED ({name}): {problem}")
        return None
    _, _, bare_body = get(base + BARE_PATH)
    print(
        f"\nlistings cache {mode} (LISTINGS_CACHE_ENABLED={'true' if mode == 'on' else 'false'}); "
        f"gunicorn bench.bare_wsgi: {args.workers} sync workers; wrk -t{args.threads} "
        f"-c{args.connections}, {args.rounds} rounds of {args.duration:g}s per endpoint "
        f"(alternating every {args.slice:g}s) after {args.warmup:g}s warm-up each"
    )
    print(
        f"listing: {open_jobs} open jobs, page 1 = {len(reference)} bytes (checked: the real "
        f"listing, {'served from the Redis entry' if mode == 'on' else 'not cached'}); "
        f"bare body = {len(bare_body)} bytes"
    )

    for path in (BARE_PATH, LISTING_PATH):
        run_wrk(base + path, args, args.warmup)
    runs: dict[str, list[WrkResult]] = {BARE_PATH: [], LISTING_PATH: []}
    slices = max(1, round(args.duration / args.slice)) if args.slice else 1
    for _ in range(args.rounds):
        parts: dict[str, list[WrkResult]] = {BARE_PATH: [], LISTING_PATH: []}
        for _ in range(slices):
            for path in (BARE_PATH, LISTING_PATH):
                parts[path].append(run_wrk(base + path, args, args.duration / slices))
        for path in (BARE_PATH, LISTING_PATH):
            result = combined(parts[path])
            runs[path].append(result)
            print(
                f"  {path:<14} {result.requests_per_second:8.0f} req/s  "
                f"p50 {result.p50_ms:6.2f} ms  p99 {result.p99_ms:6.2f} ms"
                + (f"  [{result.errors}]" if result.errors else "")
            )

    failed = [r.errors for results in runs.values() for r in results if "Non-2xx" in r.errors]
    if failed:
        print(f"FAILED: error responses under load: {failed}")
        return None
    if verify_listing(base, mode, open_jobs, page_size, reference) is not None:
        print("FAILED: the listing changed under load")
        return None

    def summary(path: str) -> tuple[float, float, float]:
        results = runs[path]
        total = sum(r.requests for r in results)
        seconds = sum(r.requests / r.requests_per_second for r in results)
        return (
            total / seconds,
            sum(r.p50_ms for r in results) / len(results),
            sum(r.p99_ms for r in results) / len(results),
        )

    bare_rps, bare_p50, bare_p99 = summary(BARE_PATH)
    listing_rps, listing_p50, listing_p99 = summary(LISTING_PATH)
    ratios = [
        listing.requests_per_second / bare.requests_per_second
        for bare, listing in zip(runs[BARE_PATH], runs[LISTING_PATH], strict=True)
    ]
    ratio = statistics.median(ratios)
    target = RATIO_TARGETS[mode]
    met = ratio >= target
    print(
        f"bare Django view        {bare_rps:8.0f} req/s  p50 {bare_p50:.2f} ms  "
        f"p99 {bare_p99:.2f} ms"
    )
    print(
        f"{name + ' GET /api/jobs/':<23} {listing_rps:8.0f} req/s  p50 {listing_p50:.2f} ms  "
        f"p99 {listing_p99:.2f} ms"
    )
    line = (
        f"{name} / bare = {ratio:.2f}x median of rounds ({', '.join(f'{r:.2f}' for r in ratios)}; "
        f"all runs {listing_rps / bare_rps:.2f}x)   target >= {target}x: "
        f"{'met' if met else 'MISSED'} ({ratio / target:.2f}x the target)"
    )
    print(line)
    return line, met


if __name__ == "__main__":
    sys.exit(main())
