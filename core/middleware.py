"""HTTP middleware: a request id for every request, and one log line per request.

`RequestLogMiddleware` sits first in `MIDDLEWARE`, so the id is bound before anything else runs
(every log line of the request carries it, and so does any outbox event the request records) and
the logged duration covers the whole stack.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.core.signals import request_finished
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.utils.functional import LazyObject, empty

from core.request_id import (
    HEADER,
    bind_request_id,
    clean_request_id,
    new_request_id,
    reset_request_id,
)

logger = logging.getLogger("jobboard.request")

_HEADER_META_KEY = "HTTP_" + HEADER.upper().replace("-", "_")


class RequestLogMiddleware:
    """Bind the request id, answer with it in `X-Request-ID`, and log the request once it is done.

    An incoming `X-Request-ID` (from a proxy or a client that wants to correlate) is honoured when
    it is safe (`core.request_id.clean_request_id`), otherwise replaced by a fresh one. The log
    line names the method, the path (never the query string, which may hold tokens), the status,
    the duration and the user, and nothing else of the headers or the body.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        request_id = clean_request_id(request.META.get(_HEADER_META_KEY)) or new_request_id()
        # Not reset on the way out: Django logs 4xx/5xx responses after the middleware chain
        # returns, and those lines belong to this request too. `request_finished` clears it.
        bind_request_id(request_id)
        response = self.get_response(request)
        response[HEADER] = request_id
        if logger.isEnabledFor(logging.INFO):
            duration_ms = round((time.perf_counter() - started) * 1000, 1)
            logger.info(
                "%s %s %s %.1fms",
                request.method,
                request.path,
                response.status_code,
                duration_ms,
                extra={
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": duration_ms,
                    "user_id": _user_id(request),
                },
            )
        return response


def _user_id(request: HttpRequest) -> int | None:
    """The authenticated user's id, without loading a user nobody asked for.

    DRF replaces `request.user` with the user its authentication found (JWT). For a request that
    never looked (a probe, a 404), Django's lazy user is left unevaluated: evaluating it here would
    cost a session lookup on every such request.
    """
    user = getattr(request, "user", None)
    if user is None or (isinstance(user, LazyObject) and user._wrapped is empty):
        return None
    return user.pk if user.is_authenticated else None


@receiver(request_finished, dispatch_uid="core.middleware.clear_request_id")
def _clear_request_id(**kwargs) -> None:
    # Once the response is sent, the next log line of this thread is not about this request.
    reset_request_id()


class ContentSecurityPolicyMiddleware:
    """`Content-Security-Policy` on every response Django renders, by the path it answers.

    `settings.CONTENT_SECURITY_POLICIES` maps path prefixes to policies; the longest prefix of
    the request's path picks one (`""` is the API's: JSON, nothing to run). A view that renders
    a page of its own (GraphiQL) either adds its prefix there or sets the attribute
    `content_security_policy` on its response, which wins. Static files are answered by
    whitenoise before this middleware (last in `MIDDLEWARE`) and carry none: a policy applies
    to documents, not to the scripts and styles they load.

    A middleware of a dozen lines rather than django-csp: the policies differ per page (the docs,
    the admin, the API), which is one table here, where django-csp's one global policy would need
    its per-view decorators wrapped around the admin's and drf-spectacular's views.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        from django.conf import settings

        self.get_response = get_response
        # Longest prefix first: the first match is the most specific.
        self.policies = sorted(
            settings.CONTENT_SECURITY_POLICIES.items(), key=lambda item: -len(item[0])
        )

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if "Content-Security-Policy" in response:
            return response
        policy = getattr(response, "content_security_policy", None)
        if policy is None:
            path = request.path
            policy = next((p for prefix, p in self.policies if path.startswith(prefix)), None)
        if policy:
            response["Content-Security-Policy"] = policy
        return response
