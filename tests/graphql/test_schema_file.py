"""`schema.graphql` is the schema's SDL as `manage.py graphql_schema` prints it, and the names
clients code against are the contract's."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import call_command

from core.graphql.schema import schema

ROOT = Path(__file__).resolve().parents[2]


def test_the_committed_sdl_is_the_schemas(tmp_path):
    printed = tmp_path / "schema.graphql"
    call_command("graphql_schema", out=str(printed), stdout=open(tmp_path / "log", "w"))  # noqa: SIM115
    assert printed.read_text() == (ROOT / "schema.graphql").read_text(), (
        "schema.graphql is stale: run `python manage.py graphql_schema --out schema.graphql`"
    )


CONTRACT_QUERIES = {
    "jobs": {
        "search",
        "category",
        "employmentType",
        "location",
        "remote",
        "salaryMin",
        "salaryMax",
        "postedSince",
        "ordering",
        "first",
        "after",
    },
    "job": {"id"},
    "categories": set(),
    "me": set(),
    "myJobs": {"status", "first", "after"},
    "myApplications": {"status", "first", "after"},
    "applicationsToMyJobs": {"job", "status", "first", "after"},
    "application": {"id"},
}
CONTRACT_MUTATIONS = {
    "createJob": ({"input"}, "CreateJobPayload"),
    "updateJob": ({"id", "input"}, "UpdateJobPayload"),
    "closeJob": ({"id"}, "CloseJobPayload"),
    "applyToJob": ({"input"}, "ApplyToJobPayload"),
    "moveApplication": ({"id", "status", "note"}, "MoveApplicationPayload"),
    "withdrawApplication": ({"id"}, "WithdrawApplicationPayload"),
}
CONTRACT_FIELDS = {
    "Job": {
        "id",
        "title",
        "description",
        "companyName",
        "location",
        "remote",
        "employmentType",
        "salaryMin",
        "salaryMax",
        "salaryCurrency",
        "status",
        "createdAt",
        "publishedAt",
        "expiresAt",
        "category",
        "applications",
    },
    "Category": {"id", "name", "slug", "openJobsCount"},
    "Application": {
        "id",
        "status",
        "coverLetter",
        "resumeUrl",
        "createdAt",
        "job",
        "history",
        "applicant",
    },
    "ApplicationStatusChange": {"fromStatus", "toStatus", "changedAt", "note"},
    "FieldError": {"field", "messages"},
    "JobConnection": {"totalCount", "edges", "pageInfo"},
    "ApplicationConnection": {"totalCount", "edges", "pageInfo"},
    "PageInfo": {"hasNextPage", "endCursor"},
    "ApplyToJobInput": {"job", "coverLetter", "resumeUrl"},
}


def test_queries_and_mutations_are_the_contracts():
    graphql_schema = schema.graphql_schema
    queries = graphql_schema.query_type.fields
    assert set(queries) == set(CONTRACT_QUERIES)
    for name, arguments in CONTRACT_QUERIES.items():
        assert set(queries[name].args) == arguments, name
    mutations = graphql_schema.mutation_type.fields
    assert set(mutations) == set(CONTRACT_MUTATIONS)
    for name, (arguments, payload) in CONTRACT_MUTATIONS.items():
        assert set(mutations[name].args) == arguments, name
        assert str(mutations[name].type) == f"{payload}!"
        assert {"errors"} < set(graphql_schema.get_type(payload).fields)


@pytest.mark.parametrize(("type_name", "fields"), CONTRACT_FIELDS.items())
def test_types_carry_the_contracts_fields(type_name, fields):
    assert fields <= set(schema.graphql_schema.get_type(type_name).fields)


def test_enum_values_are_the_rest_values_upper_cased():
    graphql_schema = schema.graphql_schema
    assert set(graphql_schema.get_type("JobEmploymentType").values) == {
        "FULL_TIME",
        "PART_TIME",
        "CONTRACT",
        "INTERNSHIP",
        "TEMPORARY",
    }
    assert "SUBMITTED" in graphql_schema.get_type("ApplicationStatus").values
    assert "PUBLISHED" in graphql_schema.get_type("JobStatus").values


def readme_graphql_examples() -> list[str]:
    text = (ROOT / "README.md").read_text()
    return [block.split("```", 1)[0] for block in text.split("```graphql\n")[1:]]


def test_the_readmes_examples_are_valid_against_the_schema():
    from graphql import parse, validate

    examples = readme_graphql_examples()
    assert len(examples) >= 2
    documents = [
        "\n".join(line for line in block.splitlines() if not line.startswith("#"))
        for block in examples
    ]
    operations = [op for doc in documents for op in doc.split("\n\n") if op.strip()]
    assert any(op.lstrip().startswith("mutation") for op in operations)
    assert sum(1 for op in operations if op.lstrip().startswith("{")) >= 3
    for operation in operations:
        assert validate(schema.graphql_schema, parse(operation)) == [], operation
