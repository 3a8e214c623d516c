"""Root URLs: the API, its documentation, the admin and the health probes."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import (
    SpectacularJSONAPIView,
    SpectacularRedocView,
    SpectacularSwaggerSplitView,
)

from core.graphql.view import GraphQLView
from jobboard import health

urlpatterns = [
    path("api/graphql/", GraphQLView.as_view(), name="graphql"),
    path("api/", include("core.api.urls")),
    path("api/docs/swagger.json", SpectacularJSONAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's start-up script as a file (`?script`), not inline: the
    # docs' Content-Security-Policy runs no inline script.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/docs/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    path("admin/", admin.site.urls),
    # Normally answered by jobboard.health.ProbeMiddleware before URL resolution; routed here too
    # so they exist by name and work with that middleware left out.
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
]

handler400 = "core.api.exceptions.bad_request"
handler403 = "core.api.exceptions.permission_denied"
handler404 = "core.api.exceptions.not_found"
handler500 = "core.api.exceptions.server_error"
