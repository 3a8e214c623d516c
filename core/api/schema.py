"""OpenAPI extensions for drf-spectacular (loaded from `CoreConfig.ready`)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class BearerHeaderScheme(OpenApiAuthenticationExtension):
    """Describe JWT auth as the whole `Authorization` header value.

    With an `http`/`bearer` scheme Swagger UI prefixes `Bearer ` itself, and a user who types
    `Bearer <token>` as our docs say would send `Bearer Bearer <token>` and get 401.
    """

    target_class = "core.api.authentication.JWTAuthentication"
    name = "jwtAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "Enter `Bearer <access_token>`, with the token from `POST /api/token/`.",
        }
