"""The versioned mounts: `/api/v1/` and `/api/v2/`, each the whole of `core.api.urls` (so a
route added there is in every version) with its OpenAPI document, Swagger UI and ReDoc.

A mount is namespaced by its version (`reverse("v2:job-list")`); the unversioned mount keeps
the plain names. Swagger UI offers every version's document in its picker (`urls`).
"""

import json

from django.urls import include, path, reverse
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import (
    SpectacularJSONAPIView,
    SpectacularRedocView,
    SpectacularSwaggerSplitView,
)

from core.api import urls as api_urls
from core.api.versions import VERSIONS
from core.api.versions.schema import VersionSchemaGenerator


class VersionSwaggerView(SpectacularSwaggerSplitView):
    """Swagger UI with a version picker (its `urls`): every version's document, this one first.

    The split view: the page loads its start-up script as a file (`?script`), which is where
    the settings, and so the picker, are.
    """

    version: str = ""

    @extend_schema(exclude=True)
    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        if "settings" in response.data:
            settings = json.loads(response.data["settings"])
            settings["urls"] = [
                {"name": version, "url": reverse(f"{version}:schema")} for version in VERSIONS
            ]
            settings["urls.primaryName"] = self.version
            response.data["settings"] = self._dump(settings)
        return response


# The schema view of the unversioned routes (`jobboard.urls`): no version of its own.
UNVERSIONED_SCHEMA = {"generator_class": VersionSchemaGenerator, "versioning_class": None}


def _mount(version: str):
    docs = [
        path(
            "docs/swagger.json",
            SpectacularJSONAPIView.as_view(
                api_version=version, generator_class=VersionSchemaGenerator, versioning_class=None
            ),
            name="schema",
        ),
        path(
            "docs/",
            VersionSwaggerView.as_view(
                url_name=f"{version}:schema", version=version, versioning_class=None
            ),
            name="swagger-ui",
        ),
        path(
            "docs/redoc/",
            SpectacularRedocView.as_view(url_name=f"{version}:schema", versioning_class=None),
            name="redoc",
        ),
    ]
    return path(
        f"api/{version}/", include((docs + api_urls.urlpatterns, version), namespace=version)
    )


urlpatterns = [_mount(version) for version in VERSIONS]
