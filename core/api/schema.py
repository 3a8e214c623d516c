"""The OpenAPI schema: drf-spectacular's generator made to say what the API really answers.

Loaded with the REST layer by `core.api.urls` (the extensions register themselves) and named as
`DEFAULT_SCHEMA_CLASS`. The schema is held to the running API by the schema-fuzzing test
(`tests/test_schema_fuzzing.py`): every status an operation can answer is documented with its
body, and every string field says what the serializer refuses (NUL characters, blank text).
"""

from __future__ import annotations

import copy
import re
from typing import Any

from django.conf import settings
from django.core.validators import ProhibitNullCharactersValidator, URLValidator
from drf_spectacular.contrib.rest_framework_simplejwt import TokenObtainPairSerializerExtension
from drf_spectacular.extensions import OpenApiAuthenticationExtension, OpenApiSerializerExtension
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework_simplejwt.views import TokenViewBase

from core.api.fields import (
    PASSWORD_MAX_LENGTH,
    USERNAME_MAX_LENGTH,
    StrictPrimaryKeyRelatedField,
)

ERROR_COMPONENT = "Error"
VALIDATION_ERROR_COMPONENT = "ValidationError"

_ERROR_SCHEMA = {
    "type": "object",
    "description": "An error: a message for people and, for the API's own rules, a stable code.",
    "properties": {
        "detail": {"type": "string"},
        "code": {"type": "string"},
    },
    "required": ["detail"],
}
_VALIDATION_ERROR_SCHEMA = {
    "type": "object",
    "description": (
        "Refused input: the messages of each invalid field under its name (`non_field_errors` "
        "for the body as a whole), or a refused business rule as `detail` and `code`."
    ),
    "properties": {
        "detail": {"type": "string"},
        "code": {"type": "string"},
    },
    "additionalProperties": {"type": "array", "items": {"type": "string"}},
}


# What the headers mean to a client (README, "For API consumers"). Only `X-Request-ID` is on
# every response; the throttles' fields only while throttling is on.
_HEADERS: dict[str, dict[str, Any]] = {
    "X-Request-ID": {
        "description": (
            "The request's id: the one the client sent when it was safe (up to 64 letters, "
            "digits, `.`, `_` or `-`), else a new one. Quote it when reporting a problem."
        ),
        "required": True,
        "schema": {"type": "string", "maxLength": 64},
    },
    "Access-Control-Allow-Origin": {
        "description": (
            "CORS: the request's `Origin`, echoed when it is one of the deployment's "
            "`CORS_ALLOWED_ORIGINS` (absent otherwise: a browser then refuses the answer to "
            "that page's script)."
        ),
        "schema": {"type": "string", "maxLength": 2048},
    },
    "RateLimit-Policy": {
        "description": (
            "The rate limits that count this operation, per the IETF draft "
            "(draft-ietf-httpapi-ratelimit-headers): one item per limit, its name, `q` the "
            'requests allowed and `w` the window in seconds, e.g. `"login";q=5;w=60`.'
        ),
        "schema": {"type": "string", "maxLength": 1024},
    },
    "RateLimit": {
        "description": (
            "What is left of each limit in `RateLimit-Policy` after this request: `r` the "
            "requests remaining, `t` the seconds until the window frees one, e.g. "
            '`"login";r=4;t=60`.'
        ),
        "schema": {"type": "string", "maxLength": 1024},
    },
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "required": True,
        # A throttle's longest window is a day.
        "schema": {"type": "integer", "format": "int32", "minimum": 1, "maximum": 86400},
    },
    "ETag": {
        "description": (
            "The version of this document: send it as `If-None-Match` to get `304 Not "
            "Modified` while it is unchanged."
        ),
        "schema": {"type": "string", "maxLength": 128},
    },
}


def _char_class(codepoints: list[int]) -> str:
    """A regex character class body for the code points, in `\\uXXXX` ranges."""
    ranges: list[list[int]] = []
    for codepoint in sorted(codepoints):
        if ranges and codepoint == ranges[-1][1] + 1:
            ranges[-1][1] = codepoint
        else:
            ranges.append([codepoint, codepoint])
    return "".join(
        f"\\u{low:04x}" if low == high else f"\\u{low:04x}-\\u{high:04x}" for low, high in ranges
    )


# Text the serializers accept: no NUL (PostgreSQL cannot store it; DRF refuses it) and, where
# blank is refused, at least one character that trimming leaves. The whitespace is spelled out
# as what `str.strip()` removes (all of it below U+3001): `\s` means something slightly
# different in ECMA, Python and Rust regexes, and clients and fuzzers read the pattern with any.
_STRIPPED = _char_class([c for c in range(0x3001) if chr(c).isspace()])
_NO_NUL = r"^[^\u0000]*$"
_NOT_BLANK = rf"^[^\u0000]*[^\u0000{_STRIPPED}][^\u0000]*$"


def _any_case(text: str) -> str:
    return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else re.escape(c) for c in text)


def _ref(component: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{component}"}


def validation_error_response(description: str) -> OpenApiResponse:
    """A documented 400: field errors, or a business rule that refused the request."""
    return OpenApiResponse(response=_ref(VALIDATION_ERROR_COMPONENT), description=description)


class AutoSchema(SpectacularAutoSchema):
    """drf-spectacular's schema, plus the error responses every operation can give.

    drf-spectacular documents only the success of an operation. The API's errors are uniform
    (`core.api.exceptions`), so they are derived from the view: 400 for anything that reads a
    body or query parameters, 401 where a token is read (or checked, by the token views), 403
    behind a role permission, 404 on a path with an id or a page number, 415 for a body, 429
    everywhere (the anonymous and per-user rates cover every view in production), and 503
    everywhere (a database outage, `core.api.exceptions`). A view
    documents the 400s of its business rules with `validation_error_response`; those take
    precedence.
    """

    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        for name, schema in (
            (ERROR_COMPONENT, _ERROR_SCHEMA),
            (VALIDATION_ERROR_COMPONENT, _VALIDATION_ERROR_SCHEMA),
        ):
            registry.register_on_missing(
                ResolvedComponent(
                    name=name, type=ResolvedComponent.SCHEMA, object=name, schema=schema
                )
            )
        for parameter in operation.get("parameters", []):
            # DRF reads an empty optional query parameter (`?status=`) as an absent one, and so
            # do the paginators; say so, or every empty value would look like a bad one.
            if parameter["in"] == "query" and not parameter.get("required"):
                parameter["allowEmptyValue"] = True
        responses = operation["responses"]
        for code, (component, description) in self._error_responses(operation).items():
            responses.setdefault(
                code,
                {
                    "content": {"application/json": {"schema": _ref(component)}},
                    "description": description,
                },
            )
        operation["responses"] = dict(sorted(responses.items()))
        self._document_headers(operation, registry)
        return operation

    # --- Response headers (ETag, X-Request-ID, RateLimit, Retry-After) ------------------------

    def _document_headers(self, operation: dict[str, Any], registry) -> None:
        """The headers each response carries, as components: `X-Request-ID` and CORS's
        `Access-Control-Allow-Origin` on all,
        `RateLimit-Policy`/`RateLimit` where a throttle counts the operation, `Retry-After` on
        429 and 503, `ETag` on a 200 the listings cache answers."""
        for name, header in _HEADERS.items():
            registry.register_on_missing(
                ResolvedComponent(
                    name=name, type=ResolvedComponent.HEADER, object=name, schema=header
                )
            )
        action = getattr(self.view, "action", None) or self.method.lower()
        has_etag = action in getattr(self.view, "etag_actions", ())
        throttled = bool(self.view.get_throttles())
        for code, response in operation["responses"].items():
            names = ["X-Request-ID", "Access-Control-Allow-Origin"]
            if throttled:
                names += ["RateLimit-Policy", "RateLimit"]
            if code in ("429", "503"):
                names.append("Retry-After")
            if code == "200" and has_etag:
                names.append("ETag")
            headers = response.setdefault("headers", {})
            for name in names:
                headers.setdefault(name, {"$ref": f"#/components/headers/{name}"})

    def _error_responses(self, operation: dict[str, Any]) -> dict[str, tuple[str, str]]:
        has_body = "requestBody" in operation
        parameters = operation.get("parameters", [])
        has_query = any(parameter["in"] == "query" for parameter in parameters)
        has_path_id = any(parameter["in"] == "path" for parameter in parameters)
        reads_token = any(
            BearerHeaderScheme.name in requirement for requirement in operation.get("security", [])
        )
        paginated = any(
            parameter["in"] == "query" and parameter["name"] == "page" for parameter in parameters
        )

        errors: dict[str, tuple[str, str]] = {}
        if has_body or has_query:
            errors["400"] = (
                VALIDATION_ERROR_COMPONENT,
                "Invalid input: the message of each invalid field under its name.",
            )
        if isinstance(self.view, TokenViewBase):
            errors["401"] = (ERROR_COMPONENT, "Wrong credentials, or an invalid or used token.")
        elif reads_token:
            errors["401"] = (
                ERROR_COMPONENT,
                "The access token is missing, invalid or expired."
                if self._requires_role_or_login()
                else "The access token sent is invalid or expired (send none to browse as anyone).",
            )
        if self._requires_role():
            errors["403"] = (ERROR_COMPONENT, "Your role may not do this.")
        if has_path_id:
            errors["404"] = (
                ERROR_COMPONENT,
                "No such object, or not one you may see (another user's is 404 too).",
            )
        elif paginated:
            errors["404"] = (ERROR_COMPONENT, "No such page.")
        if has_body:
            errors["415"] = (ERROR_COMPONENT, "The body is not `application/json`.")
        errors["429"] = (
            ERROR_COMPONENT,
            "Too many requests: retry after the number of seconds in `Retry-After`.",
        )
        errors["503"] = (
            ERROR_COMPONENT,
            "The database is briefly unavailable (code `service_unavailable`): retry after the "
            "number of seconds in `Retry-After`.",
        )
        return errors

    def _permissions(self) -> list:
        # drf-spectacular gives the view a request of this method (and a viewset its action),
        # which is what views that choose their permissions per method look at.
        return list(self.view.get_permissions())

    def _requires_role(self) -> bool:
        return any(
            not isinstance(permission, (AllowAny, IsAuthenticated))
            for permission in self._permissions()
        )

    def _requires_role_or_login(self) -> bool:
        return any(not isinstance(permission, AllowAny) for permission in self._permissions())

    def resolve_serializer(self, serializer, direction, bypass_extensions=False):
        # drf-spectacular assumes every PATCH validates partially (all fields optional). A view
        # whose PATCH needs its fields (a status change) says so with `partial_patch = False`.
        if (
            self.method == "PATCH"
            and direction == "request"
            and getattr(serializer, "partial", False)
            and getattr(self.view, "partial_patch", True) is False
        ):
            serializer = copy.copy(serializer)
            serializer.partial = False
        return super().resolve_serializer(serializer, direction, bypass_extensions)

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if isinstance(field, StrictPrimaryKeyRelatedField) and schema.get("type") == "integer":
            # The range the field looks up (`core.api.fields`); outside it is a field error.
            schema.setdefault("minimum", 1)
            schema.setdefault("maximum", MAX_BIGINT)
        return schema

    def _insert_field_validators(self, field, schema):
        super()._insert_field_validators(field, schema)
        url_validator = next((v for v in field.validators if isinstance(v, URLValidator)), None)
        if url_validator is not None and "pattern" not in schema:
            # `format: uri` takes any scheme; the validator only its own (case-insensitively).
            schemes = "|".join(_any_case(scheme) for scheme in sorted(url_validator.schemes))
            schema["pattern"] = f"^(?:{schemes})://"
        if (
            isinstance(field, serializers.CharField)
            and schema.get("type") == "string"
            and not field.read_only
            and "pattern" not in schema
            and "format" not in schema
            and "enum" not in schema
            and any(isinstance(v, ProhibitNullCharactersValidator) for v in field.validators)
        ):
            blank_refused = not field.allow_blank and field.trim_whitespace
            schema["pattern"] = _NOT_BLANK if blank_refused else _NO_NUL


class BearerHeaderScheme(OpenApiAuthenticationExtension):
    """Describe JWT auth as the whole `Authorization` header value.

    With an `http`/`bearer` scheme Swagger UI prefixes `Bearer ` itself, and a user who types
    `Bearer <token>` as our docs say would send `Bearer Bearer <token>` and get 401.
    """

    target_class = "core.api.authentication.JWTAuthentication"
    name = "jwtAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "Enter `Bearer <access_token>`, with the token from `POST /api/token/`.",
        }


class TokenObtainPairSchema(TokenObtainPairSerializerExtension):
    """The login, which also starts a session, shows simplejwt's pair: credentials in (as long
    as an account's may be), both tokens out."""

    target_class = "core.api.accounts.TokenObtainPairSerializer"

    def map_serializer(self, auto_schema, direction):
        schema = super().map_serializer(auto_schema, direction)
        bounds = {self.target_class.username_field: USERNAME_MAX_LENGTH}
        bounds["password"] = PASSWORD_MAX_LENGTH
        for name, max_length in bounds.items():
            if name in schema.get("properties", {}):
                schema["properties"][name]["maxLength"] = max_length
        schema["description"] = (
            "A username and password to log in with."
            if direction == "request"
            else "An access token (`Authorization: Bearer <access>`) and a refresh token."
        )
        return schema


class EmptyBodySchema(OpenApiSerializerExtension):
    """An answer that is an empty JSON object, as a component of its own: drf-spectacular drops
    a serializer without fields and would document "no response body"."""

    target_class = "core.api.accounts.EmptyBodySerializer"
    match_subclasses = True

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        schema["additionalProperties"] = False
        return schema


class RegisterSchema(OpenApiSerializerExtension):
    """Registration takes exactly one role: `oneOf` two complete shapes, an employer's and a
    job seeker's, each a component with every field of the body.

    A `oneOf` of role fragments beside the fields would say the same to a validator, but code
    generators (openapi-python-client) turn it into a union of fragments that have no username,
    email or password.
    """

    target_class = "core.api.accounts.RegisterSerializer"

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        choices = []
        for flag, name, description in (
            ("is_employer", "EmployerRegistration", "Register as an employer."),
            ("is_job_seeker", "JobSeekerRegistration", "Register as a job seeker."),
        ):
            component = ResolvedComponent(
                name=f"{name}Request" if direction == "request" else name,
                type=ResolvedComponent.SCHEMA,
                object=f"{name}:{direction}",
                schema=_only_role(schema, flag, description=description),
            )
            auto_schema.registry.register_on_missing(component)
            choices.append(component.ref)
        return {
            "oneOf": choices,
            "description": "Registration as exactly one role: an employer's or a job seeker's.",
        }


def _only_role(fields: dict[str, Any], flag: str, *, description: str) -> dict[str, Any]:
    # "Not false" and "not true" rather than `enum: [true]`: drf-spectacular turns every
    # property enum into a shared component, and generators type a boolean enum poorly.
    shape = copy.deepcopy(fields)
    shape["description"] = description
    for name, prop in shape["properties"].items():
        if name in ("is_employer", "is_job_seeker"):
            prop.pop("default", None)
            prop["not"] = {"enum": [name != flag]}
            prop["description"] = (
                "`true`: this registration's role." if name == flag else "Omit, or `false`."
            )
    shape["required"] = sorted({*shape.get("required", []), flag})
    return shape


# --- What generated clients and API tools need ---------------------------------------------
#
# `postprocess_for_clients` is a drf-spectacular postprocessing hook (SPECTACULAR_SETTINGS):
# it runs on the finished document, after the enum components are made.

MAX_BIGINT = 2**63 - 1
MAX_INT32 = 2**31 - 1


def postprocess_for_clients(result, generator, request, public):
    """The schema as client generators and API tools read it (openapi-python-client, Postman,
    Spectral): public operations without a security requirement, enum members with names,
    filters that reuse the enums of the fields, bounded integers and a `servers` entry."""
    _public_operations_without_security(result)
    _required_choice_bodies(result)
    _parameter_enums_as_components(result)
    _name_enum_members(result)
    _bound_integers(result)
    _bound_formatted_strings(result)
    result["servers"] = [_server(request)]
    return result


def _operations(result: dict[str, Any]):
    for methods in result.get("paths", {}).values():
        for method, operation in methods.items():
            if method in ("get", "put", "patch", "post", "delete", "head", "options", "trace"):
                yield operation


def _public_operations_without_security(result: dict[str, Any]) -> None:
    # drf-spectacular marks an operation anyone may call with `{}` among its requirements; a
    # generator reads any requirement at all as "needs the authenticated client". A token sent
    # to these operations is still read (an owner sees their own draft), and a bad one is 401.
    for operation in _operations(result):
        if {} in operation.get("security", []):
            operation["security"] = []


def _required_choice_bodies(result: dict[str, Any]) -> None:
    # drf-spectacular calls a body required when its component lists required fields; a
    # `oneOf` of shapes (registration) lists them in each shape, and a generator would make
    # the body optional.
    components = result.get("components", {}).get("schemas", {})
    for operation in _operations(result):
        for media in operation.get("requestBody", {}).get("content", {}).values():
            name = media.get("schema", {}).get("$ref", "").rpartition("/")[2]
            choices = components.get(name, {}).get("oneOf", [])
            if choices and all(
                components.get(choice.get("$ref", "").rpartition("/")[2], {}).get("required")
                for choice in choices
            ):
                operation["requestBody"]["required"] = True


def _parameter_enums_as_components(result: dict[str, Any]) -> None:
    # A filter on a field's choices (`employment_type`, `status`) takes the field's enum, so a
    # client passes the same `EmploymentTypeEnum` member it reads from a job.
    components = result.get("components", {}).get("schemas", {})
    by_values = {
        tuple(schema["enum"]): name
        for name, schema in sorted(components.items())
        if "enum" in schema and schema.get("type") == "string"
    }
    for operation in _operations(result):
        for parameter in operation.get("parameters", []):
            values = tuple(parameter.get("schema", {}).get("enum", ()))
            if values in by_values:
                parameter["schema"] = _ref(by_values[values])


def _enum_member_name(value: str) -> str:
    if value == "":
        return "BLANK"
    descending = value.startswith("-")
    name = re.sub(r"\W+", "_", value.lstrip("-")).strip("_").upper()
    return f"{name}_DESC" if descending else name


def _name_enum_members(node: Any) -> None:
    # openapi-python-client names a member after its value when the value starts with a
    # letter, and `VALUE_<n>` otherwise (`-created_at`, `""`); `x-enum-varnames` names them,
    # and names every member of an enum whose values are not all identifiers (`job.published`
    # is `JOB_PUBLISHED` for every generator, not left to each one's sanitising).
    if isinstance(node, dict):
        values = node.get("enum")
        if (
            isinstance(values, list)
            and values
            and all(isinstance(value, str) for value in values)
            and not all(value.isidentifier() for value in values)
        ):
            node["x-enum-varnames"] = [_enum_member_name(value) for value in values]
        for child in node.values():
            _name_enum_members(child)
    elif isinstance(node, list):
        for child in node:
            _name_enum_members(child)


def _bound_integers(result: dict[str, Any]) -> None:
    # Every id is a PostgreSQL bigint the server looks up only in 1..2**63-1 (a path id out of
    # range is 404, a body id a field error); counts are never negative. A `format` tells a
    # generator which integer type holds the value.
    for operation in _operations(result):
        for parameter in operation.get("parameters", []):
            schema = parameter.get("schema", {})
            if parameter["in"] == "path" and schema.get("type") == "integer":
                schema.setdefault("minimum", 1)
                schema.setdefault("maximum", MAX_BIGINT)
            _integer_format(schema)
    for component in result.get("components", {}).get("schemas", {}).values():
        for name, prop in component.get("properties", {}).items():
            if prop.get("type") == "integer" and prop.get("readOnly"):
                prop.setdefault("minimum", 1 if name == "id" else 0)
                prop.setdefault("maximum", MAX_BIGINT)
            _integer_format(prop)


def _integer_format(schema: dict[str, Any]) -> None:
    # Only where the server refuses what is out of range: a format is a bound to validators
    # (an int64 `page_size` would promise a 400 above 2**63-1; a big one is capped instead).
    if schema.get("type") == "integer" and "format" not in schema and "maximum" in schema:
        schema["format"] = "int32" if schema["maximum"] <= MAX_INT32 else "int64"


# The longest text a value of these formats is written as: a hyphenated UUID (Django's `uuid`
# path converter takes no other spelling). Not date-times: Django parses more digits of a
# second than a client should be told to send, so no length is the server's bound.
_FORMAT_MAX_LENGTHS = {"uuid": 36}


def _bound_formatted_strings(result: dict[str, Any]) -> None:
    schemas = [
        parameter.get("schema", {})
        for operation in _operations(result)
        for parameter in operation.get("parameters", [])
    ]
    for component in result.get("components", {}).get("schemas", {}).values():
        schemas += component.get("properties", {}).values()
    for schema in schemas:
        max_length = _FORMAT_MAX_LENGTHS.get(schema.get("format", ""))
        if schema.get("type") == "string" and max_length and "maxLength" not in schema:
            schema["maxLength"] = max_length


def _server(request) -> dict[str, Any]:
    # The scheme, host and port the schema was fetched from (a second deployment, another
    # port), else the configured public URL (`manage.py spectacular`).
    if request is not None:
        url = request.build_absolute_uri("/").rstrip("/")
    else:
        url = settings.PUBLIC_BASE_URL.rstrip("/")
    environment = "local development" if settings.DEBUG else "production"
    return {"url": url, "description": f"This deployment ({environment})", "x-internal": False}
