"""`manage.py send_job_alerts --frequency daily|weekly`: run one job alert digest now.

The same run as beat's (`tasks.alerts.run_digests`), in this process: each claimed digest is
sent from here, and one that cannot go now (SMTP or the database away) is queued for a worker's
retries. Running it again in the same period sends nothing more: a digest is one per alert and
period (UTC day or ISO week).
"""

from __future__ import annotations

from django.core.management.base import BaseCommand

from core.alerts.models import DIGEST_FREQUENCIES
from tasks.alerts import run_digests, send_now_or_queue


class Command(BaseCommand):
    help = "Send this period's job alert digests of one frequency now (once per period)."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--frequency", required=True, choices=[str(choice) for choice in DIGEST_FREQUENCIES]
        )

    def handle(self, *args, **options) -> None:
        outcomes: dict[str, int] = {}

        def send(digest_id: int) -> None:
            outcome = send_now_or_queue(digest_id)
            outcomes[outcome] = outcomes.get(outcome, 0) + 1

        counts = run_digests(options["frequency"], send=send)
        sent = ", ".join(f"{n} {outcome}" for outcome, n in sorted(outcomes.items())) or "none"
        self.stdout.write(
            f"{options['frequency']} digests: {counts['alerts']} active alert(s), "
            f"{counts['digests']} with new jobs; emails: {sent}."
        )
