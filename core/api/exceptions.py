"""Error responses: every error is a JSON object, never HTML and never a bare list.

A request that failed because the database is unavailable (down, restarting, not answering
within its bound) answers `503` with `Retry-After` and the code `service_unavailable`: a client
or a load balancer should try again, not report a bug. 500 stays for bugs.
"""

from __future__ import annotations

import sys

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http import JsonResponse
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler, set_rollback

from core.exceptions import DomainError

# What a dependency outage raises once it reaches a view: django.db wraps every psycopg2
# connection error, timeout and cancellation (jobboard/database.py) in these two.
UNAVAILABLE_ERRORS = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = 5
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
    if response is not None and isinstance(response.data, list):
        response.data = {"non_field_errors": response.data}
    return response


def _json_error(status_code: int, detail: str) -> JsonResponse:
    return JsonResponse({"detail": detail}, status=status_code)


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
