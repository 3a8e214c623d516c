"""Benchmark: uncached job search over 1,000,000 jobs on PostgreSQL, full text against ILIKE.

Compares, per query, the first page as the API builds it (a `Paginator` over the queryset:
`count` plus 20 rows) of

- `core.jobs.selectors.list_open_jobs(filters=JobListFilters(search=word))`: full text on the
  trigger-maintained, GIN-indexed `search_vector`, ranked by relevance; and
- a baseline: the same open-jobs queryset filtered with `ILIKE '%word%'` over title, description,
  company name and location, newest first, same pagination.

Words range from one in nearly every posting to one in about 1 in 1,600; each is searched
several times, interleaved. Target: full text >= 20x faster than ILIKE at p95. Also times page 1
against a deep page (OFFSET) of the plain listing and of a search, and prints the plans.
A search covers the newest `SEARCH_RESULT_LIMIT` (1,000) matches, as the API does.

    .venv/bin/python bench/search.py [--jobs 1000000 --repeats 5 --deep-page 5000]

The database named in DATABASE_URL (default `jobboard_bench_search`) is created if missing and
seeded in SQL (INSERT ... SELECT over generate_series) unless it already holds --jobs jobs; the
seeded data is kept for the next run. Never point it at data you want to keep.
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

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/jobboard_bench_search")
os.environ.setdefault("DJANGO_SECRET_KEY", "benchmark-only-key")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jobboard.settings")
os.environ["THROTTLE_ENABLED"] = "false"
os.environ.pop("CELERY_BROKER_URL", None)

from bench import seeding  # noqa: E402
from bench.stats import percentile  # noqa: E402

P95_SPEEDUP_TARGET = 20.0
PAGE_SIZE = 20
# From nearly every posting to about 1 in 1,600 (word lists: core/wordlists.py).
WORDS = ["team", "engineer", "senior python", "python", "kubernetes", "berlin", "silverfalcon"]
RARE_WORD = "silverfalcon"  # one token, no stemming: both methods must find the same jobs
CATEGORIES = ["Backend", "Frontend", "Data", "Design", "Operations", "Mobile", "Security",
              "Product", "Sales", "Support"]  # fmt: skip


def seed(jobs: int) -> float | None:
    """Seed `jobs` jobs unless they are there already; returns the seconds it took, or None."""
    from django.db import connection, transaction

    from core.jobs.models import Job

    if Job.objects.count() >= jobs:
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE core_job")  # quick on an unchanged table
        return None
    started = time.monotonic()
    with connection.cursor() as cursor:
        seeding.empty_tables(cursor)
    employer, categories = seeding.employer_and_categories(CATEGORIES)
    print(f"seeding {jobs:,} jobs in SQL (the search-vector trigger fills each row)...")
    with transaction.atomic(), connection.cursor() as cursor:
        seeding.insert_jobs(
            cursor,
            first=1,
            last=jobs,
            employer_id=employer.pk,
            category_ids=[category.pk for category in categories],
            # 5 % closed, 5 % past their expiry date, the rest open for at least 30 days more.
            closed_sql="g % 20 = 0",
            expires_sql=(
                "CASE WHEN g % 20 = 1 THEN now() - interval '1 day' "
                "ELSE now() + interval '30 days' + (g % 365) * interval '1 day' END"
            ),
        )
    inserted = time.monotonic()
    with connection.cursor() as cursor:
        # Statistics for the planner, and the visibility map for index-only counts.
        cursor.execute("VACUUM ANALYZE core_job")
    done = time.monotonic()
    print(
        f"  inserted in {inserted - started:.0f} s, VACUUM ANALYZE {done - inserted:.0f} s: "
        f"{jobs / (done - started):,.0f} jobs/s"
    )
    return done - started


def register_ilike() -> None:
    from django.db.models import Field, Lookup

    class ILike(Lookup):
        """`col ILIKE %s` (Django's icontains is UPPER(col) LIKE UPPER(%s) on PostgreSQL)."""

        lookup_name = "bench_ilike"

        def as_sql(self, compiler, connection):
            lhs, lhs_params = self.process_lhs(compiler, connection)
            rhs, rhs_params = self.process_rhs(compiler, connection)
            return f"{lhs} ILIKE {rhs}", [*lhs_params, *rhs_params]

    Field.register_lookup(ILike)


def ilike_jobs(text: str):
    """The baseline: open jobs with every word somewhere in the four searched columns."""
    from django.db.models import Q

    from core.jobs import selectors
    from core.jobs.models import Job

    jobs = Job.objects.open().select_related("category").only(*selectors.LISTED_FIELDS)
    for word in text.split():
        pattern = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        jobs = jobs.filter(
            Q(title__bench_ilike=pattern)
            | Q(description__bench_ilike=pattern)
            | Q(company_name__bench_ilike=pattern)
            | Q(location__bench_ilike=pattern)
        )
    return jobs.order_by(*selectors.ORDERINGS["-published_at"])


def fts_jobs(text: str):
    from core.jobs import selectors

    return selectors.list_open_jobs(filters=selectors.JobListFilters(search=text))


def timed_page(queryset, number: int = 1) -> tuple[float, float, int, list]:
    """A page as the API builds it: (seconds for count, seconds for rows, count, rows)."""
    from django.core.paginator import Paginator

    paginator = Paginator(queryset, PAGE_SIZE)
    started = time.perf_counter()
    count = paginator.count
    counted = time.perf_counter()
    rows = list(paginator.page(min(number, paginator.num_pages)).object_list)
    return counted - started, time.perf_counter() - counted, count, rows


def captured_sql(queryset) -> list[str]:
    """The SQL statements (parameters inlined) of building the first page of `queryset`."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        timed_page(queryset)
    return [query["sql"] for query in captured.captured_queries]


def explain(statement: str, *, analyze: bool = False) -> str:
    from django.db import connection

    options = "ANALYZE, BUFFERS" if analyze else "COSTS"
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN ({options}) {statement}")
        return "\n".join(row[0] for row in cursor.fetchall())


def indent(text: str, prefix: str = "    ") -> str:
    return "\n".join(prefix + line for line in text.splitlines())


def contains_word(job, word: str) -> bool:
    # Full text matches stems ("engineers" for "engineer"); the first 5 letters survive stemming.
    stem = word[:5].lower()
    return any(
        stem in (value or "").lower()
        for value in (job.title, job.description, job.company_name, job.location)
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=5, help="timed searches of each word")
    parser.add_argument("--deep-page", type=int, default=5000)
    args = parser.parse_args()

    seeding.ensure_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from core.jobs import selectors
    from core.jobs.models import Job
    from core.outbox import events

    events.set_publisher(None)
    call_command("migrate", verbosity=0)
    seconds = seed(args.jobs)
    register_ilike()

    total = Job.objects.count()
    open_jobs = Job.objects.open().count()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FILTER (WHERE search_vector IS NULL), "
            "pg_size_pretty(pg_total_relation_size('core_job')), "
            "pg_size_pretty(pg_relation_size('job_search_vector_gin')) FROM core_job"
        )
        missing_vectors, table_size, gin_size = cursor.fetchone()
    print(
        f"{total:,} jobs ({open_jobs:,} open), core_job {table_size} with indexes, "
        f"GIN {gin_size}; seeding: "
        + (f"{seconds:.0f} s this run" if seconds is not None else "reused from an earlier run")
    )
    if missing_vectors:
        print(f"FAILED: {missing_vectors} jobs without a search vector (trigger not firing)")
        return 1

    # Correctness first, and a warm-up of both methods for every word.
    problems = []
    counts: dict[str, tuple[int, int]] = {}
    for word in WORDS:
        _, _, fts_count, fts_rows = timed_page(fts_jobs(word))
        _, _, ilike_count, _ = timed_page(ilike_jobs(word))
        counts[word] = (fts_count, ilike_count)
        if fts_count == 0 or len(fts_rows) != min(PAGE_SIZE, fts_count):
            problems.append(f"{word!r}: {fts_count} matches, {len(fts_rows)} rows on page 1")
        if not all(contains_word(job, part) for job in fts_rows for part in word.split()):
            problems.append(f"{word!r}: a job on page 1 does not contain the word")
    if counts[RARE_WORD][0] != counts[RARE_WORD][1]:
        problems.append(f"{RARE_WORD!r}: full text found {counts[RARE_WORD][0]}, ILIKE "
                        f"{counts[RARE_WORD][1]}")  # fmt: skip
    if problems:
        print("FAILED: " + "; ".join(problems))
        return 1

    times: dict[str, dict[str, list[tuple[float, float]]]] = {"fts": {}, "ilike": {}}
    for repeat in range(args.repeats):
        for word in WORDS:
            # Alternate which method goes first, so neither always finds the other's cache.
            order = [("fts", fts_jobs), ("ilike", ilike_jobs)]
            for method, build in order if repeat % 2 == 0 else order[::-1]:
                count_s, rows_s, _, _ = timed_page(build(word))
                times[method].setdefault(word, []).append((count_s, rows_s))

    print(
        f"\nfirst page (count + {PAGE_SIZE} rows), median of {args.repeats} per word, "
        "count and rows in ms:"
    )
    print(f"  {'search':<15} {'matches':>9}  {'full text':>22}  {'ILIKE':>22}  {'ILIKE/FT':>8}")
    for word in WORDS:
        fts_count, ilike_count = counts[word]
        cells = []
        for method in ("fts", "ilike"):
            samples = times[method][word]
            total_ms = statistics.median(c + r for c, r in samples) * 1000
            count_ms = statistics.median(c for c, _ in samples) * 1000
            rows_ms = statistics.median(r for _, r in samples) * 1000
            cells.append((total_ms, f"{total_ms:7.0f} ({count_ms:5.0f}+{rows_ms:5.0f})"))
        print(
            f"  {word:<15} {fts_count:>9,}  {cells[0][1]:>22}  {cells[1][1]:>22}  "
            f"{cells[1][0] / cells[0][0]:7.1f}x"
            + (f"   (ILIKE matches {ilike_count:,})" if ilike_count != fts_count else "")
        )

    def all_totals(method: str) -> list[float]:
        return [c + r for samples in times[method].values() for c, r in samples]

    fts_all, ilike_all = all_totals("fts"), all_totals("ilike")
    fts_p50, fts_p95 = percentile(fts_all, 0.5), percentile(fts_all, 0.95)
    ilike_p50, ilike_p95 = percentile(ilike_all, 0.5), percentile(ilike_all, 0.95)
    speedup = ilike_p95 / fts_p95
    print(f"\nover all {len(fts_all)} searches of each method:")
    print(f"  full text  p50 {fts_p50 * 1000:7.0f} ms   p95 {fts_p95 * 1000:7.0f} ms")
    print(f"  ILIKE      p50 {ilike_p50 * 1000:7.0f} ms   p95 {ilike_p95 * 1000:7.0f} ms")
    print(
        f"  ILIKE/full text at p95 = {speedup:.1f}x (at p50 {ilike_p50 / fts_p50:.1f}x); "
        f"target >= {P95_SPEEDUP_TARGET:.0f}x: "
        + ("met" if speedup >= P95_SPEEDUP_TARGET else "MISSED")
        + f" ({speedup / P95_SPEEDUP_TARGET:.2f}x the target)"
    )

    if not deep_pages(args, selectors, fts_jobs):
        return 1
    print_plans(fts_jobs, times)
    return 0


def deep_pages(args: argparse.Namespace, selectors, fts_jobs) -> bool:
    """Page 1 against a deep page (OFFSET), for the plain listing and for the broadest search."""
    print(f"\npage 1 against page {args.deep_page:,} (OFFSET), median of 3, ms:")
    broad = WORDS[0]
    for label, build in (
        ("listing", lambda: selectors.list_open_jobs(filters=selectors.JobListFilters())),
        (f"search {broad!r}", lambda: fts_jobs(broad)),
    ):
        results = {}
        for number in (1, args.deep_page):
            samples = [timed_page(build(), number) for _ in range(3)]
            if any(len(rows) != PAGE_SIZE for _, _, _, rows in samples):
                print(f"FAILED: {label} page {number} is not a full page")
                return False
            results[number] = (
                statistics.median(s[0] for s in samples),
                statistics.median(s[1] for s in samples),
            )
        (c1, r1), (cd, rd) = results[1], results[args.deep_page]
        print(
            f"  {label:<18} page 1 {(c1 + r1) * 1000:6.0f} (count {c1 * 1000:.0f} + rows "
            f"{r1 * 1000:.0f})   page {args.deep_page:,} {(cd + rd) * 1000:6.0f} (count "
            f"{cd * 1000:.0f} + rows {rd * 1000:.0f})   deep/first {(cd + rd) / (c1 + r1):.1f}x, "
            f"rows only {rd / r1:.0f}x"
        )
    return True


def print_plans(fts_jobs, times) -> None:
    print("\nplans of the full-text first page (EXPLAIN):")
    for word in WORDS:
        count_sql, page_sql = captured_sql(fts_jobs(word))
        uses = [
            name
            for name, statement in (("count", count_sql), ("page", page_sql))
            if "job_search_vector_gin" in explain(statement)
        ]
        print(
            f"  {word!r:<16} uses job_search_vector_gin in: "
            + (" and ".join(uses) if uses else "neither (the planner chose another path)")
        )
    medium = "python"
    count_sql, page_sql = captured_sql(fts_jobs(medium))
    print(f"\nEXPLAIN of the page query for {medium!r}:\n{indent(explain(page_sql))}")
    slowest = max(times["fts"], key=lambda w: statistics.median(c + r for c, r in times["fts"][w]))
    count_sql, page_sql = captured_sql(fts_jobs(slowest))
    print(f"\nslowest full-text search: {slowest!r}")
    print(f"EXPLAIN ANALYZE of its count:\n{indent(explain(count_sql, analyze=True))}")
    print(f"EXPLAIN ANALYZE of its page:\n{indent(explain(page_sql, analyze=True))}")


if __name__ == "__main__":
    sys.exit(main())
