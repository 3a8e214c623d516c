"""`manage.py webhook_deliveries`: the webhook delivery log for operators, and redelivery.

`list` shows deliveries, newest first, filtered by status, endpoint, employer or age (`--json`
for scripts); `redeliver` sends deliveries again with their `webhook-id` and body, by id or
every failed one since a time. Nothing is redelivered unless named.
"""

from __future__ import annotations

import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from core.management.reporting import format_time, parse_since, render_table
from core.webhooks import services
from core.webhooks.models import WebhookDelivery, WebhookDeliveryStatus


class Command(BaseCommand):
    help = "List webhook deliveries (list) or send some again (redeliver)."

    def add_arguments(self, parser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        listing = sub.add_parser("list", help="Deliveries, newest first.")
        listing.add_argument("--status", choices=WebhookDeliveryStatus.values)
        listing.add_argument("--endpoint", type=int, metavar="ID")
        listing.add_argument("--employer", metavar="USERNAME")
        listing.add_argument("--since", metavar="WHEN", help="30m, 2h, 7d, 1w or ISO 8601.")
        listing.add_argument("--limit", type=int, default=50)
        listing.add_argument("--json", action="store_true")
        again = sub.add_parser("redeliver", help="Send deliveries again (same id and body).")
        again.add_argument("ids", nargs="*", metavar="ID", help="Delivery ids (UUIDs).")
        again.add_argument("--failed-since", metavar="WHEN", help="Every failed one since then.")

    def handle(self, *args, **options) -> None:
        if options["action"] == "list":
            self._list(options)
        else:
            self._redeliver(options)

    def _list(self, options) -> None:
        deliveries = WebhookDelivery.objects.select_related("endpoint__employer").order_by(
            "-created_at"
        )
        if options["status"]:
            deliveries = deliveries.filter(status=options["status"])
        if options["endpoint"]:
            deliveries = deliveries.filter(endpoint_id=options["endpoint"])
        if options["employer"]:
            deliveries = deliveries.filter(endpoint__employer__username=options["employer"])
        if since := parse_since(options["since"]):
            deliveries = deliveries.filter(created_at__gte=since)
        rows = list(deliveries[: max(1, options["limit"])])
        if options["json"]:
            self.stdout.write(
                json.dumps(
                    [
                        {
                            "id": str(d.id),
                            "endpoint_id": d.endpoint_id,
                            "url": d.endpoint.url,
                            "employer": d.endpoint.employer.username,
                            "event_type": d.event_type,
                            "status": d.status,
                            "attempts": d.attempts_count,
                            "created_at": d.created_at.isoformat(),
                            "next_attempt_at": d.next_attempt_at and d.next_attempt_at.isoformat(),
                        }
                        for d in rows
                    ],
                    indent=2,
                )
            )
            return
        if not rows:
            self.stdout.write("No webhook deliveries match.")
            return
        self.stdout.write(
            render_table(
                ["id", "event", "status", "attempts", "endpoint", "created", "next attempt"],
                [
                    (
                        d.id,
                        d.event_type,
                        d.status,
                        d.attempts_count,
                        f"{d.endpoint_id} {d.endpoint.url}",
                        format_time(d.created_at),
                        format_time(d.next_attempt_at),
                    )
                    for d in rows
                ],
                right=[3],
            )
        )

    def _redeliver(self, options) -> None:
        ids, since = options["ids"], parse_since(options["failed_since"], option="--failed-since")
        if not ids and not since:
            raise CommandError("Name the deliveries: ids, or --failed-since WHEN.")
        selected = WebhookDelivery.objects.all()
        try:
            if ids:
                selected = selected.filter(pk__in=ids)
            if since:
                selected = selected.filter(
                    status=WebhookDeliveryStatus.FAILED, created_at__gte=since
                )
            found = list(selected.values_list("id", flat=True))
        except ValidationError as exc:
            raise CommandError(f"Delivery ids are UUIDs: {', '.join(exc.messages)}") from exc
        missing = sorted(set(ids) - {str(i) for i in found})
        if missing:
            self.stdout.write(f"Not found: {', '.join(missing)}")
        done, skipped = services.redeliver_many(delivery_ids=found)
        self.stdout.write(f"Redelivered {done} delivery(ies).")
        if skipped:
            self.stdout.write(f"Skipped {skipped}: their endpoint is disabled.")
