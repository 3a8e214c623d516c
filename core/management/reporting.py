"""What the operator commands share: reading time arguments, and printing ages and tables.

The commands print for people by default and JSON for scripts (`--json`); these helpers are the
people's side. Times are shown in the project's time zone (UTC), ages rounded to what matters
when reading a backlog ("3m 20s", "2h 05m", "4d 3h").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from core.outbox.models import OutboxEvent

_DURATION = re.compile(r"^(\d+)\s*([smhdw])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_since(value: str | datetime | None, *, option: str = "--since") -> datetime | None:
    """A point in time from `30m`, `2h`, `7d`, `1w` (that long ago) or an ISO 8601 date or time.

    A date means its midnight and a time without an offset is read in the project's time zone.
    Datetimes pass through (callers of `call_command`); unreadable values raise `CommandError`.
    """
    if value is None or isinstance(value, datetime):
        return value
    text = value.strip()
    duration = _DURATION.match(text.lower())
    if duration:
        amount, unit = duration.groups()
        return timezone.now() - timedelta(seconds=int(amount) * _UNIT_SECONDS[unit])
    try:
        moment = parse_datetime(text)
        if moment is None:
            day = parse_date(text)
            moment = datetime(day.year, day.month, day.day) if day else None
    except ValueError:  # well-formed but impossible, such as 2026-02-30
        moment = None
    if moment is None:
        raise CommandError(
            f"{option} {value!r}: give a duration (30m, 2h, 7d, 1w) or an ISO 8601 date or time "
            "(2026-05-01, 2026-05-01T12:00)."
        )
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


def format_time(moment: datetime | None) -> str:
    """`2026-05-01 12:00:00 UTC`, or `-` for no time."""
    if moment is None:
        return "-"
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S %Z")


def format_age(seconds: float) -> str:
    """An age the way an operator reads it: the two largest units, `0s` at least."""
    seconds = max(0, int(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def one_line(text: str, width: int) -> str:
    """The first line of `text`, cut to `width` characters with an ellipsis."""
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= width else line[: width - 1] + "…"


def render_table(
    headers: Sequence[str], rows: Iterable[Sequence[object]], *, right: Iterable[int] = ()
) -> str:
    """A plain-text table: a header line, then one line per row; columns in `right` (indexes)
    are right-aligned (numbers), the others left-aligned. No trailing spaces."""
    cells = [[str(cell) for cell in row] for row in rows]
    widths = [
        max([len(header)] + [len(row[i]) for row in cells]) for i, header in enumerate(headers)
    ]
    right = set(right)

    def line(values: Sequence[str]) -> str:
        padded = [
            value.rjust(width) if i in right else value.ljust(width)
            for i, (value, width) in enumerate(zip(values, widths, strict=True))
        ]
        return "  ".join(padded).rstrip()

    return "\n".join([line(list(headers)), *(line(row) for row in cells)])


def warn_if_unpublished(command: BaseCommand, event_ids: Sequence[object]) -> None:
    """Say how many of `event_ids` still wait in the outbox after a replay or retry.

    The publisher never raises (a broker outage leaves events to beat's sweep), so a command
    that just relayed events has to look to tell the operator whether the broker took them.
    """
    waiting = OutboxEvent.objects.filter(id__in=event_ids, published_at__isnull=True).count()
    if waiting:
        command.stdout.write(
            command.style.WARNING(
                f"{waiting} event(s) wait in the outbox: the broker did not take them now; "
                "the outbox sweep publishes them (see outbox_status)."
            )
        )
