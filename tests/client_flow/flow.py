"""The public contract's flow (CONTRACT.md, part one) through a client generated from the schema.

Generate the client with openapi-python-client (the package `nexus_jobboard_client`, as
`tests/core/test_generated_client.py` and the README do), put it on the path and run:

    python tests/client_flow/flow.py http://localhost:8000

Every call goes through the generated, typed functions and models; the script is also checked
with `mypy --strict`, so a schema that types a body wrongly (a model without its fields, an
operation that demands a token it does not need, an answer documented as "no body") fails here
before it fails a consumer. It exits 0 after the last step, and with the step that went wrong
otherwise. It registers new users on each run, so it can run against any deployment.
"""

from __future__ import annotations

import sys
import uuid
from typing import Any, TypeVar

from nexus_jobboard_client import AuthenticatedClient, Client
from nexus_jobboard_client.api.applications import (
    applications_apply_create,
    applications_employer_list,
    applications_seeker_list,
    applications_status_partial_update,
    applications_withdraw_create,
)
from nexus_jobboard_client.api.categories import categories_create, categories_list
from nexus_jobboard_client.api.jobs import jobs_create_create, jobs_list
from nexus_jobboard_client.api.token import (
    token_blacklist_create,
    token_create,
    token_refresh_create,
    token_verify_create,
)
from nexus_jobboard_client.api.users import users_register_create
from nexus_jobboard_client.models import (
    ActiveAccountTokenVerifyRequest,
    Application,
    ApplicationStatusEnum,
    ApplicationStatusUpdateRequest,
    ApplicationStatusUpdateStatusEnum,
    ApplyRequest,
    Category,
    CategoryWriteRequest,
    EmployerRegistrationRequest,
    EmploymentTypeEnum,
    Error,
    Job,
    JobCreateRequest,
    JobSeekerRegistrationRequest,
    JobsListOrdering,
    LoggedOut,
    PaginatedApplicationList,
    PaginatedJobList,
    RotatingTokenRefreshRequest,
    TokenBlacklistRequest,
    TokenObtainPair,
    TokenObtainPairRequest,
    TokenRefreshResponse,
    TokenVerified,
    User,
)
from nexus_jobboard_client.types import Response

PASSWORD = "c0rrect-Horse-battery-staple"
T = TypeVar("T")


class FlowFailed(Exception):
    pass


def expect(step: str, response: Response[Any], status: int, model: type[T]) -> T:
    """The parsed body of `response`, which must be `status` with a `model` body."""
    parsed = response.parsed
    if response.status_code != status or not isinstance(parsed, model):
        raise FlowFailed(
            f"{step}: expected {status} {model.__name__}, got {response.status_code} "
            f"{response.content[:500]!r}"
        )
    print(f"ok  {step}: {status}")
    return parsed


def log_in(anonymous: Client, username: str) -> TokenObtainPair:
    response = token_create.sync_detailed(
        client=anonymous, body=TokenObtainPairRequest(username=username, password=PASSWORD)
    )
    return expect(f"POST /api/token/ as {username}", response, 200, TokenObtainPair)


def run(base_url: str) -> None:
    anonymous = Client(base_url=base_url, raise_on_unexpected_status=True)
    run_id = uuid.uuid4().hex[:8]
    employer_name, seeker_name = f"acme_{run_id}", f"alice_{run_id}"

    # --- Accounts and tokens
    employer = expect(
        "POST /api/users/register/ (employer)",
        users_register_create.sync_detailed(
            client=anonymous,
            body=EmployerRegistrationRequest(
                username=employer_name,
                email=f"{employer_name}@example.com",
                password=PASSWORD,
                is_employer=True,
            ),
        ),
        201,
        User,
    )
    assert employer.is_employer
    assert not employer.is_job_seeker
    seeker = expect(
        "POST /api/users/register/ (job seeker)",
        users_register_create.sync_detailed(
            client=anonymous,
            body=JobSeekerRegistrationRequest(
                username=seeker_name,
                email=f"{seeker_name}@example.com",
                password=PASSWORD,
                is_job_seeker=True,
            ),
        ),
        201,
        User,
    )
    assert seeker.is_job_seeker
    assert not seeker.is_employer
    employer_tokens = log_in(anonymous, employer_name)
    seeker_tokens = log_in(anonymous, seeker_name)
    as_employer = AuthenticatedClient(
        base_url=base_url, token=employer_tokens.access, raise_on_unexpected_status=True
    )
    as_seeker = AuthenticatedClient(
        base_url=base_url, token=seeker_tokens.access, raise_on_unexpected_status=True
    )

    # --- Categories
    category = expect(
        "POST /api/categories/",
        categories_create.sync_detailed(
            client=as_employer,
            body=CategoryWriteRequest(name=f"Backend {run_id}", slug=f"backend-{run_id}"),
        ),
        201,
        Category,
    )
    listed = categories_list.sync_detailed(client=anonymous)
    if listed.status_code != 200 or not isinstance(listed.parsed, list):
        raise FlowFailed(f"GET /api/categories/: {listed.status_code} {listed.content[:500]!r}")
    assert category.id in [each.id for each in listed.parsed], "the new category is not listed"
    print("ok  GET /api/categories/: 200")

    # --- Jobs
    job = expect(
        "POST /api/jobs/create/",
        jobs_create_create.sync_detailed(
            client=as_employer,
            body=JobCreateRequest(
                title=f"Backend Engineer {run_id}",
                description="Build the APIs of a job board.",
                company_name="Acme",
                location="Berlin",
                employment_type=EmploymentTypeEnum.FULL_TIME,
                category=category.id,
            ),
        ),
        201,
        Job,
    )
    found = expect(
        "GET /api/jobs/?search=...&ordering=created_at",
        jobs_list.sync_detailed(
            client=anonymous, search=run_id, ordering=JobsListOrdering.CREATED_AT
        ),
        200,
        PaginatedJobList,
    )
    assert [each.id for each in found.results] == [job.id], found.results
    newest_first = expect(
        "GET /api/jobs/?ordering=-created_at&employment_type=full_time",
        jobs_list.sync_detailed(
            client=anonymous,
            ordering=JobsListOrdering.CREATED_AT_DESC,
            employment_type=EmploymentTypeEnum.FULL_TIME,
            page_size=1,
        ),
        200,
        PaginatedJobList,
    )
    assert newest_first.results[0].id == job.id, newest_first.results

    # --- Applications
    application = expect(
        "POST /api/applications/apply/",
        applications_apply_create.sync_detailed(
            client=as_seeker,
            body=ApplyRequest(
                job=job.id,
                cover_letter="I build APIs.",
                resume_url="https://example.com/resume.pdf",
            ),
        ),
        201,
        Application,
    )
    assert application.status is ApplicationStatusEnum.SUBMITTED
    twice = applications_apply_create.sync_detailed(
        client=as_seeker, body=ApplyRequest(job=job.id, resume_url="https://example.com/cv.pdf")
    )
    if twice.status_code not in (400, 409):
        raise FlowFailed(f"a second application answered {twice.status_code}")
    print(f"ok  POST /api/applications/apply/ again: {twice.status_code}")
    mine = expect(
        "GET /api/applications/seeker/",
        applications_seeker_list.sync_detailed(client=as_seeker),
        200,
        PaginatedApplicationList,
    )
    assert [each.id for each in mine.results] == [application.id], mine.results
    inbox = expect(
        "GET /api/applications/employer/",
        applications_employer_list.sync_detailed(client=as_employer, job=job.id),
        200,
        PaginatedApplicationList,
    )
    assert [each.id for each in inbox.results] == [application.id], inbox.results
    reviewed = expect(
        "PATCH /api/applications/{id}/status/",
        applications_status_partial_update.sync_detailed(
            application.id,
            client=as_employer,
            body=ApplicationStatusUpdateRequest(
                status=ApplicationStatusUpdateStatusEnum.REVIEWED, note="Thanks, we are reading it."
            ),
        ),
        200,
        Application,
    )
    assert reviewed.status is ApplicationStatusEnum.REVIEWED
    withdrawn = expect(
        "POST /api/applications/{id}/withdraw/",
        applications_withdraw_create.sync_detailed(application.id, client=as_seeker),
        200,
        Application,
    )
    assert withdrawn.status is ApplicationStatusEnum.WITHDRAWN

    # --- Refresh, verify, log out
    pair = expect(
        "POST /api/token/refresh/",
        token_refresh_create.sync_detailed(
            client=anonymous, body=RotatingTokenRefreshRequest(refresh=seeker_tokens.refresh)
        ),
        200,
        TokenRefreshResponse,
    )
    expect(
        "POST /api/token/verify/",
        token_verify_create.sync_detailed(
            client=anonymous, body=ActiveAccountTokenVerifyRequest(token=pair.access)
        ),
        200,
        TokenVerified,
    )
    expect(
        "POST /api/token/blacklist/",
        token_blacklist_create.sync_detailed(
            client=anonymous, body=TokenBlacklistRequest(refresh=pair.refresh)
        ),
        200,
        LoggedOut,
    )
    expect(
        "POST /api/token/refresh/ with the blacklisted token",
        token_refresh_create.sync_detailed(
            client=anonymous, body=RotatingTokenRefreshRequest(refresh=pair.refresh)
        ),
        401,
        Error,
    )


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(f"usage: {argv[0]} BASE_URL (for example http://localhost:8000)", file=sys.stderr)
        return 2
    try:
        run(argv[1].rstrip("/"))
    except FlowFailed as failure:
        print(f"FAILED {failure}", file=sys.stderr)
        return 1
    print("the whole flow passed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
