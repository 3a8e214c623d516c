"""`manage.py check_beat`, the beat container's health check: it passes while beat keeps recording
runs of its most frequent task and fails, saying why, once beat stopped or never started.
(tests/e2e/test_beat_health.py runs it against a real beat.)"""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

pytestmark = pytest.mark.django_db


def periodic_task(name: str, *, every: int, ran_ago: float | None, enabled: bool = True):
    interval, _ = IntervalSchedule.objects.get_or_create(
        every=every, period=IntervalSchedule.SECONDS
    )
    return PeriodicTask.objects.create(
        name=name,
        task=f"tasks.{name}",
        interval=interval,
        enabled=enabled,
        last_run_at=None if ran_ago is None else timezone.now() - timedelta(seconds=ran_ago),
    )


def check_beat(*args: str) -> str:
    out = StringIO()
    call_command("check_beat", *args, stdout=out)
    return out.getvalue()


def test_passes_when_the_most_frequent_task_ran_within_two_intervals_and_the_grace():
    periodic_task("sweep", every=5, ran_ago=3)
    periodic_task("housekeeping", every=3600, ran_ago=1800)

    assert "beat OK: sweep ran" in check_beat()
    assert "(limit 40s)" in check_beat()


def test_fails_when_the_newest_run_is_older_than_the_limit():
    periodic_task("sweep", every=5, ran_ago=45)
    periodic_task("housekeeping", every=3600, ran_ago=1800)

    with pytest.raises(CommandError, match=r"sweep 45\.\ds ago, older than the 40s limit"):
        check_beat()


def test_the_limit_follows_the_shortest_enabled_interval():
    periodic_task("sweep", every=5, ran_ago=100, enabled=False)
    periodic_task("expiry", every=60, ran_ago=100)

    assert "expiry ran" in check_beat()  # 2 x 60 s + 30 s
    with pytest.raises(CommandError):
        check_beat("--max-age", "90")


def test_fails_before_beat_has_recorded_any_run():
    periodic_task("sweep", every=5, ran_ago=None)

    with pytest.raises(CommandError, match="not recorded any periodic run"):
        check_beat()


def test_fails_when_beat_never_wrote_its_schedule():
    with pytest.raises(CommandError, match="never started"):
        check_beat()


def test_rejects_a_limit_that_is_not_positive():
    periodic_task("sweep", every=5, ran_ago=1)

    with pytest.raises(CommandError, match="--max-age"):
        check_beat("--max-age", "0")
