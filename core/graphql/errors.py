"""The errors a GraphQL client sees: a message meant for it and one `extensions.code`.

The codes are the contract's (`UNAUTHENTICATED`, `FORBIDDEN`, `NOT_FOUND`, `BAD_USER_INPUT`,
`RATE_LIMITED`, `QUERY_TOO_COMPLEX`), plus two for failures that are not the client's: a bug
(`INTERNAL_SERVER_ERROR`, logged with its traceback, never shown) and a database outage
(`SERVICE_UNAVAILABLE`, answered 503 like REST). An exception a resolver did not raise on purpose
never lends its message to the client.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import InterfaceError, OperationalError
from graphql import GraphQLError

logger = logging.getLogger(__name__)

UNAUTHENTICATED = "UNAUTHENTICATED"
FORBIDDEN = "FORBIDDEN"
NOT_FOUND = "NOT_FOUND"
BAD_USER_INPUT = "BAD_USER_INPUT"
RATE_LIMITED = "RATE_LIMITED"
QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"
INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"
SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"

# What a database outage raises once it reaches a resolver (as in `core.api.exceptions`).
UNAVAILABLE_ERRORS = (OperationalError, InterfaceError)
UNAVAILABLE_MESSAGE = (
    "The service is briefly unavailable (its database is not answering). Try again."
)
RETRY_AFTER_SECONDS = 5


class ClientError(GraphQLError):
    """An error a resolver raises on purpose: its message is for the client, with its code."""

    def __init__(self, message: str, code: str, **extensions: Any) -> None:
        super().__init__(message, extensions={"code": code, **extensions})


def unauthenticated() -> ClientError:
    return ClientError("Sign in: send `Authorization: Bearer <access_token>`.", UNAUTHENTICATED)


def forbidden(message: str) -> ClientError:
    return ClientError(message, FORBIDDEN)


def not_found(what: str) -> ClientError:
    return ClientError(f"No {what} with that id.", NOT_FOUND)


def bad_input(message: str, **extensions: Any) -> ClientError:
    return ClientError(message, BAD_USER_INPUT, **extensions)


def is_outage(error: GraphQLError) -> bool:
    return isinstance(error.original_error, UNAVAILABLE_ERRORS)


def format_error(error: GraphQLError) -> dict[str, Any]:
    """The error as the client sees it. A GraphQL error of graphql-core itself (syntax,
    validation, variable coercion) is the client's input; anything else a resolver raised
    by accident is a bug, logged here and answered without its message."""
    original = error.original_error
    if isinstance(error, ClientError) or isinstance(original, ClientError):
        source = original if isinstance(original, ClientError) else error
        formatted = error.formatted
        formatted["message"] = source.message
        formatted["extensions"] = dict(source.extensions or {})
        return formatted
    formatted = error.formatted
    if original is None or not error.path:
        # Raised by graphql-core while parsing, validating or coercing variables (outside any
        # resolver, so about the client's input).
        formatted["extensions"] = {"code": BAD_USER_INPUT, **(error.extensions or {})}
        return formatted
    if isinstance(original, UNAVAILABLE_ERRORS):
        formatted["message"] = UNAVAILABLE_MESSAGE
        formatted["extensions"] = {"code": SERVICE_UNAVAILABLE}
        return formatted
    logger.error(
        "GraphQL resolver failed at %s",
        error.path,
        exc_info=(type(original), original, original.__traceback__),
    )
    formatted["message"] = "Internal server error."
    formatted["extensions"] = {"code": INTERNAL_SERVER_ERROR}
    return formatted
