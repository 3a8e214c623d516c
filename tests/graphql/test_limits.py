"""The bounds of a document, each refused with its code before any SQL runs, and configurable
in settings; introspection off unless switched on."""

from __future__ import annotations

import pytest

from tests.graphql.conftest import gql


def nested_jobs(levels: int) -> str:
    """`jobs { edges { node { category ... } } }` with `levels` connections of applications
    and jobs nested in between: depth grows by three per level."""
    inner = "id"
    for _ in range(levels):
        inner = f"applications {{ edges {{ node {{ job {{ {inner} }} }} }} }}"
    return f"{{ jobs {{ edges {{ node {{ {inner} }} }} }} }}"


def refused_before_sql(client, django_assert_num_queries, query, variables=None):
    with django_assert_num_queries(0):
        answer = gql(client, query, variables)
    assert answer.status == 400, answer.body
    assert answer.data is None
    return answer


@pytest.fixture
def jobs_exist(job):
    """A job in the database, so a query that did run would issue SQL."""
    return job


def test_an_allowed_query_does_run_sql(anon_client, jobs_exist, django_assert_num_queries):
    # The counter-check of the tests below: the same shape under the limits costs queries.
    with django_assert_num_queries(1):  # the page; it holds every job, so no count
        answer = gql(anon_client, "{ jobs(first: 5) { totalCount edges { node { id } } } }")
    assert answer.data["jobs"]["totalCount"] == 1


def test_depth_over_the_limit(anon_client, jobs_exist, django_assert_num_queries):
    answer = refused_before_sql(anon_client, django_assert_num_queries, nested_jobs(2))
    assert answer.codes == ["QUERY_TOO_COMPLEX"]
    assert "depth" in answer.errors[0]["message"]
    # One level less is within the default depth of 8 (it answers; its nested applications
    # are the owner's only, so an anonymous caller gets nulls with FORBIDDEN).
    assert gql(anon_client, "{ jobs { edges { node { id category { slug } } } } }").status == 200


def test_depth_limit_is_a_setting(anon_client, jobs_exist, settings, django_assert_num_queries):
    settings.GRAPHQL_MAX_DEPTH = 3
    query = "{ jobs { edges { node { category { slug } } } } }"
    answer = refused_before_sql(anon_client, django_assert_num_queries, query)
    assert answer.codes == ["QUERY_TOO_COMPLEX"]


def test_aliases_over_the_limit(anon_client, jobs_exist, django_assert_num_queries):
    fifteen = " ".join(f"c{n}: categories {{ id }}" for n in range(15))
    assert gql(anon_client, f"{{ {fifteen} }}").status == 200
    sixteen = fifteen + " c15: categories { id }"
    answer = refused_before_sql(anon_client, django_assert_num_queries, f"{{ {sixteen} }}")
    assert answer.codes == ["QUERY_TOO_COMPLEX"]
    assert "aliases" in answer.errors[0]["message"]


def test_aliases_inside_fragments_count(anon_client, jobs_exist, django_assert_num_queries):
    fields = " ".join(f"n{n}: name" for n in range(16))
    query = f"{{ categories {{ ...C }} }} fragment C on Category {{ {fields} }}"
    answer = refused_before_sql(anon_client, django_assert_num_queries, query)
    assert answer.codes == ["QUERY_TOO_COMPLEX"]


def test_tokens_over_the_limit(anon_client, jobs_exist, django_assert_num_queries):
    query = "{ categories { " + "id " * 2100 + "} }"
    answer = refused_before_sql(anon_client, django_assert_num_queries, query)
    assert answer.codes == ["QUERY_TOO_COMPLEX"]
    assert "tokens" in answer.errors[0]["message"]


def test_nesting_too_deep_for_the_parser_is_refused_not_a_500(
    anon_client, db, settings, django_assert_num_queries
):
    settings.GRAPHQL_MAX_TOKENS = 1_000_000
    query = "{ jobs " + "{ edges " * 20_000 + "}" * 20_001
    answer = refused_before_sql(anon_client, django_assert_num_queries, query)
    assert answer.codes == ["QUERY_TOO_COMPLEX"]


def test_a_valid_document_thousands_of_levels_deep(
    anon_client, jobs_exist, settings, django_assert_num_queries
):
    settings.GRAPHQL_MAX_TOKENS = 1_000_000
    answer = refused_before_sql(anon_client, django_assert_num_queries, nested_jobs(400))
    assert answer.codes == ["QUERY_TOO_COMPLEX"]


def test_cost_of_nested_connections(employer_client, jobs_exist, django_assert_max_num_queries):
    # 100 jobs x 100 applications each: far past the default cost even though each `first`
    # is within 100. (Signed in: authentication's own queries are all that may run.)
    query = """{ myJobs(first: 100) { edges { node { id
        applications(first: 100) { edges { node { id status } } } } } } }"""
    with django_assert_max_num_queries(2):
        answer = gql(employer_client, query)
    assert answer.status == 400
    assert answer.codes == ["QUERY_TOO_COMPLEX"], answer.body
    assert answer.errors[0]["extensions"]["cost"] > answer.errors[0]["extensions"]["maxCost"]
    cheap = "{ myJobs(first: 10) { edges { node { applications(first: 10) { totalCount } } } } }"
    assert gql(employer_client, cheap).status == 200


def test_cost_counts_first_given_by_a_variable(
    anon_client, jobs_exist, settings, django_assert_num_queries
):
    settings.GRAPHQL_MAX_COST = 50
    query = "query($n: Int) { jobs(first: $n) { edges { node { id title } } } }"
    assert gql(anon_client, query, {"n": 5}).status == 200
    answer = refused_before_sql(anon_client, django_assert_num_queries, query, {"n": 100})
    assert answer.codes == ["QUERY_TOO_COMPLEX"]


@pytest.mark.parametrize("variables", [None, {"n": 101}])
def test_first_is_capped_at_100(anon_client, jobs_exist, django_assert_num_queries, variables):
    query = "query($n: Int) { jobs(first: $n) { totalCount } }"
    if variables is None:
        query = "{ jobs(first: 101) { totalCount } }"
    answer = refused_before_sql(anon_client, django_assert_num_queries, query, variables)
    assert answer.codes == ["BAD_USER_INPUT"]
    assert "first" in answer.errors[0]["message"]


INTROSPECTION = "{ __schema { queryType { name } } }"


def test_introspection_is_off_by_default(anon_client, db, settings, django_assert_num_queries):
    assert settings.GRAPHQL_INTROSPECTION is False
    answer = refused_before_sql(anon_client, django_assert_num_queries, INTROSPECTION)
    assert answer.codes == ["FORBIDDEN"]
    type_query = gql(anon_client, '{ __type(name: "Job") { name } }')
    assert type_query.codes == ["FORBIDDEN"]


def test_introspection_when_switched_on(anon_client, db, settings):
    settings.GRAPHQL_INTROSPECTION = True
    answer = gql(anon_client, INTROSPECTION)
    assert answer.data == {"__schema": {"queryType": {"name": "Query"}}}


def test_typename_stays_available(anon_client, jobs_exist):
    answer = gql(anon_client, "{ __typename jobs { __typename } }")
    assert answer.data == {"__typename": "Query", "jobs": {"__typename": "JobConnection"}}
