"""Root URLs: the API, its documentation, the admin and the health probes."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import (
    SpectacularJSONAPIView,
    SpectacularRedocView,
    SpectacularSwaggerSplitView,
)

from core.api.versions import urls as api_versions
from core.graphql.view import GraphQLView
from jobboard import health

urlpatterns = [
    # GraphQL is not versioned: it evolves by deprecating fields.
    path("api/graphql/", GraphQLView.as_view(), name="graphql"),
    # API versions (core.api.versions): the one list of routes of core.api.urls mounted at
    # /api/v1/ and /api/v2/ (namespaced: `v2:job-list`), each with its schema and documentation;
    # the unversioned mount below is v1 at the contract's paths.
    *api_versions.urlpatterns,
    path("api/", include("core.api.urls")),
    # The unversioned routes' document (v1's, the contract's paths), outside the versions.
    path(
        "api/docs/swagger.json",
        SpectacularJSONAPIView.as_view(**api_versions.UNVERSIONED_SCHEMA),
        name="schema",
    ),
    # The split view serves Swagger UI's start-up script as a file (`?script`), not inline: the
    # docs' Content-Security-Policy runs no inline script.
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(url_name="schema", versioning_class=None),
        name="swagger-ui",
    ),
    path(
        "api/docs/redoc/",
        SpectacularRedocView.as_view(url_name="schema", versioning_class=None),
        name="redoc",
    ),
    path("admin/", admin.site.urls),
    # Normally answered by jobboard.health.ProbeMiddleware before URL resolution; routed here too
    # so they exist by name and work with that middleware left out.
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
]

# core.api.exceptions' handlers, answering problem details under /api/v2/.
handler400 = "core.api.versions.problems.bad_request"
handler403 = "core.api.versions.problems.permission_denied"
handler404 = "core.api.versions.problems.not_found"
handler500 = "core.api.versions.problems.server_error"
