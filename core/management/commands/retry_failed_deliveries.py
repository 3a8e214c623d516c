"""`manage.py retry_failed_deliveries`: send failed emails again, as the admin action does.

Retrying marks the delivery pending and replays its event (`services.retry_failed_deliveries`):
the notification task runs again and sends exactly the emails of that event not sent yet. A
delivery whose event was pruned (`OUTBOX_RETENTION_DAYS`) cannot be retried. Nothing is retried
unless named: by id, by `--since`, or `--all`; `--dry-run` shows what would happen.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from core.management.reporting import format_time, parse_since, warn_if_unpublished
from core.outbox import selectors, services

# Deliveries locked and events replayed per transaction: a large retry holds no lock for long.
BATCH_SIZE = 500


def _listed(ids: list, most: int = 20) -> str:
    shown = ", ".join(str(i) for i in ids[:most])
    return shown + (f", … ({len(ids) - most} more)" if len(ids) > most else "")


class Command(BaseCommand):
    help = (
        "Retry failed email deliveries by replaying their events (the admin's 'Retry the "
        "selected failed deliveries'). Select them by id, with --since, or with --all."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("ids", nargs="*", type=int, metavar="ID", help="Delivery ids.")
        parser.add_argument(
            "--since",
            metavar="WHEN",
            help="Failures since then: a duration ago (30m, 2h, 7d, 1w) or an ISO 8601 date or "
            "time. With ids, only those of them.",
        )
        parser.add_argument("--all", action="store_true", help="Every failed delivery.")
        parser.add_argument(
            "--dry-run", action="store_true", help="Show what would be retried; change nothing."
        )

    def handle(self, *args, **options) -> None:
        ids: list[int] = options["ids"]
        since = parse_since(options["since"])
        if options["all"] and (ids or since):
            raise CommandError("--all retries every failed delivery: give no ids or --since.")
        if not (ids or since or options["all"]):
            raise CommandError("Name the deliveries to retry: ids, --since WHEN or --all.")

        selected = list(
            selectors.failed_deliveries(ids=ids or None, since=since).values_list(
                "id", "event_id", "event_stored"
            )
        )
        not_failed = sorted(set(ids) - {delivery_id for delivery_id, _, _ in selected})
        scope = f" since {format_time(since)}" if since else ""
        if not_failed:
            self.stdout.write(
                self.style.WARNING(
                    f"Left alone, not failed deliveries{scope}: {_listed(not_failed)}."
                )
            )
        if not selected:
            self.stdout.write(f"No failed deliveries{scope} to retry.")
            return

        retryable = [delivery_id for delivery_id, _, stored in selected if stored]
        event_ids = list({event_id for _, event_id, stored in selected if stored})
        if options["dry_run"]:
            self._dry_run(retryable, event_ids, len(selected) - len(retryable))
            return

        retried = missing = 0
        delivery_ids = [delivery_id for delivery_id, _, _ in selected]
        for start in range(0, len(delivery_ids), BATCH_SIZE):
            batch_retried, batch_missing = services.retry_failed_deliveries(
                delivery_ids=delivery_ids[start : start + BATCH_SIZE]
            )
            retried += batch_retried
            missing += batch_missing
        self._summary(retried, missing, event_ids)

    def _dry_run(self, retryable: list[int], event_ids: list, pruned: int) -> None:
        self.stdout.write(
            f"Dry run: would retry {len(retryable)} failed delivery(ies) by publishing their "
            f"{len(event_ids)} event(s) again."
        )
        if retryable:
            self.stdout.write(f"  ids: {_listed(retryable)}")
        if pruned:
            self.stdout.write(
                self.style.WARNING(f"{pruned} cannot be retried: their event was pruned.")
            )

    def _summary(self, retried: int, missing: int, event_ids: list) -> None:
        self.stdout.write(
            self.style.SUCCESS(
                f"Retried {retried} failed delivery(ies): their events were replayed, and only "
                "the emails not sent yet go out."
            )
        )
        if missing:
            self.stdout.write(
                self.style.WARNING(f"{missing} could not be retried: their event was pruned.")
            )
        warn_if_unpublished(self, event_ids)
