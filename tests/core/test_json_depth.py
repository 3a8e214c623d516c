"""A JSON body nested a thousand levels deep is a 400 `json_too_deep`, never a 500.

Python's `json` recurses once per level; about a thousand levels (ten kilobytes) raised
`RecursionError` in DRF's parser. `core.json_bounds` refuses a document nested deeper than its
bound before parsing, and the REST layer's parser (`core.api.parsers.JSONParser`) answers that as
a 400 on every endpoint that reads JSON: the sweep below takes them from the OpenAPI schema.
"""

from __future__ import annotations

import json
import re

import pytest
from drf_spectacular.generators import SchemaGenerator

from core import json_bounds
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

DEPTHS = [1_000, 10_000]


def deep_array(levels: int) -> str:
    return "[" * levels + "]" * levels


def deep_object(levels: int) -> str:
    return '{"a":' * levels + "1" + "}" * levels


def assert_too_deep(response) -> None:
    assert response.status_code == 400, response.content[:300]
    body = response.json()
    if "errors" in body:  # GraphQL: the same refusal, as a GraphQL error with its code
        [error] = body["errors"]
        assert error["extensions"]["code"] == "BAD_USER_INPUT", body
        assert "nested deeper than" in error["message"]
        return
    assert body["code"] == "json_too_deep", body
    assert "nested deeper than" in body["detail"]


# --- The bound itself -----------------------------------------------------------------------


def test_the_depth_counts_brackets_outside_strings_only():
    three = '{"a": [1, {"b": "[[[{{{"}], "c": "\\"]]]"}'
    assert not json_bounds.exceeds_depth(three, 3)
    assert json_bounds.exceeds_depth(three, 2)
    assert not json_bounds.exceeds_depth(b'["\\\\", [["x"]]]', 3)
    assert json_bounds.exceeds_depth(b'["\\\\", [["x"]]]', 2)
    assert json_bounds.exceeds_depth('[{"a": [{}]}]', 3)  # both kinds count as one
    assert not json_bounds.exceeds_depth("", 0)
    assert not json_bounds.exceeds_depth("]]][[][", 2)  # malformed: the parser refuses it


def test_a_document_at_the_bound_parses_and_one_level_more_is_refused():
    limit = json_bounds.MAX_DEPTH
    assert json_bounds.loads(deep_array(limit)) == json.loads(deep_array(limit))
    with pytest.raises(json_bounds.JSONTooDeep):
        json_bounds.loads(deep_array(limit + 1))
    with pytest.raises(json_bounds.JSONTooDeep):
        json_bounds.loads(deep_object(10_000).encode())


def test_many_brackets_that_do_not_nest_are_not_refused():
    wide = json.dumps([[i] for i in range(5_000)])
    assert len(json_bounds.loads(wide)) == 5_000
    inside_a_string = json.dumps({"text": "[" * 10_000})
    assert json_bounds.loads(inside_a_string)["text"] == "[" * 10_000


def test_an_unterminated_string_of_escaped_quotes_is_scanned_once():
    # Each quote would restart a naive string match to the end of the body: quadratic.
    hostile = "[" * 200 + '"' + '\\"' * 100_000
    assert not json_bounds.exceeds_depth(hostile, 200)
    with pytest.raises(ValueError, match="Unterminated string"):
        json_bounds.loads(hostile, limit=200)


# --- The contract's requests ----------------------------------------------------------------


@pytest.mark.parametrize("levels", DEPTHS)
@pytest.mark.parametrize("shape", [deep_array, deep_object])
def test_login_and_registration_refuse_deep_bodies(anon_client, levels, shape):
    for url in ("/api/token/", "/api/users/register/"):
        response = anon_client.post(url, data=shape(levels), content_type="application/json")
        assert_too_deep(response)


@pytest.mark.parametrize("levels", DEPTHS)
def test_posting_a_job_refuses_a_deep_body(employer_client, levels):
    body = '{"title": "x", "category": ' + deep_array(levels) + "}"
    response = employer_client.post("/api/jobs/create/", data=body, content_type="application/json")
    assert_too_deep(response)


def test_a_deep_body_in_another_charset_is_refused_too(anon_client):
    response = anon_client.post(
        "/api/token/",
        data=deep_array(1_000).encode("utf-16"),
        content_type="application/json; charset=utf-16",
    )
    assert_too_deep(response)


def test_ordinary_bodies_still_parse(anon_client):
    response = anon_client.post(
        "/api/token/", data={"username": "nobody", "password": "x" * 12}, format="json"
    )
    assert response.status_code == 401


# --- Every JSON endpoint --------------------------------------------------------------------


def _json_operations() -> list[tuple[str, str, bool]]:
    """(method, path template, body required) of every operation taking a JSON body."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    found = []
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            body = operation.get("requestBody")
            if body and "application/json" in body.get("content", {}):
                found.append((method, path, bool(body.get("required"))))
    return sorted(found)


JSON_OPERATIONS = _json_operations()


def test_the_sweep_covers_the_contract():
    paths = {path for _method, path, _required in JSON_OPERATIONS}
    assert {"/api/token/", "/api/users/register/", "/api/jobs/create/"} <= paths
    assert len(JSON_OPERATIONS) >= 15


@pytest.mark.parametrize("levels", DEPTHS)
@pytest.mark.parametrize(
    ("method", "path", "required"), JSON_OPERATIONS, ids=[f"{m} {p}" for m, p, _ in JSON_OPERATIONS]
)
def test_every_json_endpoint_refuses_a_deep_body(
    method, path, required, levels, employer, seeker, admin_user, application
):
    """As every role, with ids of objects each may touch: a body the view reads is a 400
    `json_too_deep`; a role turned away before the body is read gets its 401/403/404."""
    url = re.sub(
        r"\{(\w+)\}",
        lambda m: (
            "00000000-0000-0000-0000-000000000000"
            if "session" in path
            else str(
                application.pk
                if "applications" in path
                else application.job.category_id
                if "categories" in path
                else application.job_id
            )
        ),
        path,
    )
    refused_as_too_deep = []
    for user in (None, employer, seeker, admin_user):
        response = getattr(client_for(user), method)(
            url, data=deep_array(levels), content_type="application/json"
        )
        assert response.status_code < 500, (user, response.content[:300])
        assert response.status_code not in (200, 201, 202, 204), (user, response.content[:300])
        if response.status_code == 400:
            assert_too_deep(response)
            refused_as_too_deep.append(user)
    if required:
        assert refused_as_too_deep, f"no role's request to {method} {url} reached the parser"
