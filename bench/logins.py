"""Benchmark: logins/s of one gunicorn worker with the old hasher (PBKDF2) and the new one
(Argon2id), and the CPU cost of an authenticated request with and without the session
revocation check, each pair side by side in one run, alternating rounds so drift on the
machine falls on both alike. Target: the check adds at most 5 % CPU per request.

    .venv/bin/python bench/logins.py [--duration 5 --rounds 2]

Each hasher gets its own single-worker gunicorn: the new one on the project's settings, the old
one on `bench.settings_pbkdf2` (PBKDF2 first, as before), so the PBKDF2 account is not upgraded
by its first login. The request without the check runs on `bench.settings_without_revocation`
(stock simplejwt authentication). One client logs in (or reads `/api/users/me/`) back to back
(a sync worker serves one request at a time, so more clients would only queue); the worker's
CPU time is read from /proc.

Needs PostgreSQL and Redis. The database named in DATABASE_URL (default `jobboard_bench_logins`)
is created if missing, migrated and emptied: never point it at data you want to keep.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/jobboard_bench_logins")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/9")
os.environ.setdefault("DJANGO_SECRET_KEY", "benchmark-only-key")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jobboard.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ["THROTTLE_ENABLED"] = "false"
os.environ["DJANGO_DEBUG"] = "false"
os.environ["DJANGO_ALLOWED_HOSTS"] = "127.0.0.1"
os.environ.pop("CELERY_BROKER_URL", None)

from bench.processes import stop_gunicorn  # noqa: E402
from bench.seeding import empty_tables, ensure_database  # noqa: E402
from tests.services import free_port  # noqa: E402

PASSWORD = "bench-Pass-2026"  # noqa: S105 (the bench accounts only)
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def seed() -> None:
    import django

    django.setup()
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command
    from django.db import connection

    from core.accounts.models import Role, User

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        empty_tables(cursor)
    for username, hasher in (("bench_pbkdf2", "pbkdf2_sha256"), ("bench_argon2", "argon2")):
        User.objects.create(
            username=username,
            email=f"{username}@bench.test",
            role=Role.JOB_SEEKER,
            password=make_password(PASSWORD, hasher=hasher),
        )


def start_gunicorn(port: int, settings_module: str, log_path: Path) -> subprocess.Popen:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": settings_module}
    with log_path.open("ab") as log:
        return subprocess.Popen(
            [
                str(Path(sys.executable).with_name("gunicorn")),
                "jobboard.wsgi",
                "--chdir",
                str(ROOT),
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "1",
                "--log-level",
                "warning",
                "--control-socket",
                str(log_path.with_suffix(f".{port}.ctl")),
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def request(url: str, body: dict | None = None, token: str | None = None) -> tuple[int, bytes]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, headers=headers)  # noqa: S310 (loopback)
    try:
        with urllib.request.urlopen(req, timeout=30) as response:  # noqa: S310
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def worker_pid(master: subprocess.Popen, timeout: float = 30) -> int:
    deadline = time.monotonic() + timeout
    children = Path(f"/proc/{master.pid}/task/{master.pid}/children")
    while time.monotonic() < deadline:
        pids = children.read_text().split()
        if pids:
            return int(pids[0])
        time.sleep(0.1)
    raise SystemExit("gunicorn started no worker")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime


def wait_until_serving(base: str, process: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited with {process.returncode}; see its log")
        try:
            urllib.request.urlopen(base + "/healthz", timeout=2).read()  # noqa: S310
            return
        except OSError:
            if time.monotonic() > deadline:
                raise SystemExit(f"gunicorn did not answer within {timeout:.0f} s") from None
            time.sleep(0.2)


def login_round(base: str, username: str, pid: int, duration: float) -> tuple[int, float, float]:
    """Log in back to back for `duration` s: (logins, wall seconds, worker CPU seconds)."""
    url = base + "/api/token/"
    cpu_before, started, logins = cpu_seconds(pid), time.monotonic(), 0
    while time.monotonic() - started < duration:
        status, body = request(url, {"username": username, "password": PASSWORD})
        if status != 200:
            raise SystemExit(f"login of {username} answered {status}: {body[:200]!r}")
        logins += 1
    return logins, time.monotonic() - started, cpu_seconds(pid) - cpu_before


def me_round(base: str, access: str, pid: int, duration: float) -> tuple[int, float, float]:
    """Read `/api/users/me/` back to back: (requests, wall seconds, worker CPU seconds)."""
    url = base + "/api/users/me/"
    cpu_before, started, count = cpu_seconds(pid), time.monotonic(), 0
    while time.monotonic() - started < duration:
        status, body = request(url, token=access)
        if status != 200:
            raise SystemExit(f"/api/users/me/ answered {status}: {body[:200]!r}")
        count += 1
    return count, time.monotonic() - started, cpu_seconds(pid) - cpu_before


def check_alone_us(access: str, calls: int = 20000) -> float:
    """CPU per call of the session check itself (a cache hit), timed in this process in ten
    blocks interleaved with nothing else: the median block, in microseconds."""
    from rest_framework_simplejwt.tokens import AccessToken

    from core.accounts.sessions import is_session_open

    token = AccessToken(access)
    session_id, user_id = token["sid"], int(token["user_id"])
    for _ in range(200):  # warm-up; a first miss caches the session as open
        assert is_session_open(session_id=session_id, user_id=user_id)
    blocks = []
    for _ in range(10):
        started = time.process_time()
        for _ in range(calls // 10):
            is_session_open(session_id=session_id, user_id=user_id)
        blocks.append((time.process_time() - started) / (calls // 10))
    return 1e6 * statistics.median(blocks)


def run_pairs(servers: dict, measure, args, rounds: list | None = None) -> dict[str, list[float]]:
    """Alternate the servers for `args.rounds` rounds, in ABBA order (drift of the machine falls
    on both alike); totals per server, and each round's figures appended to `rounds`."""
    totals = {name: [0, 0.0, 0.0] for name in servers}
    for _, base, who, pid in servers.values():
        measure(base, who, pid, 1.0)  # warm-up: imports, connections, caches
    for number in range(args.rounds):
        order = list(servers.items()) if number % 2 == 0 else list(servers.items())[::-1]
        this_round = {}
        for name, (_, base, who, pid) in order:
            this_round[name] = measure(base, who, pid, args.duration)
            for index, value in enumerate(this_round[name]):
                totals[name][index] += value
        if rounds is not None:
            rounds.append(this_round)
    return totals


def start_servers(specs, log_path: Path) -> dict:
    servers = {}
    for name, module, who in specs:
        port = free_port()
        process = start_gunicorn(port, module, log_path)
        base = f"http://127.0.0.1:{port}"
        servers[name] = (process, base, who, None)
        wait_until_serving(base, process)
        servers[name] = (process, base, who, worker_pid(process))
    return servers


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per round")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    ensure_database(os.environ["DATABASE_URL"])
    seed()
    var = Path(os.environ.get("JOBBOARD_VAR_DIR", ROOT / "var"))
    var.mkdir(parents=True, exist_ok=True)
    log_path = var / "bench-logins.log"

    servers = start_servers(
        (
            ("PBKDF2 (old)", "bench.settings_pbkdf2", "bench_pbkdf2"),
            ("Argon2id (new)", "jobboard.settings", "bench_argon2"),
        ),
        log_path,
    )
    try:
        logins = run_pairs(servers, login_round, args)
        base = servers["Argon2id (new)"][1]
        _, body = request(base + "/api/token/", {"username": "bench_argon2", "password": PASSWORD})
        access = json.loads(body)["access"]
    finally:
        for process, *_ in servers.values():
            stop_gunicorn(process)

    servers = start_servers(
        (
            ("without the check", "bench.settings_without_revocation", access),
            ("with the check", "jobboard.settings", access),
        ),
        log_path,
    )
    try:
        read_rounds: list[dict] = []
        reads = run_pairs(servers, me_round, args, read_rounds)
    finally:
        for process, *_ in servers.values():
            stop_gunicorn(process)

    check_us = check_alone_us(access)

    print(f"{'hasher':<18} {'logins':>7} {'logins/s':>9} {'CPU ms/login':>13}")
    rates = {}
    for name, (count, wall, cpu) in logins.items():
        rates[name] = count / wall
        print(f"{name:<18} {count:>7} {rates[name]:>9.1f} {1000 * cpu / count:>13.1f}")
    ratio = rates["Argon2id (new)"] / rates["PBKDF2 (old)"]
    print(f"Argon2id serves {ratio:.2f}x the logins/s of PBKDF2 on one worker\n")

    print(f"{'GET /api/users/me/':<18} {'requests':>8} {'req/s':>7} {'CPU us/request':>15}")
    cost = {}
    for name, (count, wall, cpu) in reads.items():
        cost[name] = 1e6 * cpu / count
        print(f"{name:<18} {count:>8} {count / wall:>7.0f} {cost[name]:>15.0f}")
    extra = cost["with the check"] / cost["without the check"] - 1
    verdict = "within" if extra <= 0.05 else "over"
    print(f"the revocation check adds {100 * extra:+.1f} % CPU per request ({verdict} 5 %)")
    per_round = sorted(
        (r["with the check"][2] / r["with the check"][0])
        / (r["without the check"][2] / r["without the check"][0])
        - 1
        for r in read_rounds
    )
    print(
        "per round (ABBA order): "
        + ", ".join(f"{100 * value:+.1f} %" for value in per_round)
        + f"; median {100 * statistics.median(per_round):+.1f} %"
    )
    share = check_us / cost["without the check"]
    print(
        f"the check alone, timed in this process: {check_us:.0f} us CPU per call, "
        f"{100 * share:.1f} % of a request without it"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
