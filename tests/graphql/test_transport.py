"""The HTTP side of `/api/graphql/`: GET and POST, bodies refused before any document runs,
REST's authentication (sessions ended over REST end here too) and throttles, and failures that
never leak what went wrong inside."""

from __future__ import annotations

import base64
import hashlib
import json
import re

import pytest
from django.db import OperationalError
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from core.jobs import selectors as job_selectors
from core.jobs.models import Job
from tests.factories import PASSWORD
from tests.graphql.conftest import URL, GraphQLAnswer, gql

ME = "{ me { username } }"


# --- GET and POST ---------------------------------------------------------------------------


def test_a_query_by_get(anon_client, job):
    response = anon_client.get(
        URL,
        {
            "query": "query($n: Int) { jobs(first: $n) { totalCount } }",
            "variables": json.dumps({"n": 1}),
        },
    )
    assert response.status_code == 200
    assert response.json() == {"data": {"jobs": {"totalCount": 1}}}


def test_a_mutation_by_get_is_refused_and_changes_nothing(employer_client, job):
    query = f'mutation {{ closeJob(id: "{job.pk}") {{ job {{ status }} }} }}'
    response = employer_client.get(URL, {"query": query})
    assert response.status_code == 405
    assert GraphQLAnswer(response).codes == ["BAD_USER_INPUT"]
    job.refresh_from_db()
    assert job.status == "published"


def test_operation_name_picks_one_operation(anon_client, job):
    document = "query A { jobs { totalCount } } query B { categories { slug } }"
    answer = GraphQLAnswer(
        anon_client.post(URL, {"query": document, "operationName": "B"}, format="json")
    )
    assert answer.data == {"categories": [{"slug": "backend"}]}
    unnamed = gql(anon_client, document)
    assert unnamed.status == 400
    assert unnamed.codes == ["BAD_USER_INPUT"]


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (json.dumps([{"query": ME}, {"query": ME}]), "application/json", 400),  # a batch
        ("{not json", "application/json", 400),
        (json.dumps("just a string"), "application/json", 400),
        (json.dumps({"variables": {}}), "application/json", 400),  # no query
        (json.dumps({"query": 42}), "application/json", 400),
        (json.dumps({"query": ME, "variables": [1]}), "application/json", 400),
        (json.dumps({"query": ME, "operationName": 3}), "application/json", 400),
        ("query=%7B+me+%7D", "application/x-www-form-urlencoded", 415),
    ],
)
def test_bodies_refused_before_anything_runs(
    anon_client, db, django_assert_num_queries, body, content_type, status
):
    with django_assert_num_queries(0):
        response = anon_client.generic("POST", URL, body, content_type=content_type)
    assert response.status_code == status
    answer = GraphQLAnswer(response)
    assert answer.codes == ["BAD_USER_INPUT"]
    assert answer.errors[0]["message"]


def test_a_body_past_the_upload_limit_is_413(anon_client, db, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = json.dumps({"query": '{ jobs(search: "' + "x" * 2000 + '") { totalCount } }'})
    response = anon_client.generic("POST", URL, body, content_type="application/json")
    assert response.status_code == 413
    assert GraphQLAnswer(response).codes == ["BAD_USER_INPUT"]


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        ('{ jobs(first: "ten") { totalCount } }', None),
        ("{ jobs(employmentType: SOMETIMES) { totalCount } }", None),
        ("query($t: JobEmploymentType) { jobs(employmentType: $t) { totalCount } }", {"t": "x"}),
        ("query($n: Int) { jobs(first: $n) { totalCount } }", {"n": "ten"}),
        ("query($n: Int) { jobs(first: $n) { totalCount } }", {"n": 2**40}),
        ("query($d: DateTime) { jobs(postedSince: $d) { totalCount } }", {"d": "yesterday"}),
        ("{ jobs { edges { node { password } } } }", None),
        ("{ jobs { totalCount", None),
        ("\u0000", None),
    ],
)
def test_wrong_types_and_unknown_values_are_bad_input_not_500(anon_client, job, query, variables):
    answer = gql(anon_client, query, variables)
    assert answer.status == 400, answer.body
    assert answer.codes
    assert set(answer.codes) == {"BAD_USER_INPUT"}
    assert answer.data is None


def test_graphiql_page_only_when_enabled(anon_client, db, settings):
    settings.GRAPHIQL_ENABLED = True
    page = anon_client.get(URL, HTTP_ACCEPT="text/html")
    assert page.status_code == 200
    assert page["Content-Type"].startswith("text/html")
    assert b"/static/graphene_django_graphiql_static/graphiql.min.js" in page.content
    raw = anon_client.get(
        URL, {"raw": "", "query": "{ categories { id } }"}, HTTP_ACCEPT="text/html"
    )
    assert raw.json() == {"data": {"categories": []}}
    settings.GRAPHIQL_ENABLED = False
    refused = anon_client.get(URL, HTTP_ACCEPT="text/html")
    assert refused["Content-Type"] == "application/json"
    assert GraphQLAnswer(refused).codes == ["BAD_USER_INPUT"]


def test_graphiql_runs_under_a_policy_that_allows_its_own_inline_script_only(
    anon_client, db, settings
):
    settings.GRAPHIQL_ENABLED = True
    page = anon_client.get(URL, HTTP_ACCEPT="text/html")
    policy = dict(
        directive.strip().split(" ", 1)
        for directive in page["Content-Security-Policy"].split(";")
        if " " in directive.strip()
    )
    assert policy["default-src"] == "'none'"
    assert "'unsafe-inline'" not in policy["script-src"]
    [inline] = re.findall(
        rb"<script type=\"application/javascript\">(.*?)</script>", page.content, re.S
    )
    digest = base64.b64encode(hashlib.sha256(inline).digest()).decode()
    assert policy["script-src"] == f"'self' 'sha256-{digest}'"
    assert policy["connect-src"] == "'self'"


# --- Authentication -------------------------------------------------------------------------


def test_a_broken_token_is_unauthenticated(job):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer not.a.token")
    response = client.post(URL, {"query": "{ jobs { totalCount } }"}, format="json")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert GraphQLAnswer(response).codes == ["UNAUTHENTICATED"]


def log_in(username: str, user_agent: str) -> dict[str, str]:
    response = APIClient().post(
        "/api/token/",
        {"username": username, "password": PASSWORD},
        format="json",
        HTTP_USER_AGENT=user_agent,
    )
    assert response.status_code == 200, response.content
    return response.json()


def bearer(access: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


def end_from_another_session(victim, other):
    sessions = bearer(other["access"]).get("/api/users/me/sessions/").json()
    (target,) = [s["id"] for s in sessions if s["user_agent"] == "victim"]
    assert bearer(other["access"]).delete(f"/api/users/me/sessions/{target}/").status_code == 204


def end_by_logout(victim, other):
    response = APIClient().post(
        "/api/token/blacklist/", {"refresh": victim["refresh"]}, format="json"
    )
    assert response.status_code == 200


@pytest.mark.parametrize("end_session", [end_from_another_session, end_by_logout])
def test_a_session_ended_over_rest_is_unauthenticated_on_the_very_next_request(seeker, end_session):
    victim, other = log_in("alice", "victim"), log_in("alice", "other")
    assert gql(bearer(victim["access"]), ME).data == {"me": {"username": "alice"}}

    end_session(victim, other)

    refused = gql(bearer(victim["access"]), ME)
    assert refused.status == 401
    assert refused.codes == ["UNAUTHENTICATED"]
    assert refused.data is None
    assert gql(bearer(other["access"]), ME).data == {"me": {"username": "alice"}}


# --- Throttles ------------------------------------------------------------------------------


@pytest.fixture
def throttle_rate(settings, monkeypatch):
    """One scope's rate for this test (DRF binds the rates when its module is imported)."""
    assert settings.THROTTLE_ENABLED, "the GraphQL throttle tests need THROTTLE_ENABLED"

    def set_rate(scope: str, rate: str) -> None:
        monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, scope, rate)

    return set_rate


def test_the_apply_scope_counts_every_apply_mutation(seeker_client, make_job, throttle_rate):
    throttle_rate("apply", "2/hour")
    jobs = [make_job(title=f"Job {n}") for n in range(3)]
    one = (
        'a{n}: applyToJob(input: {{job: "{pk}", resumeUrl: "https://example.com/cv.pdf"}})'
        " {{ errors {{ field }} }}"
    )
    first = gql(seeker_client, "mutation { " + one.format(n=0, pk=jobs[0].pk) + " }")
    assert first.data == {"a0": {"errors": []}}
    # Two more in one request, one through a fragment: both count, the second is over the rate.
    both = (
        "mutation { " + one.format(n=1, pk=jobs[1].pk) + " ...More }"
        " fragment More on Mutation { " + one.format(n=2, pk=jobs[2].pk) + " }"
    )
    refused = gql(seeker_client, both)
    assert refused.status == 429
    assert refused.codes == ["RATE_LIMITED"]
    assert int(refused.response["Retry-After"]) >= 1
    assert jobs[0].applications.count() == 1
    assert not jobs[1].applications.exists()
    assert not jobs[2].applications.exists()


def test_the_job_post_scope_applies_to_create_job(employer_client, category, throttle_rate):
    throttle_rate("job_post", "1/hour")
    create = """mutation { createJob(input: {title: "T", description: "D", companyName: "C",
        location: "L", employmentType: FULL_TIME, category: "%d"}) { errors { field } } }"""
    assert gql(employer_client, create % category.pk).data == {"createJob": {"errors": []}}
    refused = gql(employer_client, create % category.pk)
    assert refused.codes == ["RATE_LIMITED"]
    assert Job.objects.count() == 1
    # REST's twin shares the count: the same scope and the same client.
    rest = employer_client.post("/api/jobs/create/", {}, format="json")
    assert rest.status_code == 429


def test_the_anonymous_rate_holds_for_graphql(anon_client, db, throttle_rate):
    throttle_rate("anon", "2/min")
    assert gql(anon_client, "{ categories { id } }").status == 200
    assert anon_client.get("/api/categories/").status_code == 200
    refused = gql(anon_client, "{ categories { id } }")
    assert refused.status == 429
    assert refused.codes == ["RATE_LIMITED"]


# --- Failures -------------------------------------------------------------------------------


def test_a_database_outage_is_503_like_rest(anon_client, job, monkeypatch):
    def down(**kwargs):
        raise OperationalError('could not connect to server: Connection refused "db.internal"')

    monkeypatch.setattr(job_selectors, "list_open_jobs", down)
    response = anon_client.post(URL, {"query": "{ jobs { totalCount } }"}, format="json")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    answer = GraphQLAnswer(response)
    assert answer.codes == ["SERVICE_UNAVAILABLE"]
    assert "db.internal" not in response.content.decode()


def test_a_bug_in_a_resolver_shows_nothing_of_it(anon_client, job, monkeypatch, caplog):
    def broken(**kwargs):
        raise RuntimeError('relation "core_job" SELECT secret FROM internals')

    monkeypatch.setattr(job_selectors, "categories_with_open_job_counts", broken)
    response = anon_client.post(
        URL, {"query": "{ categories { id } jobs { totalCount } }"}, format="json"
    )
    assert response.status_code == 200
    answer = GraphQLAnswer(response)
    assert answer.data is None  # `categories` is non-null: its failure nulls the whole answer
    assert answer.codes == ["INTERNAL_SERVER_ERROR"]
    assert answer.errors[0]["message"] == "Internal server error."
    text = response.content.decode()
    for leak in ("secret", "Traceback", "core_job"):
        assert leak not in text
    assert "secret" in caplog.text  # the operator sees it in the log
