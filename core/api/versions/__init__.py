"""API versions: `/api/v1/` (today's API, also served unversioned at `/api/`) and `/api/v2/`.

One list of routes (`core.api.urls`) is mounted once per version by `jobboard.urls`; a view
learns its version from `request.version` (`PathVersioning`). What v2 changes lives in the
modules of this package, one change each:

- `registration`: `"role": "employer" | "job_seeker"` instead of the two booleans;
- `problems`: every error as RFC 9457 problem details (`application/problem+json`);
- `cursor`: keyset (cursor) pagination of the public job listing.

`deprecation` adds the `Deprecation`, `Sunset` and `Link` headers that `API_DEPRECATIONS`
configures, and `schema` builds one OpenAPI document per version.
"""

from __future__ import annotations

import re

from rest_framework.exceptions import NotFound
from rest_framework.versioning import URLPathVersioning

V1 = "v1"
V2 = "v2"
VERSIONS = (V1, V2)
DEFAULT_VERSION = V1

# `/api/v1/...` and `/api/v2/...`; any other API path (`/api/jobs/`) is v1, for good.
_VERSIONED_PATH = re.compile(r"^/api/(v[0-9]+)/")


def version_of_path(path: str) -> str | None:
    """The version a path names (`/api/v2/jobs/` is v2), None for an unversioned path."""
    match = _VERSIONED_PATH.match(path)
    return match.group(1) if match else None


class PathVersioning(URLPathVersioning):
    """DRF's URL path versioning, read from the path itself rather than a URL keyword.

    The versioned mounts have no `<version>` capture, so views keep their signatures (a keyword
    argument `version` would reach every handler); drf-spectacular, which injects the keyword
    while it builds a schema, is still honoured. An unversioned path is `DEFAULT_VERSION`.
    """

    default_version = DEFAULT_VERSION
    allowed_versions = VERSIONS

    def determine_version(self, request, *args, **kwargs):
        version = kwargs.get(self.version_param) or version_of_path(request.path)
        if version is None:
            return self.default_version
        if version not in self.allowed_versions:
            raise NotFound(self.invalid_version_message)
        return version


def is_v2(request) -> bool:
    """Whether a DRF request is answered by v2's rules. By its path too: DRF negotiates the
    content type before it sets `request.version`, so a 406 meets a request without one."""
    if request is None:
        return False
    return (getattr(request, "version", None) or version_of_path(request.path)) == V2
