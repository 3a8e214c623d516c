"""`manage.py failed_deliveries`: the emails that were given up on, newest failure first.

A delivery is failed after a permanent SMTP refusal or its last retry; its message went to the
dead-letter queue. This lists what an operator needs to decide on a retry: which event and
template, to whom, how many attempts, the last error, and whether the event is still stored
(`retry_failed_deliveries` replays it; a pruned event cannot be replayed).
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from core.management.reporting import format_time, one_line, parse_since, render_table
from core.outbox import selectors


class Command(BaseCommand):
    help = (
        "List failed email deliveries, most recent failure first: event, template, recipient, "
        "attempts, last error and when it failed."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--since",
            metavar="WHEN",
            help="Only failures since then: a duration ago (30m, 2h, 7d, 1w) or an ISO 8601 "
            "date or time.",
        )
        parser.add_argument(
            "--limit",
            type=int,
            default=50,
            help="Show at most this many (default 50; 0 shows all).",
        )
        parser.add_argument(
            "--json", action="store_true", help="Print a JSON array with the full errors."
        )

    def handle(self, *args, **options) -> None:
        since = parse_since(options["since"])
        limit: int = options["limit"]
        if limit < 0:
            raise CommandError("--limit must be 0 (all) or more.")
        failed = selectors.failed_deliveries(since=since)
        total = failed.count()
        shown = list(failed[:limit] if limit else failed)
        if options["json"]:
            self.stdout.write(json.dumps([self._document(d) for d in shown], indent=2))
            return
        scope = f" since {format_time(since)}" if since else ""
        if not total:
            self.stdout.write(f"No failed deliveries{scope}.")
            return
        more = f"; the newest {len(shown)} shown (--limit)" if len(shown) < total else ""
        self.stdout.write(f"{total} failed delivery(ies){scope}{more}.")
        self.stdout.write("")
        self.stdout.write(
            render_table(
                [
                    "ID",
                    "FAILED AT",
                    "ATTEMPTS",
                    "EVENT",
                    "TEMPLATE",
                    "RECIPIENT",
                    "RETRYABLE",
                    "LAST ERROR",
                ],
                [
                    (
                        delivery.pk,
                        format_time(delivery.updated_at),
                        delivery.attempts,
                        delivery.event_type,
                        delivery.template,
                        delivery.recipient,
                        "yes" if delivery.event_stored else "no (event pruned)",
                        one_line(delivery.last_error, 80),
                    )
                    for delivery in shown
                ],
                right=(0, 2),
            )
        )

    @staticmethod
    def _document(delivery) -> dict:
        return {
            "id": delivery.pk,
            "failed_at": delivery.updated_at.isoformat(),
            "created_at": delivery.created_at.isoformat(),
            "event_id": str(delivery.event_id),
            "event_type": delivery.event_type,
            "template": delivery.template,
            "recipient": delivery.recipient,
            "subject": delivery.subject,
            "attempts": delivery.attempts,
            "last_error": delivery.last_error,
            "retryable": delivery.event_stored,
        }
