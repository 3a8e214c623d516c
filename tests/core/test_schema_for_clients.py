"""The OpenAPI schema as code generators and API tools read it.

`tests/core/test_generated_client.py` generates a client and runs it; these check the schema's
promises one by one, fast: registration's body accepts exactly the contract's bodies and is two
complete shapes, public operations carry no security requirement, every answer has a body
model, enum members have names, ids and pages have bounds the server enforces, and `servers`
names the origin the schema was fetched from.
"""

from __future__ import annotations

import jsonschema
import pytest
from rest_framework.test import APIClient

from core.api.schema import MAX_BIGINT

SCHEMA_URL = "/api/docs/swagger.json"

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema() -> dict:
    response = APIClient().get(SCHEMA_URL)
    assert response.status_code == 200, response.content
    return response.json()


def body_validator(schema: dict, path: str, method: str = "post") -> jsonschema.Validator:
    body = schema["paths"][path][method]["requestBody"]
    assert body["required"] is True
    document = {
        **body["content"]["application/json"]["schema"],
        "components": schema["components"],
    }
    return jsonschema.Draft7Validator(document)


def test_registration_accepts_exactly_the_contract_bodies(schema):
    validator = body_validator(schema, "/api/users/register/")
    person = {"username": "acme", "password": "S3cure-Passw0rd!", "email": "hr@acme.test"}

    assert validator.is_valid({**person, "is_job_seeker": True})
    assert validator.is_valid({**person, "is_employer": True})
    assert validator.is_valid({**person, "is_employer": True, "is_job_seeker": False})
    assert not validator.is_valid({**person, "is_employer": True, "is_job_seeker": True})
    assert not validator.is_valid({**person, "is_employer": False, "is_job_seeker": False})
    assert not validator.is_valid(person)
    assert not validator.is_valid({"username": "acme", "is_employer": True})


def test_registration_is_two_complete_shapes(schema):
    components = schema["components"]["schemas"]
    choices = components["RegisterRequest"]["oneOf"]

    names = [choice["$ref"].rpartition("/")[2] for choice in choices]
    assert names == ["EmployerRegistrationRequest", "JobSeekerRegistrationRequest"]
    for name, flag in zip(names, ["is_employer", "is_job_seeker"], strict=True):
        shape = components[name]
        assert set(shape["required"]) == {"username", "email", "password", flag}
        assert set(shape["properties"]) == {
            "username",
            "email",
            "password",
            "is_employer",
            "is_job_seeker",
        }


def test_operations_anyone_may_call_carry_no_security_requirement(schema):
    public = [
        ("/api/users/register/", "post"),
        ("/api/token/", "post"),
        ("/api/token/refresh/", "post"),
        ("/api/token/verify/", "post"),
        ("/api/token/blacklist/", "post"),
        ("/api/categories/", "get"),
        ("/api/jobs/", "get"),
        ("/api/jobs/{id}/", "get"),
    ]
    for path, method in public:
        assert not schema["paths"][path][method].get("security"), (path, method)
    # A token sent where it is optional is still read, and a bad one refused: documented.
    assert "401" in schema["paths"]["/api/jobs/{id}/"]["get"]["responses"]
    assert schema["paths"]["/api/categories/"]["post"]["security"] == [{"jwtAuth": []}]


def test_verify_and_logout_document_their_empty_object(schema):
    for path in ("/api/token/verify/", "/api/token/blacklist/"):
        answer = schema["paths"][path]["post"]["responses"]["200"]
        name = answer["content"]["application/json"]["schema"]["$ref"].rpartition("/")[2]
        component = schema["components"]["schemas"][name]
        assert component["type"] == "object"
        assert component["additionalProperties"] is False
        assert component["description"]


def test_every_string_enum_member_has_a_name(schema):
    def enums(node):
        if isinstance(node, dict):
            values = node.get("enum")
            if isinstance(values, list) and all(isinstance(value, str) for value in values):
                yield node
            for child in node.values():
                yield from enums(child)
        elif isinstance(node, list):
            for child in node:
                yield from enums(child)

    found = list(enums(schema))
    assert found
    for enum in found:
        values = enum["enum"]
        names = enum.get("x-enum-varnames") or [value.upper() for value in values]
        assert all(name.isidentifier() and name[0].isalpha() for name in names), enum
        assert len(set(names)) == len(names), enum
    ordering = next(
        p["schema"]
        for p in schema["paths"]["/api/jobs/"]["get"]["parameters"]
        if p["name"] == "ordering"
    )
    varnames = dict(zip(ordering["enum"], ordering["x-enum-varnames"], strict=True))
    assert varnames["-created_at"] == "CREATED_AT_DESC"


def test_filters_on_a_fields_choices_reuse_its_enum(schema):
    parameters = {p["name"]: p for p in schema["paths"]["/api/jobs/"]["get"]["parameters"]}
    inbox = schema["paths"]["/api/applications/employer/"]["get"]["parameters"]

    assert parameters["employment_type"]["schema"] == {
        "$ref": "#/components/schemas/EmploymentTypeEnum"
    }
    assert {"$ref": "#/components/schemas/ApplicationStatusEnum"} in [p["schema"] for p in inbox]


def test_ids_pages_and_credentials_have_the_bounds_the_server_enforces(schema):
    job_id = schema["paths"]["/api/jobs/{id}/"]["get"]["parameters"][0]["schema"]
    assert (job_id["minimum"], job_id["maximum"], job_id["format"]) == (1, MAX_BIGINT, "int64")
    apply = schema["components"]["schemas"]["ApplyRequest"]["properties"]["job"]
    assert (apply["minimum"], apply["maximum"]) == (1, MAX_BIGINT)
    page = next(
        p["schema"]
        for p in schema["paths"]["/api/jobs/"]["get"]["parameters"]
        if p["name"] == "page"
    )
    assert page["minimum"] == 1
    assert "maximum" in page
    results = schema["components"]["schemas"]["PaginatedJobList"]["properties"]["results"]
    assert results["maxItems"] == 100
    components = schema["components"]["schemas"]
    login = components["TokenObtainPairRequest"]["properties"]
    assert (login["username"]["maxLength"], login["password"]["maxLength"]) == (150, 128)
    for name, field in [
        ("RotatingTokenRefreshRequest", "refresh"),
        ("TokenBlacklistRequest", "refresh"),
        ("ActiveAccountTokenVerifyRequest", "token"),
    ]:
        assert components[name]["properties"][field]["maxLength"] == 2048, name


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/token/", {"username": "u" * 151, "password": "whatever"}),
        ("/api/token/", {"username": "someone", "password": "p" * 129}),
        ("/api/token/refresh/", {"refresh": "x" * 2049}),
        ("/api/token/verify/", {"token": "x" * 2049}),
        ("/api/token/blacklist/", {"refresh": "x" * 2049}),
    ],
)
def test_a_credential_longer_than_the_schema_allows_is_a_field_error(path, body):
    response = APIClient().post(path, body, format="json")

    assert response.status_code == 400, response.content
    (field,) = [name for name, value in body.items() if len(value) > 128]
    assert field in response.json(), response.json()


def test_servers_names_the_origin_the_schema_was_fetched_from():
    schema = APIClient().get(SCHEMA_URL, HTTP_HOST="localhost:8123").json()

    assert schema["servers"][0]["url"] == "http://localhost:8123"
    assert schema["servers"][0]["x-internal"] is False


def test_schema_descriptions_are_for_consumers(schema):
    """No module paths, cache or locking notes in what a consumer reads."""
    texts = [schema["info"]["description"]]
    for methods in schema["paths"].values():
        texts += [operation.get("description", "") for operation in methods.values()]
    for component in schema["components"]["schemas"].values():
        texts.append(component.get("description", ""))
    published = "\n".join(texts)
    for note in ("core.", "simplejwt", "cache", "lock", "serializer", "the contract's path"):
        assert note not in published, note
