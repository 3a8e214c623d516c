"""Log output: one JSON object per line in production, readable lines in the development run.

`LOG_FORMAT` (settings) picks the formatter of the one console handler every process (gunicorn
workers, Celery workers and beat) logs through. Both formats carry the request id bound in
`core.request_id`, added to each record by `RequestIdFilter`. In JSON, the fields a call passes
in `extra=` become fields of the line, so `logger.info("...", extra={"status": 201})` is
searchable as `status`.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from core.request_id import current_request_id

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_RECORD_ATTRIBUTES = frozenset(
    logging.LogRecord("", logging.INFO, "", 0, "", (), None).__dict__
) | {"message", "asctime", "request_id"}

# Extras never written out: Django puts the whole request object on its request-log records,
# and its repr carries the query string. Extras whose name says they hold a secret are masked,
# whoever logs them.
_DROPPED_EXTRAS = frozenset({"request"})
_SECRET_WORDS = ("password", "passwd", "secret", "token", "authorization", "cookie", "api_key")
_SECRET_KEYS = frozenset({"access", "refresh"})


def _is_secret(key: str) -> bool:
    key = key.lower()
    return key in _SECRET_KEYS or any(word in key for word in _SECRET_WORDS)


class RequestIdFilter(logging.Filter):
    """Put the current request id (or None) on every record, as `record.request_id`."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id()
        return True


class TextFormatter(logging.Formatter):
    """The readable line of the development run: time, level, logger, request id, message."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s [%(request_id)s] %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:
        request_id = getattr(record, "request_id", None) or current_request_id() or "-"
        return self._fmt % {**record.__dict__, "request_id": request_id}


class JsonFormatter(logging.Formatter):
    """One JSON object per record: timestamp (UTC, ISO 8601), level, logger, message, request_id,
    the record's extras, and the formatted exception when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or current_request_id(),
        }
        for key, value in record.__dict__.items():
            if key in _RECORD_ATTRIBUTES or key in _DROPPED_EXTRAS or key.startswith("_"):
                continue
            line.setdefault(key, "[redacted]" if _is_secret(key) else value)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exc_info"] = record.exc_text
        if record.stack_info:
            line["stack_info"] = self.formatStack(record.stack_info)
        # default=str: an extra that is not JSON (a datetime, a UUID) is written as its text
        # rather than losing the whole line.
        return json.dumps(line, default=str)
