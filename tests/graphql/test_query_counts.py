"""N+1-free: a page of jobs with their categories, and of a seeker's applications with their
job, category and history, costs the same number of SQL queries for 10 items as for 100."""

from __future__ import annotations

import factory
import pytest

from core.applications.models import ApplicationStatusChange
from tests.factories import ApplicationFactory, CategoryFactory, bulk_jobs
from tests.graphql.conftest import gql

JOBS = """query($n: Int) { jobs(first: $n) { totalCount edges { cursor node { id title
    description companyName location remote employmentType salaryMin salaryMax salaryCurrency
    status createdAt publishedAt expiresAt category { id name slug } } }
    pageInfo { hasNextPage endCursor } } }"""

MY_APPLICATIONS = """query($n: Int) { myApplications(first: $n) { totalCount edges { node {
    id status coverLetter resumeUrl createdAt
    job { id title description companyName status category { id name slug } }
    history { fromStatus toStatus changedAt note } } } } }"""

# Jobs: the page, counted in the same query. Applications: authentication (the user; the
# session's state is cached), the page with its jobs, categories and count, their history.
JOB_QUERIES = 1
APPLICATION_QUERIES = 3


@pytest.mark.parametrize("size", [10, 100])
def test_jobs_with_categories(anon_client, employer, size, django_assert_max_num_queries):
    categories = CategoryFactory.create_batch(5)
    bulk_jobs(size + 1, employer=employer, category=factory.Iterator(categories))
    with django_assert_max_num_queries(JOB_QUERIES):
        answer = gql(anon_client, JOBS, {"n": size})
    edges = answer.data["jobs"]["edges"]
    assert len(edges) == size
    assert answer.data["jobs"]["totalCount"] == size + 1
    assert {edge["node"]["category"]["slug"] for edge in edges} == {c.slug for c in categories}


@pytest.mark.parametrize("size", [10, 100])
def test_my_applications_with_job_category_and_history(
    seeker, seeker_client, employer, size, django_assert_max_num_queries
):
    categories = CategoryFactory.create_batch(3)
    jobs = bulk_jobs(size + 1, employer=employer, category=factory.Iterator(categories))
    applications = ApplicationFactory.create_batch(
        size + 1, applicant=seeker, job=factory.Iterator(jobs)
    )
    ApplicationStatusChange.objects.bulk_create(
        ApplicationStatusChange(application=a, from_status="", to_status="submitted")
        for a in applications
    )
    gql(seeker_client, "{ me { id } }")  # the session's state is cached from here on
    with django_assert_max_num_queries(APPLICATION_QUERIES):
        answer = gql(seeker_client, MY_APPLICATIONS, {"n": size})
    assert "errors" not in answer.body, answer.body
    edges = answer.data["myApplications"]["edges"]
    assert len(edges) == size
    assert answer.data["myApplications"]["totalCount"] == size + 1
    for edge in edges:
        node = edge["node"]
        assert node["job"]["category"]["slug"] in {c.slug for c in categories}
        assert [(h["fromStatus"], h["toStatus"]) for h in node["history"]] == [(None, "SUBMITTED")]
