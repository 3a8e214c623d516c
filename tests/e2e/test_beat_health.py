"""The beat container's health check (`manage.py check_beat`) against a real beat process: healthy
while beat runs its schedule, unhealthy soon after it stops.

Needs PostgreSQL and RabbitMQ (see `require_services`); the e2e environment sweeps the outbox
every second (`OUTBOX_SWEEP_SECONDS=1`).
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.e2e.conftest import ROOT, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_check_beat_follows_a_running_and_a_stopped_beat(start_celery, celery_env):
    def check_beat(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "manage.py", "check_beat", *args],
            cwd=ROOT,
            env=celery_env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    never_started = check_beat()
    assert never_started.returncode == 1
    assert "never started" in never_started.stderr

    beat = start_celery("beat")
    # Beat records each run as it sends it, so a limit of a few sweeps is enough.
    wait_until(lambda: check_beat("--max-age", "4").returncode == 0, timeout=30, what="a run")
    running = check_beat()
    assert running.returncode == 0, running.stderr
    assert "beat OK: relay-outbox-sweep ran" in running.stdout
    assert "(limit 32s)" in running.stdout  # two one-second sweeps and the grace

    beat.stop()
    wait_until(
        lambda: check_beat("--max-age", "4").returncode == 1, timeout=30, what="the check to fail"
    )
    stopped = check_beat("--max-age", "4")
    assert "older than the 4s limit" in stopped.stderr
