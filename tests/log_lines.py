"""Capture what the production log handler would write, as parsed JSON lines."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from jobboard.logs import JsonFormatter, RequestIdFilter


class JsonLines(logging.Handler):
    """A handler configured like the console handler of `LOG_FORMAT=json` that keeps its lines."""

    def __init__(self, level: int = logging.INFO) -> None:
        super().__init__(level)
        self.setFormatter(JsonFormatter())
        self.addFilter(RequestIdFilter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    def parsed(self, logger: str | None = None) -> list[dict]:
        lines = [json.loads(line) for line in self.lines]
        return [line for line in lines if logger is None or line["logger"] == logger]


@contextmanager
def json_log_lines(level: int = logging.INFO) -> Iterator[JsonLines]:
    """Collect every record of at least `level` logged in the block, formatted as JSON."""
    handler = JsonLines(level)
    root = logging.getLogger()
    saved_level = root.level
    root.addHandler(handler)
    root.setLevel(min(level, saved_level))
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(saved_level)
