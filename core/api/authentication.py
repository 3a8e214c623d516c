"""JWT bearer authentication (`Authorization: Bearer <access_token>`)."""

from rest_framework_simplejwt.authentication import JWTAuthentication as SimpleJWTAuthentication


class JWTAuthentication(SimpleJWTAuthentication):
    """simplejwt's authentication, given its own OpenAPI scheme in `core.api.schema`.

    The scheme is documented as an API key carried in the `Authorization` header, so Swagger UI
    sends exactly what the user typed: `Bearer <access_token>`, as the published docs instruct.
    """
