"""Who may call what: every route of `core/api/urls.py` against every kind of caller.

One table lists each request (method, URL template, body) with the status each role gets:
anonymous on a protected route is 401, the wrong role 403, the right role on someone else's object
404 (existence is never confirmed), the owner or an admin a 2xx. A refused request must leave the
database exactly as it was, and a guard test fails when a route is added without a row here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any
from urllib.parse import urlencode

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, include, path, resolve
from rest_framework.response import Response
from rest_framework.test import APIClient
from rest_framework.views import APIView
from rest_framework_simplejwt.tokens import RefreshToken

from core.accounts import services as account_services
from core.accounts.models import User, UserSession
from core.alerts import selectors as alert_selectors
from core.alerts import services as alert_services
from core.alerts.models import JobAlert
from core.api import accounts as account_views
from core.api import jobs as job_views
from core.api.accounts import session_refresh_token
from core.applications.models import Application
from core.jobs import services
from core.jobs.models import Category, Job, JobStatus
from core.outbox.models import OutboxEvent
from core.webhooks import services as webhook_services
from core.webhooks.models import WebhookDelivery, WebhookEndpoint
from jobboard import urls as root_urls
from tests.conftest import client_for
from tests.factories import PASSWORD

ROLES = ["anonymous", "seeker", "other_seeker", "employer", "other_employer", "admin"]

# Shorthands for the usual shapes of a row.
EVERYONE = dict.fromkeys(ROLES, 200)
SIGNED_IN = {**EVERYONE, "anonymous": 401}


def _employers_only(ok: int) -> dict[str, int]:
    return {
        "anonymous": 401,
        "seeker": 403,
        "other_seeker": 403,
        "employer": ok,
        "other_employer": ok,
        "admin": 403,
    }


def _seekers_only(ok: int) -> dict[str, int]:
    return {
        "anonymous": 401,
        "seeker": ok,
        "other_seeker": ok,
        "employer": 403,
        "other_employer": 403,
        "admin": 403,
    }


def _job_owner_or_admin(ok: int) -> dict[str, int]:
    return {
        "anonymous": 401,
        "seeker": 403,
        "other_seeker": 403,
        "employer": ok,
        "other_employer": 404,
        "admin": ok,
    }


def _own_alert(ok: int) -> dict[str, int]:
    return {**_seekers_only(ok), "other_seeker": 404}


def _own_endpoint(ok: int) -> dict[str, int]:
    return {**_employers_only(ok), "other_employer": 404}


ADMIN_ONLY_200 = {**dict.fromkeys(ROLES, 403), "anonymous": 401, "admin": 200}


@dataclass
class World:
    """Fresh objects for one test: a published job and a draft of `employer`, an application."""

    users: dict[str, User | None]
    category: Category
    spare_category: Category
    job: Job
    draft: Job
    open_job: Job
    application: Application
    session: UserSession
    alert: JobAlert
    endpoint: WebhookEndpoint
    delivery: WebhookDelivery

    def ids(self) -> dict[str, Any]:
        return {
            "alert": self.alert.pk,
            "alert_token": alert_selectors.unsubscribe_token(self.alert),
            "hook": self.endpoint.pk,
            "delivery": self.delivery.pk,
            "session": self.session.pk,
            "category": self.category.pk,
            "spare_category": self.spare_category.pk,
            "job": self.job.pk,
            "draft": self.draft.pk,
            "open_job": self.open_job.pk,
            "app": self.application.pk,
        }


Body = Callable[[World, User | None], Any]


def _no_body(world: World, user: User | None) -> None:
    return None


def _register_body(world: World, user: User | None) -> dict[str, Any]:
    return {
        "username": "newcomer",
        "password": "Plenty-0f-Entropy-42",
        "email": "newcomer@example.com",
        "is_job_seeker": True,
    }


def _profile_body(world: World, user: User | None) -> dict[str, Any]:
    return {"first_name": "Renamed"}


def _password_body(world: World, user: User | None) -> dict[str, Any]:
    return {"old_password": PASSWORD, "new_password": "Another-Long-Passphrase-77"}


def _credentials_body(world: World, user: User | None) -> dict[str, Any]:
    # Token endpoints ignore the caller's own token; anonymous callers log in as the seeker.
    owner = user or world.users["seeker"]
    return {"username": owner.username, "password": PASSWORD}


def _refresh_body(world: World, user: User | None) -> dict[str, Any]:
    return {"refresh": str(RefreshToken.for_user(user or world.users["seeker"]))}


def _verify_body(world: World, user: User | None) -> dict[str, Any]:
    return {"token": str(session_refresh_token(user or world.users["seeker"]).access_token)}


def _reset_body(world: World, user: User | None) -> dict[str, Any]:
    return {"email": world.users["seeker"].email}


def _forged_reset_body(world: World, user: User | None) -> dict[str, Any]:
    return {"uid": "MQ", "token": "forged-token", "new_password": "Another-Long-Passphrase-77"}


def _new_category_body(world: World, user: User | None) -> dict[str, Any]:
    return {"name": "Frontend", "slug": "frontend"}


def _category_put_body(world: World, user: User | None) -> dict[str, Any]:
    return {"name": "Server side", "slug": "server-side"}


def _category_patch_body(world: World, user: User | None) -> dict[str, Any]:
    return {"name": "Server side"}


def _job_body(world: World, user: User | None) -> dict[str, Any]:
    return {
        "title": "Platform Engineer",
        "description": "Keep the lights on.",
        "company_name": "Acme",
        "location": "Remote",
        "employment_type": "full_time",
        "category": world.category.pk,
    }


def _job_patch_body(world: World, user: User | None) -> dict[str, Any]:
    return {"title": "Senior Backend Engineer"}


def _apply_body(world: World, user: User | None) -> dict[str, Any]:
    return {
        "job": world.open_job.pk,
        "cover_letter": "Hello",
        "resume_url": "https://example.com/resume.pdf",
    }


def _status_body(world: World, user: User | None) -> dict[str, Any]:
    return {"status": "reviewed", "note": "Looks good"}


def _register_body_v2(world: World, user: User | None) -> dict[str, Any]:
    body = _register_body(world, user)
    del body["is_job_seeker"]
    return {**body, "role": "job_seeker"}


def _alert_body(world: World, user: User | None) -> dict[str, Any]:
    return {"name": "Django roles", "filters": {"search": "django"}, "frequency": "daily"}


def _alert_patch_body(world: World, user: User | None) -> dict[str, Any]:
    return {"is_active": False}


def _one_click_body(world: World, user: User | None) -> dict[str, str]:
    return {"List-Unsubscribe": "One-Click"}


# An address literal: the SSRF check needs no DNS for it, and nothing is sent in these tests.
WEBHOOK_URL = "https://93.184.215.14/hooks"


def _webhook_body(world: World, user: User | None) -> dict[str, Any]:
    return {"url": WEBHOOK_URL, "events": ["application.submitted"], "description": "ATS"}


def _webhook_patch_body(world: World, user: User | None) -> dict[str, Any]:
    return {"description": "Renamed"}


def _graphql_body(world: World, user: User | None) -> dict[str, Any]:
    return {"query": "{ categories { id slug } }"}


@dataclass(frozen=True)
class Row:
    name: str
    method: str
    url: str
    body: Body
    expected: dict[str, int]
    # "json", or "form" for the one-click unsubscribe a mail client POSTs (RFC 8058).
    encoding: str = "json"
    # Served under every version's prefix (core.api.urls); GraphQL is not versioned.
    versioned: bool = True
    # v2's body where it differs from v1's (registration takes `role`).
    v2_body: Body | None = None


MATRIX = [
    # Accounts and tokens: registration and the token endpoints ignore who is calling.
    Row(
        "register",
        "post",
        "/api/users/register/",
        _register_body,
        dict.fromkeys(ROLES, 201),
        v2_body=_register_body_v2,
    ),
    Row("me", "get", "/api/users/me/", _no_body, SIGNED_IN),
    Row("me-update", "patch", "/api/users/me/", _profile_body, SIGNED_IN),
    Row(
        "password-change",
        "post",
        "/api/users/me/password/",
        _password_body,
        {**dict.fromkeys(ROLES, 204), "anonymous": 401},
    ),
    Row("token-obtain", "post", "/api/token/", _credentials_body, EVERYONE),
    Row("token-refresh", "post", "/api/token/refresh/", _refresh_body, EVERYONE),
    Row("token-verify", "post", "/api/token/verify/", _verify_body, EVERYONE),
    Row("token-blacklist", "post", "/api/token/blacklist/", _refresh_body, EVERYONE),
    # Password reset: anyone asks (the same answer for every address); a forged link is 400.
    Row(
        "password-reset",
        "post",
        "/api/users/password-reset/",
        _reset_body,
        dict.fromkeys(ROLES, 202),
    ),
    Row(
        "password-reset-confirm",
        "post",
        "/api/users/password-reset/confirm/",
        _forged_reset_body,
        dict.fromkeys(ROLES, 400),
    ),
    # Sessions: one's own only; another user's session is not found.
    Row("session-list", "get", "/api/users/me/sessions/", _no_body, SIGNED_IN),
    Row(
        "session-revoke-all",
        "post",
        "/api/users/me/sessions/revoke-all/",
        _no_body,
        {**dict.fromkeys(ROLES, 204), "anonymous": 401},
    ),
    Row(
        "session-end",
        "delete",
        "/api/users/me/sessions/{session}/",
        _no_body,
        {**dict.fromkeys(ROLES, 404), "seeker": 204, "anonymous": 401},
    ),
    # Categories: anyone reads, employers and admins add, only admins change or delete.
    Row("category-list", "get", "/api/categories/", _no_body, EVERYONE),
    Row(
        "category-create",
        "post",
        "/api/categories/",
        _new_category_body,
        {**_employers_only(201), "admin": 201},
    ),
    Row("category-detail", "get", "/api/categories/{category}/", _no_body, EVERYONE),
    Row(
        "category-put",
        "put",
        "/api/categories/{category}/",
        _category_put_body,
        ADMIN_ONLY_200,
    ),
    Row(
        "category-patch",
        "patch",
        "/api/categories/{category}/",
        _category_patch_body,
        ADMIN_ONLY_200,
    ),
    Row(
        "category-delete",
        "delete",
        "/api/categories/{spare_category}/",
        _no_body,
        {**ADMIN_ONLY_200, "admin": 204},
    ),
    # Jobs.
    Row("job-list", "get", "/api/jobs/", _no_body, EVERYONE),
    Row("job-create-router", "post", "/api/jobs/", _job_body, _employers_only(201)),
    Row("job-create-contract", "post", "/api/jobs/create/", _job_body, _employers_only(201)),
    Row("job-mine", "get", "/api/jobs/mine/", _no_body, _employers_only(200)),
    Row("job-detail-published", "get", "/api/jobs/{job}/", _no_body, EVERYONE),
    Row(
        "job-detail-draft",
        "get",
        "/api/jobs/{draft}/",
        _no_body,
        {**dict.fromkeys(ROLES, 404), "employer": 200, "admin": 200},
    ),
    Row("job-put", "put", "/api/jobs/{job}/", _job_body, _job_owner_or_admin(200)),
    Row("job-patch", "patch", "/api/jobs/{job}/", _job_patch_body, _job_owner_or_admin(200)),
    Row("job-delete", "delete", "/api/jobs/{job}/", _no_body, _job_owner_or_admin(204)),
    Row("job-close", "post", "/api/jobs/{job}/close/", _no_body, _job_owner_or_admin(200)),
    Row("job-publish", "post", "/api/jobs/{draft}/publish/", _no_body, _job_owner_or_admin(200)),
    Row("job-renew", "post", "/api/jobs/{job}/renew/", _no_body, _job_owner_or_admin(200)),
    # Applications.
    Row("application-apply", "post", "/api/applications/apply/", _apply_body, _seekers_only(201)),
    Row(
        "application-seeker-list", "get", "/api/applications/seeker/", _no_body, _seekers_only(200)
    ),
    Row(
        "application-employer-list",
        "get",
        "/api/applications/employer/",
        _no_body,
        _employers_only(200),
    ),
    Row(
        "application-detail",
        "get",
        "/api/applications/{app}/",
        _no_body,
        {
            "anonymous": 401,
            "seeker": 200,
            "other_seeker": 404,
            "employer": 200,
            "other_employer": 404,
            "admin": 200,
        },
    ),
    Row(
        "application-status",
        "patch",
        "/api/applications/{app}/status/",
        _status_body,
        {
            "anonymous": 401,
            "seeker": 403,
            "other_seeker": 403,
            "employer": 200,
            "other_employer": 404,
            "admin": 403,
        },
    ),
    Row(
        "application-withdraw",
        "post",
        "/api/applications/{app}/withdraw/",
        _no_body,
        {
            "anonymous": 401,
            "seeker": 200,
            "other_seeker": 404,
            "employer": 403,
            "other_employer": 403,
            "admin": 403,
        },
    ),
    # Job alerts: a job seeker's own; another's is not found. The one-click unsubscribe needs
    # no login: its signed token is the credential.
    Row("alert-list", "get", "/api/alerts/", _no_body, _seekers_only(200)),
    Row("alert-create", "post", "/api/alerts/", _alert_body, _seekers_only(201)),
    Row("alert-detail", "get", "/api/alerts/{alert}/", _no_body, _own_alert(200)),
    Row("alert-patch", "patch", "/api/alerts/{alert}/", _alert_patch_body, _own_alert(200)),
    Row("alert-delete", "delete", "/api/alerts/{alert}/", _no_body, _own_alert(204)),
    Row("alert-jobs", "get", "/api/alerts/{alert}/jobs/", _no_body, _own_alert(200)),
    Row(
        "alert-unsubscribe-get", "get", "/api/alerts/unsubscribe/{alert_token}/", _no_body, EVERYONE
    ),
    Row(
        "alert-unsubscribe",
        "post",
        "/api/alerts/unsubscribe/{alert_token}/",
        _one_click_body,
        EVERYONE,
        encoding="form",
    ),
    # Webhooks: an employer's own endpoints and their deliveries; another's is not found.
    Row("webhook-list", "get", "/api/webhooks/", _no_body, _employers_only(200)),
    Row("webhook-create", "post", "/api/webhooks/", _webhook_body, _employers_only(201)),
    Row("webhook-detail", "get", "/api/webhooks/{hook}/", _no_body, _own_endpoint(200)),
    Row("webhook-patch", "patch", "/api/webhooks/{hook}/", _webhook_patch_body, _own_endpoint(200)),
    Row("webhook-delete", "delete", "/api/webhooks/{hook}/", _no_body, _own_endpoint(204)),
    Row(
        "webhook-rotate",
        "post",
        "/api/webhooks/{hook}/rotate-secret/",
        _no_body,
        _own_endpoint(200),
    ),
    Row("webhook-ping", "post", "/api/webhooks/{hook}/ping/", _no_body, _own_endpoint(202)),
    Row(
        "webhook-deliveries",
        "get",
        "/api/webhooks/{hook}/deliveries/",
        _no_body,
        _own_endpoint(200),
    ),
    Row(
        "webhook-delivery",
        "get",
        "/api/webhooks/{hook}/deliveries/{delivery}/",
        _no_body,
        _own_endpoint(200),
    ),
    Row(
        "webhook-redeliver",
        "post",
        "/api/webhooks/{hook}/deliveries/{delivery}/redeliver/",
        _no_body,
        _own_endpoint(202),
    ),
    # GraphQL: the HTTP side only (anyone may send a document). Who may see or do what through
    # each field is the GraphQL tests' matrix (tests/graphql/), with its errors' codes.
    Row(
        "graphql-get",
        "get",
        "/api/graphql/?query=%7Bcategories%7Bid%7D%7D",
        _no_body,
        EVERYONE,
        versioned=False,
    ),
    Row("graphql-post", "post", "/api/graphql/", _graphql_body, EVERYONE, versioned=False),
]

# v1 answers byte for byte what the unversioned paths answer (tests/core/test_api_versions.py):
# the matrix runs at /api/ and at /api/v2/, and counts /api/v1/ as covered by the first.
PREFIXES = ["/api/", "/api/v2/"]
COVERED_PREFIXES = ["/api/", "/api/v1/", "/api/v2/"]


def _at(prefix: str, url: str) -> str:
    return prefix + url.removeprefix("/api/")


CASES = [
    pytest.param(
        row,
        prefix,
        role,
        row.expected[role],
        id=f"{prefix.strip('/').replace('/', '-')}-{row.name}-{role}",
    )
    for prefix in PREFIXES
    for row in MATRIX
    if row.versioned or prefix == "/api/"
    for role in ROLES
]


@pytest.fixture
def world(
    employer, other_employer, seeker, other_seeker, admin_user, category, make_job, application
) -> World:
    endpoint = webhook_services.create_endpoint(
        employer=employer, url=WEBHOOK_URL, event_types=["application.submitted"]
    )
    # A second session of everyone, for "end all others" to end.
    for user in (employer, other_employer, other_seeker, admin_user):
        account_services.start_session(user=user, user_agent="another device")
    return World(
        session=account_services.start_session(user=seeker, user_agent="another device"),
        users={
            "anonymous": None,
            "seeker": seeker,
            "other_seeker": other_seeker,
            "employer": employer,
            "other_employer": other_employer,
            "admin": admin_user,
        },
        category=category,
        spare_category=services.create_category(name="Unused", slug="unused"),
        job=application.job,
        draft=make_job(status=JobStatus.DRAFT, title="Draft role"),
        open_job=make_job(title="Second opening"),
        application=application,
        alert=alert_services.create_alert(
            user=seeker, name="Backend", filters={"search": "backend"}, frequency="instant"
        ),
        endpoint=endpoint,
        delivery=webhook_services.ping(endpoint=endpoint),
    )


def _snapshot() -> dict[str, Any]:
    """Everything a refused request must leave untouched."""
    return {
        "users": list(
            User.objects.order_by("pk").values_list("username", "email", "first_name", "password")
        ),
        "categories": list(Category.objects.order_by("pk").values_list("pk", "name", "slug")),
        "jobs": list(Job.objects.order_by("pk").values_list("pk", "title", "status", "deleted_at")),
        "applications": list(Application.objects.order_by("pk").values_list("pk", "status")),
        "events": OutboxEvent.objects.count(),
        "open sessions": UserSession.objects.filter(ended_at__isnull=True).count(),
        "alerts": list(JobAlert.objects.order_by("pk").values_list("pk", "name", "is_active")),
        "webhook endpoints": list(
            WebhookEndpoint.objects.order_by("pk").values_list(
                "pk", "url", "description", "is_active", "secret"
            )
        ),
        "webhook deliveries": list(
            WebhookDelivery.objects.order_by("pk").values_list("pk", "status", "next_attempt_at")
        ),
    }


@pytest.mark.parametrize(("row", "prefix", "role", "expected_status"), CASES)
def test_authorization_matrix(world, row, prefix, role, expected_status):
    user = world.users[role]
    client = client_for(user) if user is not None else APIClient()
    url = _at(prefix, row.url.format(**world.ids()))
    make_body = row.v2_body if prefix == "/api/v2/" and row.v2_body else row.body
    body = make_body(world, user)
    before = _snapshot()

    if row.encoding == "form":
        response = getattr(client, row.method)(
            url, urlencode(body), content_type="application/x-www-form-urlencoded"
        )
    else:
        response = getattr(client, row.method)(url, body, format="json")

    assert response.status_code == expected_status, (
        f"{row.method.upper()} {url} as {role}: {response.status_code} {response.content[:300]!r}"
    )
    if expected_status >= 400:
        payload = response.json()
        assert isinstance(payload, dict)
        assert "detail" in payload, payload
        assert _snapshot() == before, "a refused request changed the database"
    elif row.method != "get" and not row.name.startswith(("token-", "graphql-")):
        assert _snapshot() != before, "an accepted write changed nothing"
    if expected_status == 204:
        assert response.content == b""
    else:
        assert response.json() is not None
    if expected_status == 401:
        assert response.headers.get("WWW-Authenticate", "").startswith("Bearer")


@pytest.mark.parametrize(
    ("role", "expected_status"),
    [("anonymous", 401), ("seeker", 403), ("employer", 404), ("admin", 404)],
)
def test_deleted_job_is_gone_for_everyone_but_its_application_stays(world, role, expected_status):
    services.delete_job(job=world.job)
    user = world.users[role]
    client = client_for(user) if user is not None else APIClient()

    response = client.patch(f"/api/jobs/{world.job.pk}/", {"title": "Back"}, format="json")

    assert response.status_code == expected_status
    assert APIClient().get(f"/api/jobs/{world.job.pk}/").status_code == 404
    applicant = client_for(world.users["seeker"])
    assert applicant.get(f"/api/applications/{world.application.pk}/").status_code == 200


# --- The guard: every route of the API has rows here --------------------------------------

# Served under /api/ but not by the API's views: the documentation (tests/core/test_docs.py).
NOT_IN_THE_MATRIX = {
    f"api/{version}docs/{page}"
    for version in ("", "v1/", "v2/")
    for page in ("swagger.json", "", "redoc/")
}
SAMPLE_IDS = {
    **dict.fromkeys(
        ["category", "spare_category", "job", "draft", "open_job", "app", "alert", "hook"], 1
    ),
    "session": "00000000-0000-0000-0000-000000000001",
    "delivery": "00000000-0000-0000-0000-000000000001",
    "alert_token": "a-token",
}
ANY_METHOD = "any"


def _join(prefix: str, route: str) -> str:
    # As Django joins an include's route and its patterns' into `ResolverMatch.route`.
    return prefix + route.removeprefix("^") if prefix else route


def _walk(patterns: list, prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    """Every URL pattern of a URLconf with its full route, through every include."""
    for pattern in patterns:
        route = _join(prefix, str(pattern.pattern))
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, route)
        else:
            yield route, pattern


def _allowed_methods(pattern: URLPattern) -> set[str]:
    callback = pattern.callback
    actions = getattr(callback, "actions", None)
    view_class = getattr(callback, "view_class", None)
    if actions:
        methods = set(actions)
    elif view_class is not None:
        methods = {m for m in view_class.http_method_names if hasattr(view_class, m)}
    else:
        # A plain function view does not say what it answers: any row for its route will do.
        return {ANY_METHOD}
    # HEAD mirrors GET and OPTIONS is metadata; neither changes who may see what.
    return methods - {"head", "options", "trace"}


def api_routes(urlconf: Any = None) -> set[tuple[str, str]]:
    """Every (route, method) the URLconf serves under /api/."""
    return {
        (route, method)
        for route, pattern in _walk(get_resolver(urlconf).url_patterns)
        if route.removeprefix("^").startswith("api/") and route not in NOT_IN_THE_MATRIX
        for method in _allowed_methods(pattern)
    }


def uncovered_api_routes(urlconf: Any = None, rows: list[Row] = MATRIX) -> set[tuple[str, str]]:
    """The (route, method) pairs the URLconf serves under /api/ that no row of `rows` requests."""
    covered = set()
    for row in rows:
        url = row.url.format(**SAMPLE_IDS).partition("?")[0]
        for prefix in COVERED_PREFIXES if row.versioned else ["/api/"]:
            route = resolve(_at(prefix, url), urlconf=urlconf).route
            covered |= {(route, row.method), (route, ANY_METHOD)}
    return api_routes(urlconf) - covered


def test_matrix_covers_every_route_and_method_of_the_api():
    """Adding a route or a method under /api/ must add a row to the matrix."""
    assert uncovered_api_routes() == set()
    assert len(api_routes()) >= 25


class _ExtraView(APIView):
    def get(self, request):
        return Response({})

    def post(self, request):
        return Response({})


class _MeWithDelete(account_views.MeView):
    def delete(self, request):
        return Response(status=204)


def _urlconf_with(*extra: Any) -> ModuleType:
    """The project's URLconf with `extra` patterns in front of its own."""
    module = ModuleType("urlconf_with_an_extra_route")
    module.urlpatterns = [*extra, *root_urls.urlpatterns]
    return module


@pytest.mark.parametrize(
    ("extra", "uncovered"),
    [
        (
            path("api/reports/", _ExtraView.as_view()),
            {("api/reports/", "get"), ("api/reports/", "post")},
        ),
        (
            path(
                "api/beta/",
                include(
                    [path("jobs/<int:pk>/", job_views.JobViewSet.as_view({"delete": "destroy"}))]
                ),
            ),
            {("api/beta/jobs/<int:pk>/", "delete")},
        ),
        (path("api/users/me/", _MeWithDelete.as_view()), {("api/users/me/", "delete")}),
        (path("api/ping/", lambda request: None), {("api/ping/", ANY_METHOD)}),
    ],
    ids=["new-route", "route-in-a-nested-include", "new-method-on-a-route", "function-view"],
)
def test_the_guard_fails_for_a_route_or_method_without_rows(extra, uncovered):
    assert uncovered_api_routes(_urlconf_with(extra)) == uncovered
