"""`manage.py check_beat`: is celery-beat running its schedule? The beat container's health check.

Beat (django-celery-beat's database scheduler) writes each periodic task's `last_run_at` as soon
as it sends it (`beat_sync_every = 1` in worker/celery.py). So a beat that is alive, connected
and ticking has recorded a run of its most frequent task (the outbox sweep, every
`OUTBOX_SWEEP_SECONDS`) within about one of its intervals. The check allows two intervals plus
`GRACE_SECONDS` (beat's loop sleeps up to 5 s; the database may be slow for a moment) and exits
with status 1, saying why, when the newest recorded run is older than that. A process that is
merely alive, or a ping it answers, would not show a scheduler that stopped sending.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

GRACE_SECONDS = 30.0


@dataclass(frozen=True)
class BeatStatus:
    """The newest run beat recorded, and how old a newest run may be."""

    last_task: str | None
    last_run_at: datetime | None
    max_age: timedelta

    def age(self, now: datetime) -> timedelta | None:
        return None if self.last_run_at is None else now - self.last_run_at

    def healthy(self, now: datetime) -> bool:
        age = self.age(now)
        return age is not None and age <= self.max_age


def beat_status(*, max_age: timedelta | None = None) -> BeatStatus:
    """Read the enabled interval tasks: the newest recorded run and, unless given, the allowed
    age (twice the shortest interval plus `GRACE_SECONDS`)."""
    tasks = list(
        PeriodicTask.objects.filter(enabled=True, interval__isnull=False)
        .select_related("interval")
        .only("name", "last_run_at", "interval__every", "interval__period")
    )
    if not tasks:
        raise CommandError(
            "No enabled interval task in the schedule: beat has never started on this "
            "database, or every periodic task was disabled in the admin."
        )
    if max_age is None:
        shortest = min(task.interval.schedule.run_every for task in tasks)
        max_age = 2 * shortest + timedelta(seconds=GRACE_SECONDS)
    ran = [task for task in tasks if task.last_run_at is not None]
    newest = max(ran, key=lambda task: task.last_run_at, default=None)
    return BeatStatus(
        last_task=newest.name if newest else None,
        last_run_at=newest.last_run_at if newest else None,
        max_age=max_age,
    )


class Command(BaseCommand):
    help = (
        "Exit with status 0 when celery-beat has recently sent a periodic task (within twice "
        "the shortest interval of the schedule plus 30 s, or --max-age), 1 otherwise."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--max-age",
            type=float,
            metavar="SECONDS",
            help="How old the newest recorded run may be (default: from the schedule).",
        )

    def handle(self, *args, **options) -> None:
        seconds: float | None = options["max_age"]
        if seconds is not None and seconds <= 0:
            raise CommandError("--max-age must be more than 0 seconds.")
        status = beat_status(max_age=None if seconds is None else timedelta(seconds=seconds))
        now = timezone.now()
        limit = status.max_age.total_seconds()
        age = status.age(now)
        if age is None:
            raise CommandError(f"Beat has not recorded any periodic run yet (limit {limit:g}s).")
        if not status.healthy(now):
            raise CommandError(
                f"Beat's newest recorded run is {status.last_task} "
                f"{age.total_seconds():.1f}s ago, older than the {limit:g}s limit."
            )
        self.stdout.write(
            f"beat OK: {status.last_task} ran {age.total_seconds():.1f}s ago (limit {limit:g}s)."
        )
