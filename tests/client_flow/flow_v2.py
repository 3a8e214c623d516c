"""v2's changes through a client generated from v2's schema (`/api/v2/docs/swagger.json`).

Generate the client (`nexus_jobboard_client`) from v2's document, put it on the path and run:

    python tests/client_flow/flow_v2.py http://localhost:8000

Registration with a `role`, a refused login read as problem details, and the job listing paged
by cursor, every call through the generated, typed functions and models; checked with
`mypy --strict` like `flow.py`. Exits 0 after the last step.
"""

from __future__ import annotations

import sys
import uuid
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

from nexus_jobboard_client import AuthenticatedClient, Client
from nexus_jobboard_client.api.categories import categories_create
from nexus_jobboard_client.api.jobs import jobs_create_create, jobs_list
from nexus_jobboard_client.api.token import token_create
from nexus_jobboard_client.api.users import users_register_create
from nexus_jobboard_client.models import (
    Category,
    CategoryWriteRequest,
    EmploymentTypeEnum,
    Error,
    Job,
    JobCreateRequest,
    JobCursorPage,
    RoleEnum,
    RoleRegistrationRequest,
    TokenObtainPair,
    TokenObtainPairRequest,
    User,
)
from nexus_jobboard_client.types import UNSET, Response, Unset

PASSWORD = "c0rrect-Horse-battery-staple"
T = TypeVar("T")


class FlowFailed(Exception):
    pass


def expect(step: str, response: Response[Any], status: int, model: type[T]) -> T:
    parsed = response.parsed
    if response.status_code != status or not isinstance(parsed, model):
        raise FlowFailed(
            f"{step}: expected {status} {model.__name__}, got {response.status_code} "
            f"{response.content[:500]!r}"
        )
    print(f"ok  {step}: {status}")
    return parsed


def cursor_of(link: str | None) -> str | Unset:
    if link is None:
        return UNSET
    return parse_qs(urlsplit(link).query)["cursor"][0]


def run(base_url: str) -> None:
    anonymous = Client(base_url=base_url, raise_on_unexpected_status=True)
    name = f"acme_{uuid.uuid4().hex[:8]}"
    employer = expect(
        "POST /api/v2/users/register/ (role employer)",
        users_register_create.sync_detailed(
            client=anonymous,
            body=RoleRegistrationRequest(
                username=name,
                email=f"{name}@example.com",
                password=PASSWORD,
                role=RoleEnum.EMPLOYER,
            ),
        ),
        201,
        User,
    )
    assert employer.is_employer
    refused = expect(
        "POST /api/v2/token/ (wrong password)",
        token_create.sync_detailed(
            client=anonymous, body=TokenObtainPairRequest(username=name, password="wrong")
        ),
        401,
        Error,
    )
    assert refused.status == 401
    assert refused.code
    tokens = expect(
        "POST /api/v2/token/",
        token_create.sync_detailed(
            client=anonymous, body=TokenObtainPairRequest(username=name, password=PASSWORD)
        ),
        200,
        TokenObtainPair,
    )
    as_employer = AuthenticatedClient(
        base_url=base_url, token=tokens.access, raise_on_unexpected_status=True
    )
    category = expect(
        "POST /api/v2/categories/",
        categories_create.sync_detailed(
            client=as_employer, body=CategoryWriteRequest(name=f"Backend {name}", slug=name)
        ),
        201,
        Category,
    )
    posted = []
    for n in range(3):
        job = expect(
            f"POST /api/v2/jobs/create/ ({n})",
            jobs_create_create.sync_detailed(
                client=as_employer,
                body=JobCreateRequest(
                    title=f"Engineer {n}",
                    description="Build the APIs.",
                    company_name="Acme",
                    location="Berlin",
                    employment_type=EmploymentTypeEnum.FULL_TIME,
                    category=category.id,
                ),
            ),
            201,
            Job,
        )
        posted.append(job.id)

    seen: list[int] = []
    cursor: str | Unset = UNSET
    while True:
        page = expect(
            "GET /api/v2/jobs/ (a cursor page)",
            jobs_list.sync_detailed(
                client=anonymous, category=category.slug, page_size=1, cursor=cursor
            ),
            200,
            JobCursorPage,
        )
        seen += [job.id for job in page.results]
        if not page.next_:
            break
        cursor = cursor_of(page.next_)
    assert seen == list(reversed(posted)), seen
    print("v2: the whole flow passed")


if __name__ == "__main__":
    try:
        run(sys.argv[1])
    except FlowFailed as failure:
        print(f"FAILED {failure}")
        sys.exit(1)
