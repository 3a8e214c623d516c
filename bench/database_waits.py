"""Benchmark: what the bounded database waits (jobboard/database.py) cost per query.

Every connect and query of a process goes through a psycopg2 wait callback that polls the socket
with a deadline, instead of libpq's own blocking wait. This measures the price on the hot path:
round trips per second through Django's connection with the callback installed and with libpq's
blocking wait, alternating rounds in one run (so drift on the machine falls on both alike), for a
bare `SELECT 1` and for a primary-key read of a user through the ORM.

    .venv/bin/python bench/database_waits.py [--queries 5000 --rounds 5]

Needs PostgreSQL (DATABASE_URL, default the `jobboard_bench_waits` database, created and migrated
if missing). Target: the callback costs at most 5 % of a query.
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

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/jobboard_bench_waits")
os.environ.setdefault("DJANGO_SECRET_KEY", "benchmark-only-key")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jobboard.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ.pop("CELERY_BROKER_URL", None)

from bench.seeding import ensure_database  # noqa: E402

TARGET_OVERHEAD = 0.05


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=5000, help="round trips per round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of each kind")
    args = parser.parse_args()

    ensure_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from psycopg2 import extensions

    from core.accounts.models import User
    from jobboard import database

    call_command("migrate", verbosity=0)
    user, _ = User.objects.get_or_create(username="bench_waits", defaults={"email": "b@x.test"})

    def select_one() -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()

    def orm_read() -> None:
        User.objects.filter(pk=user.pk).only("id").first()

    def rate(query, *, bounded: bool) -> float:
        # A fresh connection per round: the callback also governs how a connection is made.
        connection.close()
        extensions.set_wait_callback(database.wait_with_deadline if bounded else None)
        query()  # connect and warm up
        started = time.perf_counter()
        for _ in range(args.queries):
            query()
        return args.queries / (time.perf_counter() - started)

    print(
        f"{args.rounds} rounds of {args.queries} round trips each, alternating, "
        f"PostgreSQL at {connection.settings_dict['HOST']}:{connection.settings_dict['PORT']}"
    )
    print(f"{'query':10} {'blocking q/s':>13} {'bounded q/s':>12} {'cost':>7} {'µs/query':>9}")
    worst = float("-inf")
    for name, query in (("SELECT 1", select_one), ("ORM read", orm_read)):
        blocking, bounded = [], []
        for _ in range(args.rounds):
            blocking.append(rate(query, bounded=False))
            bounded.append(rate(query, bounded=True))
        b, w = statistics.median(blocking), statistics.median(bounded)
        cost = b / w - 1
        worst = max(worst, cost)
        print(f"{name:10} {b:13,.0f} {w:12,.0f} {cost:7.1%} {(1 / w - 1 / b) * 1e6:9.1f}")
    database.install()
    verdict = "met" if worst <= TARGET_OVERHEAD else "MISSED"
    print(f"worst cost {worst:.1%} of a query; target at most {TARGET_OVERHEAD:.0%}: {verdict}")


if __name__ == "__main__":
    main()
