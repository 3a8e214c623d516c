"""One OpenAPI document per version (drf-spectacular).

Every route is mounted three times (`jobboard.urls`): unversioned at `/api/` (v1, the
contract's paths), at `/api/v1/` and at `/api/v2/`. `VersionSchemaGenerator` keeps the
endpoints of one mount: `/api/docs/swagger.json` is the unversioned mount's (today's document,
unchanged), `/api/v1/docs/swagger.json` and `/api/v2/docs/swagger.json` each version's. In v2's
the error responses are `application/problem+json` (`problems`).
"""

from __future__ import annotations

from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer
from rest_framework import serializers

from core.api.jobs import JobViewSet
from core.api.listings import JobSerializer
from core.api.pagination import StandardPagination
from core.api.schema import ERROR_COMPONENT, VALIDATION_ERROR_COMPONENT
from core.api.versions import V2, VERSIONS, version_of_path
from core.api.versions import registration as _registration  # noqa: F401 (v2's registration)
from core.api.versions.cursor import CURSOR_MAX_LENGTH, CURSOR_PARAM
from core.api.versions.problems import CONTENT_TYPE

VERSION_NUMBERS = {"v1": "1.0.0", "v2": "2.0.0"}

# The notes `Link: <...>; rel="deprecation"` points to by default (`API_MIGRATION_NOTES_URL`):
# v2's reference opens with them.
MIGRATION_NOTES = """

## Migrating from v1 to v2

v2 is v1 at `/api/v2/` with three changes; everything else (paths, fields, permissions,
limits) is the same, and `/api/` and `/api/v1/` keep answering as v1.

1. **Registration** takes `"role": "employer"` or `"role": "job_seeker"`. The booleans
   `is_employer` and `is_job_seeker` are refused (`400`, a field error under `role`); the user
   returned still carries both flags.
2. **Errors** are RFC 9457 problem details, `Content-Type: application/problem+json`:
   `type` (`about:blank`), `title`, `status`, `detail`, `code` (v1's code), and for validation
   errors `errors` holding v1's body (the messages of each field).
3. **The job listing** (`GET /api/v2/jobs/`) pages by cursor for the date orderings (the
   default newest first, `-created_at`, and the ascending ones): follow `next` and `previous`,
   whose `cursor` is opaque; there is no `count` and `page` is refused. A search ranked by
   relevance and the salary orderings keep numbered pages with `count`.

GraphQL (`/api/graphql/`) is not versioned: it evolves by deprecating fields.
"""

_PROBLEM_PROPERTIES = {
    "type": {"type": "string", "description": "`about:blank`: the status says what happened."},
    "title": {"type": "string", "description": "The status's phrase."},
    "status": {"type": "integer", "format": "int32", "minimum": 400, "maximum": 599},
    "detail": {"type": "string", "description": "What went wrong, for people."},
    "code": {"type": "string", "description": "What went wrong, for programs (as in v1)."},
}
_PROBLEM_SCHEMA = {
    "type": "object",
    "description": "An error as RFC 9457 problem details (`application/problem+json`).",
    "properties": _PROBLEM_PROPERTIES,
    "required": ["type", "title", "status", "detail", "code"],
}
_VALIDATION_PROBLEM_SCHEMA = {
    "type": "object",
    "description": (
        "Refused input as RFC 9457 problem details: each invalid field's messages under its "
        "name in `errors` (`non_field_errors` for the body as a whole), or a refused business "
        "rule as `detail` and `code`."
    ),
    "properties": {
        **_PROBLEM_PROPERTIES,
        "errors": {
            "type": "object",
            "additionalProperties": {},
            "description": "The messages of each invalid field, under its name.",
        },
    },
    "required": ["type", "title", "status", "detail", "code"],
}


class VersionSchemaGenerator(SchemaGenerator):
    """drf-spectacular's generator restricted to the routes of one mount.

    `api_version` None: the unversioned routes (`/api/...`); "v1" or "v2": that version's.
    """

    def _initialise_endpoints(self):
        if self.endpoints is None:
            super()._initialise_endpoints()
            self.endpoints = [
                endpoint
                for endpoint in self.endpoints
                if version_of_path(endpoint[0]) == self.api_version
            ]

    def get_schema(self, request=None, public=False):
        schema = super().get_schema(request=request, public=public)
        if self.api_version in VERSIONS:
            schema["info"]["version"] = VERSION_NUMBERS[self.api_version]
        if self.api_version == V2:
            _as_problems(schema)
            schema["info"]["description"] += MIGRATION_NOTES
        return schema


def _as_problems(schema: dict) -> None:
    """v2's errors: the error components as problem details, sent as `application/problem+json`."""
    components = schema.get("components", {}).get("schemas", {})
    if ERROR_COMPONENT in components:
        components[ERROR_COMPONENT] = _PROBLEM_SCHEMA
    if VALIDATION_ERROR_COMPONENT in components:
        components[VALIDATION_ERROR_COMPONENT] = _VALIDATION_PROBLEM_SCHEMA
    for methods in schema.get("paths", {}).values():
        for operation in methods.values():
            if not isinstance(operation, dict):
                continue
            for status, response in operation.get("responses", {}).items():
                content = response.get("content", {})
                if status[0] in "45" and "application/json" in content:
                    response["content"] = {CONTENT_TYPE: content["application/json"]}


LINK_MAX_LENGTH = 8192  # a link repeats the query (its filters are bounded) and adds a cursor


# v2's listing: keyset pages for the date orderings (`cursor`), v1's numbered pages otherwise.
@extend_schema_serializer(many=False)  # one page, not a list for drf-spectacular to paginate
class JobCursorPageSerializer(serializers.Serializer):
    """One page of open jobs: for the date orderings a keyset page (`next` and `previous` carry
    a `cursor`; no `count`); for a relevance or salary ordering a numbered page, with `count`,
    as in v1."""

    count = serializers.IntegerField(
        required=False,
        min_value=0,
        max_value=2**63 - 1,
        help_text="Numbered pages only: open jobs in all.",
    )
    next = serializers.URLField(
        allow_null=True, max_length=LINK_MAX_LENGTH, help_text="The next page; null on the last."
    )
    previous = serializers.URLField(
        allow_null=True,
        max_length=LINK_MAX_LENGTH,
        help_text="The previous page; null on the first.",
    )
    results = serializers.ListField(
        child=JobSerializer(), max_length=StandardPagination.max_page_size
    )


JobViewSet.list = extend_schema(
    parameters=[
        OpenApiParameter(
            CURSOR_PARAM,
            {"type": "string", "maxLength": CURSOR_MAX_LENGTH},
            description=(
                "Where a page starts: the `cursor` of a page's `next` or `previous` link "
                "(date orderings only; a search ranked by relevance or a salary ordering pages "
                "by `page`)."
            ),
        )
    ],
    responses={200: JobCursorPageSerializer},
    versions=[V2],
)(JobViewSet.list)
