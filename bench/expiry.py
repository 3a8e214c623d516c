"""Benchmark: expiring 1,000,000 stale postings, set-based against one row at a time.

Each run re-seeds the database in SQL: 1,000,000 published jobs past `expires_at` (the stale set)
and 10,000 open ones that must stay untouched. Then, each in a fresh subprocess so its peak RSS
is its own:

1. the per-row loop on a sample (20,000 by default): for each stale job, in its own
   `transaction.atomic()`, `job.status = "expired"; job.save()` and `record_event(job.expired)`;
   the sample is then made stale again;
2. `core.jobs.expiry.expire_stale_jobs(batch_size=settings.JOB_EXPIRY_BATCH_SIZE)` over all
   1,000,000.

Prints rows/s of each, their ratio (target: batched >= 50x the per-row rows/s) and the peak
RSS of each process. Events are stored in the outbox as in production, but no publisher is set
(`core.outbox.events.set_publisher(None)`), so nothing is sent to a broker.

    .venv/bin/python bench/expiry.py [--stale 1000000 --sample 20000 --open 10000]

The database named in DATABASE_URL (default `jobboard_bench_expiry`) is created if missing and
emptied on every run: never point it at data you want to keep.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/jobboard_bench_expiry")
os.environ.setdefault("DJANGO_SECRET_KEY", "benchmark-only-key")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jobboard.settings")
os.environ["THROTTLE_ENABLED"] = "false"
os.environ.pop("CELERY_BROKER_URL", None)

from bench import seeding  # noqa: E402

SPEEDUP_TARGET = 50.0
CATEGORIES = ["Backend", "Frontend", "Data", "Design", "Operations"]


def setup_django() -> None:
    import django

    django.setup()
    from core.outbox import events

    # tasks.apps sets the outbox relay as publisher; the benchmark measures the database work.
    events.set_publisher(None)


def peak_rss_mib() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def current_rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# --- The two approaches, each run in its own process ------------------------------------------


def expire_per_row(sample: int) -> int:
    """The naive loop: load each stale job, save it, record its event, one transaction per row."""
    from django.db import transaction
    from django.utils import timezone

    from core.jobs.models import Job, JobStatus
    from core.outbox import events

    stale = Job.objects.filter(
        status=JobStatus.PUBLISHED, expires_at__lte=timezone.now(), deleted_at__isnull=True
    ).order_by("expires_at", "id")[:sample]
    done = 0
    for job in stale.iterator():
        with transaction.atomic():
            job.status = JobStatus.EXPIRED
            job.save()
            events.record_event(
                event_type=events.JOB_EXPIRED,
                payload={
                    "job_id": job.pk,
                    "employer_id": job.employer_id,
                    "category_id": job.category_id,
                },
            )
        done += 1
    return done


def expire_batched() -> int:
    from django.conf import settings

    from core.jobs import expiry as services

    return services.expire_stale_jobs(batch_size=settings.JOB_EXPIRY_BATCH_SIZE)


def child(approach: str, sample: int) -> int:
    setup_django()
    from django.db import connection

    connection.ensure_connection()
    baseline = peak_rss_mib()
    rss_before = current_rss_mib()
    started = time.perf_counter()
    rows = expire_per_row(sample) if approach == "per-row" else expire_batched()
    seconds = time.perf_counter() - started
    result = {
        "rows": rows,
        "seconds": seconds,
        "peak_rss_mib": peak_rss_mib(),
        "baseline": baseline,
        "growth": current_rss_mib() - rss_before,
    }
    print(json.dumps(result))
    return 0


def run_child(approach: str, sample: int) -> dict:
    output = subprocess.run(
        [sys.executable, __file__, "--child", approach, "--sample", str(sample)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


# --- Seeding and checks -----------------------------------------------------------------------


def seed(stale: int, open_jobs: int) -> float:
    from django.db import connection, transaction

    started = time.monotonic()
    with connection.cursor() as cursor:
        seeding.empty_tables(cursor)
    employer, categories = seeding.employer_and_categories(CATEGORIES)
    with transaction.atomic(), connection.cursor() as cursor:
        seeding.insert_jobs(
            cursor,
            first=1,
            last=stale + open_jobs,
            employer_id=employer.pk,
            category_ids=[category.pk for category in categories],
            # Rows 1..stale expired in row order (the oldest first, 20 s apart, up to ~8 months
            # ago for a million); the rest are open.
            expires_sql=(
                f"CASE WHEN g <= {int(stale)} "
                f"THEN now() - interval '1 minute' - ({int(stale)} - g) * interval '20 seconds' "
                "ELSE now() + interval '30 days' END"
            ),
        )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE core_job")
    return time.monotonic() - started


def scalar(query: str, params: list | None = None):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(query, params or [])
        return cursor.fetchone()[0]


def counts() -> dict[str, int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(*) FILTER (WHERE status = 'published' AND expires_at <= now()),
                   count(*) FILTER (WHERE status = 'published' AND expires_at > now()),
                   count(*) FILTER (WHERE status = 'expired'),
                   (SELECT count(*) FROM core_outboxevent WHERE event_type = 'job.expired'),
                   (SELECT count(DISTINCT payload->>'job_id') FROM core_outboxevent
                     WHERE event_type = 'job.expired')
              FROM core_job
            """
        )
        row = cursor.fetchone()
    return dict(zip(["stale", "open", "expired", "events", "event_jobs"], row, strict=True))


def claim_plan() -> str:
    """EXPLAIN ANALYZE of the first claim query of expire_stale_jobs, rolled back."""
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from core.jobs import expiry as services
    from core.jobs.models import Job, JobStatus

    stale = Job.objects.filter(
        status=JobStatus.PUBLISHED, expires_at__lte=timezone.now(), deleted_at__isnull=True
    )
    with transaction.atomic():
        with CaptureQueriesContext(connection) as captured:
            services._claim_batch(stale, 1000)
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + captured.captured_queries[-1]["sql"])
            plan = "\n".join("    " + row[0] for row in cursor.fetchall())
        transaction.set_rollback(True)
    return plan


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stale", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=20_000, help="rows for the per-row loop")
    parser.add_argument("--open", type=int, default=10_000, help="open jobs left untouched")
    parser.add_argument("--child", choices=["per-row", "batched"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child, args.sample)

    seeding.ensure_database(os.environ["DATABASE_URL"])
    setup_django()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    print(f"seeding {args.stale:,} stale and {args.open:,} open jobs in SQL...")
    seed_seconds = seed(args.stale, args.open)
    with connection.cursor() as cursor:
        correlation = seeding.physical_correlation(cursor, "expires_at")
    print(
        f"  seeded in {seed_seconds:.0f} s (INSERT ... SELECT, trigger-built search vectors); "
        f"expires_at follows the physical row order (correlation {correlation:.2f})"
    )
    before = counts()
    if before["stale"] != args.stale or before["open"] != args.open:
        print(f"FAILED: seeded {before}")
        return 1
    print(f"claim query of expire_stale_jobs (first batch, rolled back):\n{claim_plan()}")
    print(
        "events: stored in core_outboxevent as in production; no publisher is set "
        "(core.outbox.events.set_publisher(None)), so none is sent to a broker"
    )

    # 1. The per-row loop on a sample, then that sample made stale again.
    per_row = run_child("per-row", args.sample)
    after_per_row = counts()
    if per_row["rows"] != args.sample or after_per_row["events"] != args.sample:
        print(f"FAILED: per-row expired {per_row['rows']}, counts {after_per_row}")
        return 1
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE core_job SET status = 'published' WHERE status = 'expired'; "
            "DELETE FROM core_outboxevent"
        )

    # 2. The service over the whole stale set.
    batched = run_child("batched", 0)
    after = counts()
    problems = []
    if batched["rows"] != args.stale:
        problems.append(f"expire_stale_jobs returned {batched['rows']}, not {args.stale}")
    if after["stale"] != 0 or after["expired"] != args.stale:
        problems.append(f"{after['stale']} still stale, {after['expired']} expired")
    if after["open"] != args.open:
        problems.append(f"open jobs: {after['open']} of {args.open} left open")
    if after["events"] != args.stale or after["event_jobs"] != args.stale:
        problems.append(f"{after['events']} job.expired events for {after['event_jobs']} jobs")

    per_row_rate = per_row["rows"] / per_row["seconds"]
    batched_rate = batched["rows"] / batched["seconds"]
    ratio = batched_rate / per_row_rate
    print(
        f"per-row loop      {per_row['rows']:>9,} rows in {per_row['seconds']:6.1f} s: "
        f"{per_row_rate:9,.0f} rows/s  (1,000,000 would take ~{1e6 / per_row_rate / 60:.0f} min)"
        f"  peak RSS {per_row['peak_rss_mib']:.0f} MiB (after setup {per_row['baseline']:.0f}, "
        f"grew {per_row['growth']:+.1f} MiB during the run)"
    )
    print(
        f"expire_stale_jobs {batched['rows']:>9,} rows in {batched['seconds']:6.1f} s: "
        f"{batched_rate:9,.0f} rows/s  batch_size={settings.JOB_EXPIRY_BATCH_SIZE}"
        f"  peak RSS {batched['peak_rss_mib']:.0f} MiB (after setup {batched['baseline']:.0f}, "
        f"grew {batched['growth']:+.1f} MiB during the run)"
    )
    print(
        f"batched / per-row = {ratio:.0f}x   target >= {SPEEDUP_TARGET:.0f}x: "
        + ("met" if ratio >= SPEEDUP_TARGET else "MISSED")
        + f" ({ratio / SPEEDUP_TARGET:.2f}x the target)"
    )
    print(
        f"checks: {after['expired']:,} expired, {after['stale']} still stale, "
        f"{after['open']:,} open untouched, {after['events']:,} job.expired events for "
        f"{after['event_jobs']:,} distinct jobs"
    )
    if problems:
        print("FAILED: " + "; ".join(problems))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
