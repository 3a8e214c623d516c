"""A GraphQL mutation goes down the same pipeline as its REST twin: applying by `applyToJob`
emails the employer through a real Celery worker, and moving the application by
`moveApplication` emails the applicant."""

from __future__ import annotations

import time

import pytest

from core.accounts.models import Role
from core.outbox.models import DeliveryStatus, EmailDelivery
from tests.conftest import client_for
from tests.e2e.conftest import wait_until
from tests.e2e.test_pipeline import make_open_job
from tests.factories import make_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

APPLY = """mutation($input: ApplyToJobInput!) { applyToJob(input: $input) {
    application { id status } errors { field messages } } }"""
MOVE = """mutation($id: ID!) { moveApplication(id: $id, status: REVIEWED) {
    application { status } errors { field messages } } }"""


def graphql(user, query: str, variables: dict) -> dict:
    response = client_for(user).post(
        "/api/graphql/", {"query": query, "variables": variables}, format="json"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


def test_graphql_mutations_send_the_emails_of_their_rest_twins(start_celery, smtp_sink):
    start_celery()
    employer = make_user(Role.EMPLOYER, username="gql_employer")
    seeker = make_user(Role.JOB_SEEKER, username="gql_seeker", first_name="Grace")
    job = make_open_job(employer, title="GraphQL Platform Engineer")

    applied = graphql(
        seeker,
        APPLY,
        {
            "input": {
                "job": str(job.pk),
                "coverLetter": "Sent through GraphQL.",
                "resumeUrl": "https://example.com/grace.pdf",
            }
        },
    )["applyToJob"]
    assert applied["errors"] == []

    wait_until(lambda: smtp_sink.count() >= 1, timeout=15, what="the employer's email")
    received = smtp_sink.received[0]
    assert received.envelope_to == [employer.email]
    assert "GraphQL Platform Engineer" in received.message["Subject"]
    assert "Sent through GraphQL." in received.text()

    moved = graphql(employer, MOVE, {"id": applied["application"]["id"]})["moveApplication"]
    assert moved == {"application": {"status": "REVIEWED"}, "errors": []}
    wait_until(lambda: smtp_sink.count() >= 2, timeout=15, what="the applicant's email")
    time.sleep(1.0)  # a duplicate, if one were coming, would arrive in this time
    assert smtp_sink.count() == 2
    assert smtp_sink.received[1].envelope_to == [seeker.email]
    assert set(EmailDelivery.objects.values_list("status", flat=True)) == {DeliveryStatus.SENT}
