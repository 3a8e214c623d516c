"""`manage.py outbox_status`: how far the outbox relay is behind, for people and for monitoring.

Every change stores its event in the outbox; the relay publishes it right after the commit and
beat's sweep publishes whatever an outage left behind. A growing backlog, or an old oldest event,
means the broker or the sweep is not doing its part. With `--max-lag` the command is a check:
it exits with status 2 when the oldest unpublished event is older than that.
"""

from __future__ import annotations

import json
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError

from core.management.reporting import format_age, format_time, render_table
from core.outbox import selectors

LAG_EXCEEDED_STATUS = 2


class Command(BaseCommand):
    help = (
        "Show the outbox backlog: unpublished events, the age of the oldest one, counts per "
        "event type and the recent publish rate. With --max-lag SECONDS, exit with status 2 "
        "when the oldest unpublished event is older than that."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")
        parser.add_argument(
            "--max-lag",
            type=float,
            metavar="SECONDS",
            help="Exit with status 2 when the oldest unpublished event is older than this.",
        )
        parser.add_argument(
            "--window",
            type=int,
            default=5,
            metavar="MINUTES",
            help="Count the events published in the last MINUTES minutes (default 5).",
        )

    def handle(self, *args, **options) -> None:
        max_lag: float | None = options["max_lag"]
        if max_lag is not None and max_lag < 0:
            raise CommandError("--max-lag must be 0 or more seconds.")
        if options["window"] < 1:
            raise CommandError("--window must be at least 1 minute.")
        lag = selectors.outbox_lag(window=timedelta(minutes=options["window"]))
        exceeded = max_lag is not None and lag.lag_seconds > max_lag
        if options["json"]:
            self.stdout.write(json.dumps(self._document(lag, max_lag, exceeded), indent=2))
        else:
            self.stdout.write(self._report(lag))
        if exceeded:
            raise CommandError(
                f"Outbox lag {lag.lag_seconds:.0f}s exceeds --max-lag {max_lag:g}s.",
                returncode=LAG_EXCEEDED_STATUS,
            )

    @staticmethod
    def _document(lag: selectors.OutboxLag, max_lag: float | None, exceeded: bool) -> dict:
        def iso(moment):
            return moment.isoformat() if moment else None

        return {
            "measured_at": iso(lag.measured_at),
            "unpublished": lag.pending,
            "oldest_unpublished_at": iso(lag.oldest_occurred_at),
            "lag_seconds": round(lag.lag_seconds, 3),
            "window_seconds": int(lag.window.total_seconds()),
            "published_in_window": lag.published_in_window,
            "publish_rate_per_second": round(lag.publish_rate_per_second, 3),
            "by_type": [
                {
                    "event_type": pending.event_type,
                    "unpublished": pending.count,
                    "oldest_unpublished_at": iso(pending.oldest_occurred_at),
                    "lag_seconds": round(
                        (lag.measured_at - pending.oldest_occurred_at).total_seconds(), 3
                    ),
                    "max_publish_attempts": pending.max_publish_attempts,
                }
                for pending in lag.by_type
            ],
            "max_lag_seconds": max_lag,
            "max_lag_exceeded": exceeded,
        }

    @staticmethod
    def _report(lag: selectors.OutboxLag) -> str:
        minutes = int(lag.window.total_seconds() // 60)
        lines = [f"Outbox at {format_time(lag.measured_at)}"]
        if lag.pending:
            lines += [
                f"  unpublished events:  {lag.pending}",
                f"  oldest unpublished:  {format_age(lag.lag_seconds)} old "
                f"(occurred {format_time(lag.oldest_occurred_at)})",
            ]
        else:
            lines.append("  unpublished events:  0 (the relay is keeping up)")
        lines.append(
            f"  published in the last {minutes} min:  {lag.published_in_window} "
            f"({lag.publish_rate_per_second * 60:.1f}/min)"
        )
        if lag.by_type:
            table = render_table(
                ["EVENT TYPE", "UNPUBLISHED", "OLDEST", "MAX ATTEMPTS"],
                [
                    (
                        pending.event_type,
                        pending.count,
                        format_age((lag.measured_at - pending.oldest_occurred_at).total_seconds()),
                        pending.max_publish_attempts,
                    )
                    for pending in lag.by_type
                ],
                right=(1, 2, 3),
            )
            lines += ["", table]
        return "\n".join(lines)
