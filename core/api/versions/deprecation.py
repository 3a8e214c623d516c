"""Deprecation by configuration: `API_DEPRECATIONS` marks versions for retirement.

`API_DEPRECATIONS=v1=2027-12-31` (or `v1=2026-12-01/2027-12-31`: deprecated since, sunset)
makes every response of v1 carry

    Deprecation: @1796083200                 (RFC 9745: a structured date, deprecated since)
    Sunset: Fri, 31 Dec 2027 00:00:00 GMT    (RFC 8594: when it stops answering)
    Link: <API_MIGRATION_NOTES_URL>; rel="deprecation"

With the sunset alone the version is deprecated from the day the process started (UTC
midnight). The unversioned paths are v1 and carry v1's headers; the documentation, GraphQL and
the probes are outside the versions and carry none.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, date, datetime
from email.utils import format_datetime

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve

from core.api.versions import DEFAULT_VERSION, VERSIONS, version_of_path

# (deprecated since, or None: from start-up; sunset), as `jobboard.settings` parses them.
Deprecation = tuple[date | None, date]


@functools.cache
def _api_views() -> frozenset:
    # The views of the versioned routes: the one list every mount shares.
    from core.api.urls import urlpatterns

    views = set()
    stack = list(urlpatterns)
    while stack:
        pattern = stack.pop()
        if hasattr(pattern, "url_patterns"):
            stack.extend(pattern.url_patterns)
        else:
            views.add(pattern.callback)
    return frozenset(views)


def version_of(request: HttpRequest) -> str | None:
    """The API version a request was answered by; None outside the versioned routes (the
    documentation, GraphQL, the probes, the admin)."""
    match = request.resolver_match
    if match is None:
        try:
            match = resolve(request.path_info)
        except Resolver404:  # an unknown path under a version's prefix is that version's 404
            version = version_of_path(request.path_info)
            return version if version in VERSIONS else None
    if match.func not in _api_views():
        return None
    return match.namespace if match.namespace in VERSIONS else DEFAULT_VERSION


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def headers_for(deprecation: Deprecation, *, started: date) -> dict[str, str]:
    since, sunset = deprecation
    return {
        "Deprecation": f"@{int(_midnight(since or started).timestamp())}",
        "Sunset": format_datetime(_midnight(sunset), usegmt=True),
        "Link": f'<{settings.API_MIGRATION_NOTES_URL}>; rel="deprecation"',
    }


class DeprecationMiddleware:
    """Adds the configured deprecation headers to the responses of a deprecated version."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response
        self.started = datetime.now(UTC).date()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        deprecations = settings.API_DEPRECATIONS
        if deprecations:
            version = version_of(request)
            if version in deprecations:
                headers = headers_for(deprecations[version], started=self.started)
                for header, value in headers.items():
                    if header == "Link" and response.has_header("Link"):
                        value = f"{response['Link']}, {value}"
                    response[header] = value
        return response
