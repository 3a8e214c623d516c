"""`POST /api/graphql/` (and `GET` for queries): a DRF view, so a GraphQL request is
authenticated, throttled and parsed exactly as a REST one.

- Authentication is REST's own (`core.api.authentication.JWTAuthentication`, sessions checked):
  a token refused over REST is refused here, from the same request on.
- The body goes through DRF's parsers (`REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"]`), so what they
  refuse is refused here too. A JSON array (a batch) is refused.
- The anonymous and per-user rates apply to every request; the scoped abuse limits of REST
  (posting a job, applying) apply once per mutation field that does the same work.
- A document is bounded before it runs (`core.graphql.limits`). Errors carry `extensions.code`
  (`core.graphql.errors`); a database outage answers 503 with `Retry-After`, as REST does.
- `GET` from a browser (`Accept: text/html`) shows GraphiQL when `GRAPHIQL_ENABLED`, its
  scripts and styles served by the app.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections import Counter
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from graphene_django_graphiql_static.views import GraphiQLOfflineView
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    execute,
    get_operation_ast,
)
from rest_framework import exceptions
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from core.api.authentication import JWTAuthentication
from core.graphql import errors
from core.graphql.errors import ClientError
from core.graphql.limits import check_cost, check_document
from core.graphql.schema import schema

# Mutations doing the work of a REST view with a `throttle_scope`, and that scope.
THROTTLE_SCOPES = {"createJob": "job_post", "applyToJob": "apply"}


def _error_body(*graphql_errors: GraphQLError, data: Any = None, with_data: bool = False):
    body: dict[str, Any] = {}
    if with_data:
        body["data"] = data
    body["errors"] = [errors.format_error(error) for error in graphql_errors]
    return body


def _json(body: dict[str, Any], status: int = 200, **headers: str) -> HttpResponse:
    response = HttpResponse(
        json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        status=status,
        content_type="application/json",
    )
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def _refusal(message: str, code: str, status: int, **headers: str) -> HttpResponse:
    return _json(_error_body(ClientError(message, code)), status, **headers)


def _unavailable() -> HttpResponse:
    return _refusal(
        errors.UNAVAILABLE_MESSAGE,
        errors.SERVICE_UNAVAILABLE,
        503,
        Retry_After=str(errors.RETRY_AFTER_SECONDS),
    )


def _wants_graphiql(request: HttpRequest) -> bool:
    accept = request.headers.get("Accept", "")
    return (
        settings.GRAPHIQL_ENABLED
        and request.method == "GET"
        and "text/html" in accept
        and "raw" not in request.GET
    )


def _graphiql(request: HttpRequest) -> HttpResponse:
    page = GraphiQLOfflineView
    context = {
        name: getattr(page, name)
        for name in dir(page)
        if name.endswith("_sri") and isinstance(getattr(page, name), str)
    }
    context.update(
        graphiql_header_editor_enabled=True,
        graphiql_should_persist_headers=False,
        subscription_path=None,
    )
    response = render(request, page.graphiql_template, context)
    response.content_security_policy = _graphiql_policy(response.content)
    return response


_INLINE_SCRIPT = re.compile(rb"<script[^>]*>(.*?)</script>", re.S)


def _graphiql_policy(page: bytes) -> str:
    """GraphiQL's policy: its scripts and styles from the app only, and its one inline script
    (graphene-django's settings object) allowed by its hash, not by `'unsafe-inline'`."""
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(body).digest()).decode()}'"
        for body in _INLINE_SCRIPT.findall(page)
        if body.strip()
    )
    return (
        f"default-src 'none'; script-src 'self' {hashes}; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
        f"form-action 'none'; {settings.CONTENT_SECURITY_POLICY_COMMON}"
    )


_ERRORS = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["message", "extensions"],
        "properties": {
            "message": {"type": "string"},
            "path": {"type": "array", "items": {}},
            "locations": {"type": "array", "items": {"type": "object"}},
            "extensions": {
                "type": "object",
                "required": ["code"],
                "properties": {"code": {"type": "string"}},
            },
        },
    },
}
_RESULT = {
    "type": "object",
    "properties": {"data": {"type": "object", "nullable": True}, "errors": _ERRORS},
}
_REFUSED = {"type": "object", "required": ["errors"], "properties": {"errors": _ERRORS}}
_REQUEST = {
    "type": "object",
    "required": ["query"],
    "properties": {
        "query": {"type": "string", "description": "The GraphQL document."},
        "variables": {"type": "object", "nullable": True},
        "operationName": {"type": "string", "nullable": True},
    },
}


def _refused(description: str) -> OpenApiResponse:
    return OpenApiResponse(_REFUSED, description=description)


_RESPONSES = {
    200: OpenApiResponse(_RESULT, description="The result: `data`, and `errors` if any."),
    400: _refused("The request or its document was refused before it ran (`extensions.code`)."),
    401: _refused("The access token is invalid or expired (`UNAUTHENTICATED`)."),
    413: _refused("The body is larger than the upload limit."),
    429: _refused("Too many requests (`RATE_LIMITED`): retry after `Retry-After` seconds."),
    503: _refused("The database is briefly unavailable (`SERVICE_UNAVAILABLE`)."),
}
_GET_PARAMETERS = [
    OpenApiParameter("query", OpenApiTypes.STR, required=True, description="The document."),
    OpenApiParameter("variables", OpenApiTypes.STR, description="The variables, as JSON."),
    OpenApiParameter("operationName", OpenApiTypes.STR),
]


class GraphQLView(APIView):
    """The GraphQL endpoint: `{"query", "variables", "operationName"}` by POST, or the same as
    query parameters by GET (queries only)."""

    authentication_classes = [JWTAuthentication]
    permission_classes = [AllowAny]
    throttle_scope: str | None = None

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if _wants_graphiql(request):
            return _graphiql(request)
        return super().dispatch(request, *args, **kwargs)

    def perform_content_negotiation(self, request: Request, force: bool = False):
        # Every answer is JSON, whatever the client says it accepts.
        return JSONRenderer(), JSONRenderer.media_type

    def handle_exception(self, exc: Exception) -> HttpResponse:
        """What DRF raises before a document runs (authentication, the general rates, the body),
        answered as a GraphQL error with its code and REST's status."""
        if isinstance(exc, errors.UNAVAILABLE_ERRORS):
            return _unavailable()
        if isinstance(exc, RequestDataTooBig):
            limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
            return _refusal(
                f"Request body too large (limit {limit} bytes).", errors.BAD_USER_INPUT, 413
            )
        if isinstance(exc, exceptions.AuthenticationFailed | exceptions.NotAuthenticated):
            return _refusal(
                str(exc.detail),
                errors.UNAUTHENTICATED,
                401,
                WWW_Authenticate=self.get_authenticate_header(self.request) or "Bearer",
            )
        if isinstance(exc, exceptions.Throttled):
            return self._throttled(exc.wait)
        if isinstance(exc, exceptions.APIException):
            return _refusal(str(exc.detail), errors.BAD_USER_INPUT, exc.status_code)
        return super().handle_exception(exc)

    def _throttled(self, wait: float | None) -> HttpResponse:
        headers = {"Retry_After": str(max(int(wait or 0), 1))}
        return _refusal("Too many requests; try again later.", errors.RATE_LIMITED, 429, **headers)

    # --- The request ----------------------------------------------------------------------

    @extend_schema(
        parameters=_GET_PARAMETERS,
        responses={**_RESPONSES, 405: _refused("A mutation must be sent by POST.")},
    )
    def get(self, request: Request) -> HttpResponse:
        params = request.query_params
        variables = params.get("variables")
        if variables:
            try:
                variables = json.loads(variables)
            except ValueError:
                return _refusal("`variables` is not JSON.", errors.BAD_USER_INPUT, 400)
        return self._run(request, params.get("query"), variables, params.get("operationName"))

    @extend_schema(
        request={"application/json": _REQUEST},
        responses={**_RESPONSES, 415: _refused("The body is not `application/json`.")},
    )
    def post(self, request: Request) -> HttpResponse:
        body = request.data
        if isinstance(body, list):
            return _refusal(
                "Batched requests are not supported: send one operation per request.",
                errors.BAD_USER_INPUT,
                400,
            )
        if not isinstance(body, dict):
            return _refusal("Send a JSON object with `query`.", errors.BAD_USER_INPUT, 400)
        return self._run(
            request, body.get("query"), body.get("variables"), body.get("operationName")
        )

    def _run(
        self, request: Request, query: Any, variables: Any, operation_name: Any
    ) -> HttpResponse:
        if not isinstance(query, str) or not query.strip():
            return _refusal("Give the GraphQL document as `query`.", errors.BAD_USER_INPUT, 400)
        if variables is None:
            variables = {}
        if not isinstance(variables, dict):
            return _refusal("`variables` must be a JSON object.", errors.BAD_USER_INPUT, 400)
        if operation_name is not None and not isinstance(operation_name, str):
            return _refusal("`operationName` must be a string.", errors.BAD_USER_INPUT, 400)

        document, refused = check_document(schema.graphql_schema, query)
        if refused:
            return _json(_error_body(*refused), 400)
        operation = get_operation_ast(document, operation_name)
        if operation is None:
            message = (
                f"No operation named {operation_name!r}."
                if operation_name
                else "The document has several operations: name one as `operationName`."
            )
            return _refusal(message, errors.BAD_USER_INPUT, 400)
        if request.method == "GET" and operation.operation != OperationType.QUERY:
            return _refusal(
                "Send mutations with POST.", errors.BAD_USER_INPUT, 405, Allow="GET, POST"
            )
        refused = check_cost(schema.graphql_schema, document, operation, variables)
        if refused:
            return _json(_error_body(*refused), 400)
        if (wait := self._scoped_throttle_wait(request, document, operation)) is not None:
            return self._throttled(wait)

        result = execute(
            schema.graphql_schema,
            document,
            context_value=request,
            variable_values=variables,
            operation_name=operation_name,
            # Every resolver is synchronous: skip asking each of the hundreds of values a page
            # holds whether it is awaitable.
            is_awaitable=_never_awaitable,
        )
        if result.errors and any(errors.is_outage(error) for error in result.errors):
            return _unavailable()
        if result.data is None and result.errors and not operation_has_run(result):
            return _json(_error_body(*result.errors), 400)
        body: dict[str, Any] = {"data": result.data}
        if result.errors:
            body["errors"] = [errors.format_error(error) for error in result.errors]
        return _json(body)

    def _scoped_throttle_wait(
        self, request: Request, document: DocumentNode, operation: OperationDefinitionNode
    ) -> float | None:
        """Ask REST's scoped throttles once per mutation field with a scope; the wait of the
        first refusal, or None."""
        if operation.operation != OperationType.MUTATION:
            return None
        scoped = [
            throttle
            for throttle in self.throttle_classes
            if issubclass(throttle, ScopedRateThrottle)
        ]
        uses = Counter(
            THROTTLE_SCOPES[name]
            for name in root_fields(document, operation.selection_set)
            if name in THROTTLE_SCOPES
        )
        try:
            for scope, times in uses.items():
                self.throttle_scope = scope
                for _ in range(times):
                    for throttle_class in scoped:
                        throttle = throttle_class()
                        if not throttle.allow_request(request, self):
                            return throttle.wait()
        finally:
            self.throttle_scope = None
        return None


def root_fields(document: DocumentNode, selection_set: SelectionSetNode) -> list[str]:
    """The names of the root fields an operation selects, through its fragments."""
    fragments = {
        definition.name.value: definition
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }
    names: list[str] = []
    pending = [selection_set]
    while pending:
        for selection in pending.pop().selections:
            if isinstance(selection, FieldNode):
                names.append(selection.name.value)
            elif isinstance(selection, InlineFragmentNode):
                pending.append(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                pending.append(fragments[selection.name.value].selection_set)
    return names


def _never_awaitable(value: Any) -> bool:
    return False


def operation_has_run(result) -> bool:
    """Whether execution started: variable coercion errors come back with no path."""
    return any(error.path for error in result.errors or [])
