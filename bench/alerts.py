"""Benchmark: matching one published job against 100,000 job alerts, and a digest run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/jobboard_bench_alerts \\
    .venv/bin/python bench/alerts.py    # --alerts 100000 --jobs 20000 --sample 2000 --digests 5000

Seeds (in SQL) `--jobs` open postings and `--alerts` active instant alerts of mixed filters (a
search word or two, a category, an employment type, a location, remote, a salary floor or
ceiling, each on a share of the alerts), owned by one seeker per ten alerts. Then, side by side:

1. **Matching.** For `--probes` published jobs, the set-based matcher
   (`core.alerts.selectors.instant_alerts_matching`: one statement over every alert) against one
   listing query per alert (`jobs_matching(alert).filter(pk=job).exists()`: the listing's
   queryset for the alert's filters, narrowed to the job). The per-alert path is timed on
   `--sample` alerts per job and scaled to all of them (running 100,000 queries per job would
   take minutes of a shared machine): its per-job figure is the sample's sum times
   alerts / sample.
2. **Digests.** `--digests` of the alerts become daily alerts whose high-water mark is a day
   old, and `tasks.alerts.run_digests` sends their digests to an SMTP sink (aiosmtpd in its own
   process), in this process, as `manage.py send_job_alerts` does: alerts/s, emails/s, and the
   process's peak RSS against its RSS before the run.

The database named in DATABASE_URL is created if missing and emptied first: never point it at
data you want to keep.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/jobboard_bench_alerts")
os.environ.setdefault("DJANGO_SECRET_KEY", "benchmark-only-key")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jobboard.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")

from bench.stats import percentile  # noqa: E402
from tests.services import free_port  # noqa: E402

SPEEDUP_TARGET = 50.0

_ALERTS_SQL = """
INSERT INTO core_jobalert (
    user_id, name, search, category, employment_type, location, remote, salary_min, salary_max,
    frequency, is_active, created_at, updated_at, last_sent_at, digest_through, unsubscribe_key
)
SELECT u.ids[1 + g %% cardinality(u.ids)],
       'Alert ' || g,
       CASE WHEN g %% 10 < 4 THEN skills[1 + (g * 7) %% cardinality(skills)]
            || CASE WHEN g %% 10 = 0 THEN ' ' || skills[1 + (g * 13) %% cardinality(skills)]
                    ELSE '' END
            ELSE '' END,
       CASE WHEN g %% 10 BETWEEN 3 AND 5 THEN slugs[1 + g %% cardinality(slugs)] ELSE '' END,
       CASE WHEN g %% 7 < 2 THEN (ARRAY['full_time', 'part_time', 'contract'])[1 + g %% 3]
            ELSE '' END,
       CASE WHEN g %% 5 < 2 THEN locations[1 + (g * 3) %% cardinality(locations)] ELSE '' END,
       CASE WHEN g %% 9 = 0 THEN g %% 2 = 0 END,
       CASE WHEN g %% 6 = 0 THEN 40000 + (g %% 50) * 1000 END,
       CASE WHEN g %% 11 = 0 THEN 90000 + (g %% 50) * 1000 END,
       'instant', true, now(), now(), NULL, now(), md5(g::text || random()::text)::uuid
  FROM generate_series(1, %(alerts)s) AS g,
       (SELECT array_agg(id) AS ids FROM core_user WHERE role = 'job_seeker') AS u,
       (SELECT %(skills)s::text[] AS skills, %(locations)s::text[] AS locations,
               %(slugs)s::text[] AS slugs) AS lists
"""


def seed(args) -> list[int]:
    from django.db import connection, transaction

    from bench.seeding import employer_and_categories, empty_tables, insert_jobs
    from core.wordlists import FIELDS, LOCATIONS, SKILLS

    with connection.cursor() as cursor:
        empty_tables(cursor)
        cursor.execute("TRUNCATE core_jobalert, core_jobalertdigest CASCADE")
    with transaction.atomic():
        employer, categories = employer_and_categories(FIELDS)
        with connection.cursor() as cursor:
            insert_jobs(
                cursor,
                first=1,
                last=args.jobs,
                employer_id=employer.pk,
                category_ids=[c.pk for c in categories],
                expires_sql="t.published_at + interval '90 days'",
            )
            cursor.execute(
                "INSERT INTO core_user (password, is_superuser, username, first_name, last_name,"
                " email, is_staff, is_active, date_joined, role)"
                " SELECT '!', false, 'seeker' || g, '', '', 'seeker' || g || '@bench.test',"
                " false, true, now(), 'job_seeker' FROM generate_series(1, %s) AS g",
                [max(args.alerts // 10, 1)],
            )
            cursor.execute(
                _ALERTS_SQL,
                {
                    "alerts": args.alerts,
                    "skills": SKILLS,
                    "locations": LOCATIONS,
                    "slugs": [c.slug for c in categories],
                },
            )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
        cursor.execute("SELECT id FROM core_job ORDER BY published_at DESC LIMIT %s", [args.probes])
        return [row[0] for row in cursor.fetchall()]


def bench_matching(args, probe_jobs: list[int]) -> tuple[list[float], list[float], int]:
    from core.alerts import selectors
    from core.alerts.models import JobAlert

    total_alerts = JobAlert.objects.filter(is_active=True, frequency="instant").count()
    sample = list(
        JobAlert.objects.filter(is_active=True, frequency="instant").order_by("?")[: args.sample]
    )
    set_based, per_alert, matches = [], [], 0
    for job_id in probe_jobs:
        started = time.perf_counter()
        matches += len(selectors.instant_alerts_matching(job_id=job_id))
        set_based.append(time.perf_counter() - started)
        started = time.perf_counter()
        for alert in sample:
            selectors.jobs_matching(alert=alert).filter(pk=job_id).exists()
        per_alert.append((time.perf_counter() - started) * total_alerts / len(sample))
    return set_based, per_alert, matches // max(len(probe_jobs), 1)


def bench_digests(args, smtp_port: int) -> dict:
    from django.db import connection

    from core.outbox.models import DeliveryStatus, EmailDelivery
    from tasks import alerts as alert_tasks

    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE core_jobalert SET frequency = 'daily',"
            " digest_through = now() - interval '1 day'"
            " WHERE id IN (SELECT id FROM core_jobalert ORDER BY id LIMIT %s)",
            [args.digests],
        )
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    counts = alert_tasks.run_digests("daily", send=alert_tasks.send_now_or_queue)
    elapsed = time.perf_counter() - started
    rss_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    sent = EmailDelivery.objects.filter(status=DeliveryStatus.SENT).count()
    return {
        **counts,
        "sent": sent,
        "seconds": elapsed,
        "rss_before_mb": rss_before / 1024,
        "rss_peak_mb": rss_peak / 1024,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--alerts", type=int, default=100_000)
    parser.add_argument("--jobs", type=int, default=20_000)
    parser.add_argument("--probes", type=int, default=40, help="published jobs matched")
    parser.add_argument("--sample", type=int, default=2_000, help="alerts queried one by one")
    parser.add_argument("--digests", type=int, default=5_000, help="alerts in the digest run")
    args = parser.parse_args()

    from bench.seeding import ensure_database

    ensure_database(os.environ["DATABASE_URL"])
    smtp_port = free_port()
    os.environ["EMAIL_URL"] = f"smtp://127.0.0.1:{smtp_port}"
    sink = subprocess.Popen(
        [sys.executable, "-m", "aiosmtpd", "-n", "-c", "aiosmtpd.handlers.Sink",
         "-l", f"127.0.0.1:{smtp_port}"],
    )  # fmt: skip
    try:
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        started = time.perf_counter()
        probe_jobs = seed(args)
        seeded = time.perf_counter() - started
        print(f"seeded {args.jobs} jobs and {args.alerts} alerts in {seeded:.0f}s")

        set_based, per_alert, matches = bench_matching(args, probe_jobs)
        p95_set, p95_loop = percentile(set_based, 0.95), percentile(per_alert, 0.95)
        ratio = p95_loop / p95_set
        print(f"\nmatching one published job against {args.alerts} active instant alerts")
        print(f"({len(probe_jobs)} jobs, {matches} matching alerts per job on average)")
        print("| path | p50 | p95 |")
        print("| --- | --- | --- |")
        print(
            f"| set-based, one statement | {percentile(set_based, 0.5) * 1000:.1f} ms"
            f" | {p95_set * 1000:.1f} ms |"
        )
        print(
            f"| one listing query per alert (scaled from {args.sample}) |"
            f" {percentile(per_alert, 0.5):.1f} s | {p95_loop:.1f} s |"
        )
        verdict = "met" if ratio >= SPEEDUP_TARGET else "MISSED"
        print(f"speed-up at p95: {ratio:.0f}x (target >= {SPEEDUP_TARGET:.0f}x: {verdict})")

        digests = bench_digests(args, smtp_port)
        print(f"\ndigest run over {digests['alerts']} daily alerts (SMTP to a local sink)")
        print(
            f"{digests['digests']} digests claimed, {digests['sent']} emails sent in"
            f" {digests['seconds']:.1f}s: {digests['alerts'] / digests['seconds']:.0f} alerts/s,"
            f" {digests['sent'] / digests['seconds']:.0f} emails/s"
        )
        print(
            f"peak RSS {digests['rss_peak_mb']:.0f} MB"
            f" (before the run {digests['rss_before_mb']:.0f} MB)"
        )
        return 0
    finally:
        sink.terminate()
        sink.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
