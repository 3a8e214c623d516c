"""Error responses: every error is a JSON object, never HTML and never a bare list.

Every error that is not a list of field errors is `{"detail": ..., "code": ...}`: DRF's own
errors (401 "not provided", 405, 406, 415, 429, a parse error) get the stable code DRF gives
them (`not_authenticated`, `method_not_allowed`, `throttled`, ...), Django's handlers (400, 403,
404, 413 outside DRF) theirs.

A request that failed because the database is unavailable (down, restarting, not answering
within its bound) answers `503` with `Retry-After` and the code `service_unavailable`: a client
or a load balancer should try again, not report a bug. 500 stays for bugs.
"""

from __future__ import annotations

import math
import sys

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http import JsonResponse
from rest_framework import status
from rest_framework.exceptions import APIException, Throttled
from rest_framework.response import Response
from rest_framework.views import exception_handler, set_rollback

from core.exceptions import DomainError

# What a dependency outage raises once it reaches a view: django.db wraps every psycopg2
# connection error, timeout and cancellation (jobboard/database.py) in these two.
UNAVAILABLE_ERRORS = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = 5
# The code of an error whose exception names none of its own (Django's Http404, PermissionDenied).
CODES_BY_STATUS = {
    400: "invalid",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "request_too_large",
    415: "unsupported_media_type",
    429: "throttled",
    500: "server_error",
}
UNAVAILABLE_BODY = {
    "detail": "The service is briefly unavailable (its database is not answering). Try again.",
    "code": "service_unavailable",
}


def api_exception_handler(exc, context):
    """DRF's handler, plus domain errors mapped to their status and code.

    A domain error tied to one field is answered like a serializer error (`{"field": [msg]}`),
    any other as `{"detail": msg, "code": code}`.
    """
    if isinstance(exc, UNAVAILABLE_ERRORS):
        set_rollback()
        return Response(
            UNAVAILABLE_BODY,
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    if isinstance(exc, DomainError):
        if exc.field:
            body = {exc.field: [exc.detail]}
        else:
            body = {"detail": exc.detail, "code": exc.default_code}
        return Response(body, status=exc.status_code, headers=getattr(exc, "headers", None))
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(response.data, list):
        response.data = {"non_field_errors": response.data}
    elif "detail" in response.data and "code" not in response.data:
        response.data["code"] = error_code(exc, response.status_code)
    if isinstance(exc, Throttled):
        # DRF writes `Retry-After: 0` for a wait under a second, and none when no throttle knew.
        response["Retry-After"] = str(max(1, math.ceil(exc.wait or RETRY_AFTER_SECONDS)))
    return response


def error_code(exc: Exception | None, status_code: int) -> str:
    """The stable code of an error: the exception's own (`APIException.get_codes()`), else the
    one of its status."""
    if isinstance(exc, APIException):
        codes = exc.get_codes()
        if isinstance(codes, str):
            return codes
    return CODES_BY_STATUS.get(status_code, "error")


def _json_error(status_code: int, detail: str) -> JsonResponse:
    return JsonResponse(
        {"detail": detail, "code": CODES_BY_STATUS[status_code]}, status=status_code
    )


def bad_request(request, exception=None):
    if isinstance(exception, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return _json_error(
            status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            f"Request body too large (limit {limit} bytes).",
        )
    return _json_error(status.HTTP_400_BAD_REQUEST, "Bad request.")


def permission_denied(request, exception=None):
    return _json_error(status.HTTP_403_FORBIDDEN, "You do not have permission to do this.")


def not_found(request, exception=None):
    return _json_error(status.HTTP_404_NOT_FOUND, "Not found.")


def server_error(request):
    """Django's handler500, called while the exception is being handled: an outage of the
    database outside DRF (the admin, middleware) is a 503 like inside it."""
    if isinstance(sys.exc_info()[1], UNAVAILABLE_ERRORS):
        response = JsonResponse(UNAVAILABLE_BODY, status=status.HTTP_503_SERVICE_UNAVAILABLE)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    return _json_error(status.HTTP_500_INTERNAL_SERVER_ERROR, "Server error.")
