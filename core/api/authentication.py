"""JWT bearer authentication (`Authorization: Bearer <access_token>`), refusing the tokens of
ended sessions."""

from __future__ import annotations

from rest_framework_simplejwt.authentication import JWTAuthentication as SimpleJWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed

from core.accounts.sessions import is_session_open

SESSION_CLAIM = "sid"


class JWTAuthentication(SimpleJWTAuthentication):
    """simplejwt's authentication, given its own OpenAPI scheme in `core.api.schema`, and the
    session the token names must still be open.

    The scheme is documented as an API key carried in the `Authorization` header, so Swagger UI
    sends exactly what the user typed: `Bearer <access_token>`, as the published docs instruct.

    Every access token carries its session (`sid`); one without is refused, so logging out,
    ending a session or changing the password leaves no token alive. The check is a cache
    lookup (the database only on a miss or with the cache down: it never fails open).
    """

    def get_user(self, validated_token):
        user = super().get_user(validated_token)
        session_id = validated_token.get(SESSION_CLAIM)
        if not session_id or not is_session_open(session_id=session_id, user_id=user.pk):
            raise AuthenticationFailed("The session of this token has ended.", code="session_ended")
        return user
