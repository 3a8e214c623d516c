"""v2's errors: RFC 9457 problem details (`application/problem+json`).

v1 keeps its two error shapes (`{"detail", "code"}` and `{"field": [messages]}`, CONTRACT.md).
v2 answers every error as one object:

    {"type": "about:blank", "title": "Not Found", "status": 404,
     "detail": "Not found.", "code": "not_found"}

with `errors` (the field messages, v1's body) for validation errors. `type` is `about:blank`
(RFC 9457 section 4.2.1: the status says it all, `title` is its phrase); `code` is the
machine-readable reason, the same as v1's.

Nothing here decides an error: `exception_handler` calls the API's handler
(`core.api.exceptions.api_exception_handler`) and reshapes its answer when the request is v2,
and the Django handlers (an unknown `/api/v2/...` path, a body over the size limit) wrap
`core.api.exceptions`' the same way.
"""

from __future__ import annotations

import json
from http import HTTPStatus

from django.http import HttpResponse, JsonResponse
from rest_framework.response import Response

from core.api import exceptions
from core.api.versions import V2, is_v2, version_of_path

CONTENT_TYPE = "application/problem+json"
VALIDATION_DETAIL = "The request has invalid fields; see `errors`."

# A code per status for bodies that carry none (Django's handlers, a field error).
_STATUS_CODES = {
    400: "invalid",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "request_too_large",
    415: "unsupported_media_type",
    429: "throttled",
    500: "error",
    503: "service_unavailable",
}


def problem(status: int, body: object) -> dict:
    """The problem details object for a v1 error body answered with `status`."""
    title = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    document: dict = {"type": "about:blank", "title": title, "status": status}
    if isinstance(body, dict) and set(body) <= {"detail", "code"} and "detail" in body:
        detail = body["detail"]
        document["detail"] = str(detail)
        document["code"] = str(
            body.get("code") or getattr(detail, "code", None) or _STATUS_CODES.get(status, "error")
        )
        return document
    # Field errors: v1's body, whole, under `errors`.
    if isinstance(body, list):
        body = {"non_field_errors": body}
    document["detail"] = VALIDATION_DETAIL
    document["code"] = _first_code(body) or _STATUS_CODES.get(status, "invalid")
    document["errors"] = body
    return document


def _first_code(errors: object) -> str | None:
    """The code of the first field message DRF attached one to (`ErrorDetail.code`)."""
    if isinstance(errors, dict):
        errors = list(errors.values())
    if isinstance(errors, list):
        for item in errors:
            code = getattr(item, "code", None) if isinstance(item, str) else _first_code(item)
            if code:
                return str(code)
    return None


def exception_handler(exc, context):
    """The API's exception handler; for a v2 request its answer as problem details."""
    response = exceptions.api_exception_handler(exc, context)
    request = context.get("request")
    if response is None or not is_v2(request):
        return response
    response.data = problem(response.status_code, response.data)
    response.content_type = CONTENT_TYPE
    return response


def _reshaped(request, response: HttpResponse) -> HttpResponse:
    """A JSON error response of `core.api.exceptions`, as problem details under `/api/v2/`."""
    if version_of_path(request.path) != V2 or isinstance(response, Response):
        return response
    body = json.loads(response.content)
    reshaped = JsonResponse(
        problem(response.status_code, body), status=response.status_code, content_type=CONTENT_TYPE
    )
    for header, value in response.items():
        if header.lower() not in ("content-type", "content-length"):
            reshaped[header] = value
    return reshaped


# Django's handlers (jobboard.urls), for what never reaches a DRF view.


def bad_request(request, exception=None):
    return _reshaped(request, exceptions.bad_request(request, exception))


def permission_denied(request, exception=None):
    return _reshaped(request, exceptions.permission_denied(request, exception))


def not_found(request, exception=None):
    return _reshaped(request, exceptions.not_found(request, exception))


def server_error(request):
    return _reshaped(request, exceptions.server_error(request))
