"""The id of the request (or task run) this code is working for, carried in a context variable.

The HTTP middleware binds it for the length of a request, the worker for the length of a task
run; log lines, outbox events and the Celery messages relaying those events pick it up from
here, so one id follows an API call into the emails and cache refreshes it causes.

An id a client or proxy sends in `X-Request-ID` is kept only if it is short and made of a
conservative set of characters: it ends up in log lines, database rows and message headers.
"""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar, Token

HEADER = "X-Request-ID"
MAX_LENGTH = 64
_SAFE = re.compile(rf"[A-Za-z0-9._-]{{1,{MAX_LENGTH}}}")

_current: ContextVar[str | None] = ContextVar("request_id", default=None)


def clean_request_id(value: str | None) -> str | None:
    """`value` if it is acceptable as a request id, else None."""
    if value and _SAFE.fullmatch(value):
        return value
    return None


def new_request_id() -> str:
    """A fresh request id (32 hex digits)."""
    return uuid.uuid4().hex


def current_request_id() -> str | None:
    """The id bound to the running request or task, None outside of both."""
    return _current.get()


def bind_request_id(value: str | None) -> Token:
    """Make `value` the current request id; pass the returned token to `reset_request_id`."""
    return _current.set(value)


def reset_request_id(token: Token | None = None) -> None:
    """Restore the id bound before `token` was taken, or clear it when there is no token."""
    if token is None:
        _current.set(None)
    else:
        _current.reset(token)
