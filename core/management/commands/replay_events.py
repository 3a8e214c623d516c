"""`manage.py replay_events`: publish stored outbox events again to every subscriber.

For after an incident in which consumers lost work (a listings cache flushed by hand, a queue
purged): `services.replay_events` marks the events unpublished and relays them, as the admin's
"Publish the selected events again" does. Subscribers are idempotent, so an email already sent
is not sent twice and a listings refresh runs once more. Nothing is replayed unless named: by
event id, or with `--since` (narrowed by `--type`); `--dry-run` shows what would happen.
"""

from __future__ import annotations

import uuid
from collections import Counter

from django.core.management.base import BaseCommand, CommandError

from core.management.reporting import format_time, parse_since, render_table, warn_if_unpublished
from core.outbox import events, selectors, services

# Events reset and relayed per transaction.
BATCH_SIZE = 500


def _event_id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError as exc:
        raise CommandError(f"{value!r} is not an event id (a UUID).") from exc


class Command(BaseCommand):
    help = (
        "Publish stored outbox events again to all their subscribers (which are idempotent). "
        "Select them by id, or with --since (and --type)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("ids", nargs="*", metavar="EVENT_ID", help="Outbox event ids.")
        parser.add_argument(
            "--since",
            metavar="WHEN",
            help="Events that occurred since then: a duration ago (30m, 2h, 7d, 1w) or an ISO "
            "8601 date or time.",
        )
        parser.add_argument(
            "--type",
            dest="event_type",
            choices=sorted(events.EVENT_TYPES),
            help="Only events of this type.",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Show what would be replayed; change nothing."
        )

    def handle(self, *args, **options) -> None:
        ids = [_event_id(value) for value in options["ids"]]
        since = parse_since(options["since"])
        if not (ids or since):
            raise CommandError("Name the events to replay: event ids or --since WHEN.")

        selected = list(
            selectors.outbox_events(
                ids=ids or None, event_type=options["event_type"], since=since
            ).values_list("id", "event_type")
        )
        unknown = sorted(str(i) for i in set(ids) - {event_id for event_id, _ in selected})
        if unknown:
            self.stdout.write(
                self.style.WARNING(
                    f"Not found (pruned, or not of the selection): {', '.join(unknown)}."
                )
            )
        if not selected:
            scope = f" since {format_time(since)}" if since else ""
            self.stdout.write(f"No stored events{scope} to replay.")
            return

        by_type = Counter(event_type for _, event_type in selected)
        if options["dry_run"]:
            self.stdout.write(f"Dry run: would replay {len(selected)} event(s).")
            self.stdout.write(self._table(by_type))
            return

        event_ids = [event_id for event_id, _ in selected]
        replayed = 0
        for start in range(0, len(event_ids), BATCH_SIZE):
            replayed += services.replay_events(event_ids=event_ids[start : start + BATCH_SIZE])
        self.stdout.write(self.style.SUCCESS(f"Replayed {replayed} event(s)."))
        self.stdout.write(self._table(by_type))
        warn_if_unpublished(self, event_ids)

    @staticmethod
    def _table(by_type: Counter) -> str:
        return render_table(["EVENT TYPE", "EVENTS"], sorted(by_type.items()), right=(1,))
