"""REST for accounts: registration, the signed-in user's profile and password, and the token
views (log in, rotate, verify, log out), with the shapes they read and answer."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt import serializers as jwt_serializers
from rest_framework_simplejwt import views as jwt_views
from rest_framework_simplejwt.exceptions import InvalidToken
from rest_framework_simplejwt.serializers import TokenRefreshSerializer, TokenVerifySerializer
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.tokens import RefreshToken, Token, UntypedToken

from core.accounts import lockout, selectors, services
from core.accounts.models import Role, User, UserSession
from core.accounts.sessions import is_session_open
from core.api.authentication import SESSION_CLAIM
from core.api.fields import (
    PASSWORD_MAX_LENGTH,
    USERNAME_MAX_LENGTH,
    StrictBooleanField,
    StrictCharField,
    StrictEmailField,
)
from core.api.schema import validation_error_response
from core.exceptions import SessionNotFound

# --- Shapes ---------------------------------------------------------------------------------


class UserSerializer(serializers.ModelSerializer):
    """A user as the API shows it: never the password."""

    is_employer = serializers.BooleanField(read_only=True)
    is_job_seeker = serializers.BooleanField(read_only=True)

    class Meta:
        model = User
        fields = [
            "id",
            "username",
            "email",
            "first_name",
            "last_name",
            "is_employer",
            "is_job_seeker",
            "is_staff",
            "date_joined",
        ]
        read_only_fields = fields


class RegisterSerializer(serializers.Serializer):
    """Registration as exactly one of employer or job seeker."""

    username = StrictCharField(
        max_length=USERNAME_MAX_LENGTH,
        validators=[UnicodeUsernameValidator()],
        help_text="150 characters or fewer: letters, digits and @ . + - _ only.",
    )
    email = StrictEmailField(max_length=254)
    password = StrictCharField(
        write_only=True,
        max_length=PASSWORD_MAX_LENGTH,
        trim_whitespace=False,
        style={"input_type": "password"},
    )
    is_employer = StrictBooleanField(required=False, default=False)
    is_job_seeker = StrictBooleanField(required=False, default=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["is_employer"] == attrs["is_job_seeker"]:
            raise serializers.ValidationError(
                "Exactly one of is_employer and is_job_seeker must be true.", code="role"
            )
        candidate = get_user_model()(username=attrs["username"], email=attrs["email"])
        try:
            password_validation.validate_password(attrs["password"], user=candidate)
        except DjangoValidationError as exc:
            raise serializers.ValidationError({"password": list(exc.messages)}) from exc
        return attrs


class ProfileUpdateSerializer(serializers.Serializer):
    """What a user may change about themselves."""

    email = StrictEmailField(max_length=254, required=False)
    first_name = StrictCharField(max_length=150, required=False, allow_blank=True)
    last_name = StrictCharField(max_length=150, required=False, allow_blank=True)


class PasswordChangeSerializer(serializers.Serializer):
    """A password change; it signs the user out of every session."""

    old_password = StrictCharField(
        write_only=True,
        max_length=PASSWORD_MAX_LENGTH,
        trim_whitespace=False,
        style={"input_type": "password"},
    )
    new_password = StrictCharField(
        write_only=True,
        max_length=PASSWORD_MAX_LENGTH,
        trim_whitespace=False,
        style={"input_type": "password"},
    )

    def validate_old_password(self, value: str) -> str:
        if not self.context["request"].user.check_password(value):
            raise serializers.ValidationError("The current password is not correct.")
        return value

    def validate_new_password(self, value: str) -> str:
        try:
            password_validation.validate_password(value, user=self.context["request"].user)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(list(exc.messages)) from exc
        return value


class PasswordResetRequestSerializer(serializers.Serializer):
    """Ask for a password reset link for the account with this email, if there is one."""

    email = StrictEmailField(max_length=254)


class PasswordResetAcceptedSerializer(serializers.Serializer):
    """The request is taken; the answer is the same whether or not an account has the address."""

    detail = serializers.CharField()


class PasswordResetConfirmSerializer(serializers.Serializer):
    """A new password, with the `uid` and `token` of the emailed reset link."""

    uid = StrictCharField(max_length=64)
    token = StrictCharField(max_length=128)
    new_password = StrictCharField(
        write_only=True,
        max_length=PASSWORD_MAX_LENGTH,
        trim_whitespace=False,
        style={"input_type": "password"},
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # A bad link is refused before the password is judged (InvalidResetToken: a 400 with
        # its code); the validators need the user (similarity to the username and email).
        user = services.user_of_reset_link(uid=attrs["uid"], token=attrs["token"])
        try:
            password_validation.validate_password(attrs["new_password"], user=user)
        except DjangoValidationError as exc:
            raise serializers.ValidationError({"new_password": list(exc.messages)}) from exc
        return attrs


def _active_account(token: Token, users: Any = User.objects) -> User:
    """The user `token` names, if they may still sign in; otherwise the token is refused (401)."""
    user_id = token.payload.get(jwt_settings.USER_ID_CLAIM)
    user = users.filter(**{jwt_settings.USER_ID_FIELD: user_id}).first()
    if user is None or not jwt_settings.USER_AUTHENTICATION_RULE(user):
        raise InvalidToken("No active account found for the given token.")
    return user


def session_refresh_token(user: User, *, user_agent: str = "") -> RefreshToken:
    """Start a session for `user` and its first refresh token; its access tokens name it too."""
    session = services.start_session(user=user, user_agent=user_agent)
    refresh = RefreshToken.for_user(user)
    refresh[SESSION_CLAIM] = str(session.pk)
    return refresh


def _user_agent(serializer: serializers.Serializer) -> str:
    request = serializer.context.get("request")
    return request.META.get("HTTP_USER_AGENT", "") if request is not None else ""


# The longest token the API issues is a few hundred characters; a longer one is refused as a
# field error before it is decoded.
TOKEN_MAX_LENGTH = 2048


class TokenObtainPairSerializer(jwt_serializers.TokenObtainPairSerializer):
    """A username and password to log in with.

    Too many failed logins of one username, from any address, lock that username for a while:
    429 `account_locked` with `Retry-After`, whatever the password."""

    # The credentials are checked by simplejwt, then a session starts. Each attempt counts
    # towards its username's lockout (`core.accounts.lockout`), whether or not the account exists.

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields[self.username_field] = serializers.CharField(
            write_only=True, max_length=USERNAME_MAX_LENGTH
        )
        self.fields["password"] = jwt_serializers.PasswordField(max_length=PASSWORD_MAX_LENGTH)

    def validate(self, attrs: dict[str, Any]) -> dict[str, str]:
        with lockout.counted_login(username=attrs[self.username_field]):
            jwt_serializers.TokenObtainSerializer.validate(self, attrs)
        refresh = session_refresh_token(self.user, user_agent=_user_agent(self))
        return {"refresh": str(refresh), "access": str(refresh.access_token)}


class RotatingTokenRefreshSerializer(TokenRefreshSerializer):
    """A refresh token to exchange for a new pair; each refresh token can be used once."""

    # Refresh with rotation, where each refresh token can be redeemed exactly once.
    #
    # Stock simplejwt checks the blacklist and then blacklists, so parallel refreshes of one
    # token all pass the check. Here the blacklist row is the lock: only the request that created
    # it mints new tokens, every other one gets 401.
    #
    # The rotation also locks the user's row. A password change updates that row, then revokes
    # the user's outstanding tokens, in one transaction: it either commits first (the token sent
    # here is then revoked and refused) or waits until the token minted here is recorded, and
    # revokes that one too. Unlocked, a token recorded just after the revocation swept would
    # outlive the password change. Ending sessions takes the same lock, and the session is
    # checked (and its last use recorded) inside it.
    #
    # A refresh token from before sessions existed names none: its rotation starts one.

    refresh = serializers.CharField(max_length=TOKEN_MAX_LENGTH)

    def validate(self, attrs: dict[str, Any]) -> dict[str, str]:
        refresh = self.token_class(attrs["refresh"])
        with transaction.atomic():
            user = _active_account(refresh, User.objects.select_for_update())
            session_id = refresh.payload.get(SESSION_CLAIM)
            if session_id is None:
                session = services.start_session(user=user, user_agent=_user_agent(self))
                refresh[SESSION_CLAIM] = str(session.pk)
            elif not _valid_uuid(session_id) or not services.touch_session(
                session_id=session_id, user=user
            ):
                raise InvalidToken("The session of this token has ended.")
            _, created = refresh.blacklist()
            if not created:
                raise InvalidToken("Token is blacklisted")
            data = {"access": str(refresh.access_token)}
            refresh.set_jti()
            refresh.set_exp()
            refresh.set_iat()
            refresh.outstand()
        data["refresh"] = str(refresh)
        return data


class ActiveAccountTokenVerifySerializer(TokenVerifySerializer):
    """An access or refresh token to check."""

    # simplejwt's verification (signature, expiry, not blacklisted) and the account's: a token
    # of a deleted or deactivated user is refused, as on every endpoint it would otherwise open.

    token = serializers.CharField(write_only=True, max_length=TOKEN_MAX_LENGTH)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        data = super().validate(attrs)
        token = UntypedToken(attrs["token"])
        user = _active_account(token)
        session_id = token.payload.get(SESSION_CLAIM)
        if session_id is None:
            # Only a refresh token from before sessions may name none (its rotation starts one).
            if token.payload.get(jwt_settings.TOKEN_TYPE_CLAIM) != "refresh":
                raise InvalidToken("The token names no session.")
        elif not is_session_open(session_id=session_id, user_id=user.pk):
            raise InvalidToken("The session of this token has ended.")
        return data


class TokenBlacklistSerializer(jwt_serializers.TokenBlacklistSerializer):
    """The refresh token of the session to end."""

    # The refresh token is blacklisted and its session ends, so the access tokens of that
    # session answer 401 from their next request.

    refresh = serializers.CharField(write_only=True, max_length=TOKEN_MAX_LENGTH)

    def validate(self, attrs: dict[str, Any]) -> dict[Any, Any]:
        refresh = self.token_class(attrs["refresh"])
        with transaction.atomic():
            refresh.blacklist()
            session_id = refresh.payload.get(SESSION_CLAIM)
            user_id = refresh.payload.get(jwt_settings.USER_ID_CLAIM)
            user = User.objects.filter(**{jwt_settings.USER_ID_FIELD: user_id}).first()
            if user is not None and session_id is not None and _valid_uuid(session_id):
                services.end_sessions(user=user, session_ids=[session_id])
        return {}


def _valid_uuid(value: Any) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


class SessionSerializer(serializers.ModelSerializer):
    """A session of the signed-in user: one login and the rotations of its refresh token."""

    current = serializers.SerializerMethodField(
        help_text="True for the session of the token this request was made with."
    )

    class Meta:
        model = UserSession
        fields = ["id", "created_at", "last_used_at", "user_agent", "current"]
        read_only_fields = fields

    def get_current(self, session: UserSession) -> bool:
        return str(session.pk) == str(self.context.get("current_session_id"))


class TokenRefreshResponseSerializer(serializers.Serializer):
    """A new token pair; the refresh token sent can no longer be used."""

    access = serializers.CharField(help_text="Send as `Authorization: Bearer <access>`.")
    refresh = serializers.CharField(help_text="Use once, at `POST /api/token/refresh/`.")


class EmptyBodySerializer(serializers.Serializer):
    """An answer whose body is an empty JSON object (`core.api.schema.EmptyBodySchema`)."""


class TokenVerifiedSerializer(EmptyBodySerializer):
    """The token is valid: an empty object (an invalid one is 401)."""


class LoggedOutSerializer(EmptyBodySerializer):
    """The session has ended: an empty object."""


# --- Views ----------------------------------------------------------------------------------


class RegisterView(APIView):
    """Create an account as an employer or a job seeker (exactly one)."""

    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_scope = "register"

    @extend_schema(
        request=RegisterSerializer,
        responses={
            201: UserSerializer,
            400: validation_error_response(
                "Field errors: a taken username or email, a weak password, or not exactly one role."
            ),
        },
    )
    def post(self, request: Request) -> Response:
        serializer = register_serializer_class(request)(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        user = services.register_user(
            username=data["username"],
            email=data["email"],
            password=data["password"],
            role=Role.EMPLOYER if data["is_employer"] else Role.JOB_SEEKER,
        )
        return Response(UserSerializer(user).data, status=status.HTTP_201_CREATED)


def register_serializer_class(request: Request) -> type[RegisterSerializer]:
    """v1's two booleans, or v2's `role` (`core.api.versions.registration`)."""
    from core.api.versions import is_v2, registration  # registration imports this module

    return registration.RoleRegistrationSerializer if is_v2(request) else RegisterSerializer


class MeView(APIView):
    """The signed-in user's own account."""

    @extend_schema(responses=UserSerializer)
    def get(self, request: Request) -> Response:
        return Response(UserSerializer(request.user).data)

    @extend_schema(
        request=ProfileUpdateSerializer,
        responses={
            200: UserSerializer,
            400: validation_error_response("Field errors, such as an email another account has."),
        },
    )
    def patch(self, request: Request) -> Response:
        serializer = ProfileUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = services.update_user_profile(
            user=request.user, changes=dict(serializer.validated_data)
        )
        return Response(UserSerializer(user).data)


class PasswordChangeView(APIView):
    """Change the password; every outstanding refresh token of the user is revoked."""

    throttle_scope = "login"

    @extend_schema(
        request=PasswordChangeSerializer,
        responses={
            204: None,
            400: validation_error_response(
                "Field errors: the current password is wrong, or the new one is weak."
            ),
        },
    )
    def post(self, request: Request) -> Response:
        serializer = PasswordChangeSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        services.change_password(
            user=request.user, new_password=serializer.validated_data["new_password"]
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordResetRequestView(APIView):
    """Ask for a password reset email. Always 202, whether or not an account has the address,
    so the answer tells nobody which addresses have accounts."""

    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_scope = "password_reset"

    @extend_schema(
        request=PasswordResetRequestSerializer,
        responses={
            202: PasswordResetAcceptedSerializer,
            400: validation_error_response("Field errors: the email is missing or malformed."),
        },
    )
    def post(self, request: Request) -> Response:
        serializer = PasswordResetRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.request_password_reset(email=serializer.validated_data["email"])
        return Response(
            {"detail": "If an account has this address, a reset link is on its way to it."},
            status=status.HTTP_202_ACCEPTED,
        )


class PasswordResetConfirmView(APIView):
    """Set a new password with the emailed link's `uid` and `token`; every session ends. A link
    works once, until it expires (`PASSWORD_RESET_TIMEOUT` seconds, an hour by default); a used,
    expired or forged one is 400 (`invalid_reset_token`)."""

    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_scope = "password_reset_confirm"

    @extend_schema(
        request=PasswordResetConfirmSerializer,
        responses={
            204: None,
            400: validation_error_response(
                "The link was used, has expired or is forged (`invalid_reset_token`), or field"
                " errors: a weak new password."
            ),
        },
    )
    def post(self, request: Request) -> Response:
        serializer = PasswordResetConfirmSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        services.reset_password(
            uid=data["uid"], token=data["token"], new_password=data["new_password"]
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class TokenObtainPairView(jwt_views.TokenObtainPairView):
    """Log in: exchange username and password for an access and a refresh token.

    Each login starts a session (`GET /api/users/me/sessions/`) that its tokens name.
    """

    _serializer_class = "core.api.accounts.TokenObtainPairSerializer"
    throttle_scope = "login"


class TokenRefreshView(jwt_views.TokenRefreshView):
    """Exchange a refresh token for a new access token and a new refresh token.

    The refresh token sent is revoked: each one can be used once.
    """

    _serializer_class = "core.api.accounts.RotatingTokenRefreshSerializer"
    throttle_scope = "token_refresh"

    @extend_schema(responses=TokenRefreshResponseSerializer)
    def post(self, request: Request, *args, **kwargs) -> Response:
        return super().post(request, *args, **kwargs)


class TokenVerifyView(jwt_views.TokenVerifyView):
    """Check that a token is valid (signature, expiry, not blacklisted) and that its account
    still exists and is active."""

    _serializer_class = "core.api.accounts.ActiveAccountTokenVerifySerializer"

    @extend_schema(responses=TokenVerifiedSerializer)
    def post(self, request: Request, *args, **kwargs) -> Response:
        return super().post(request, *args, **kwargs)


class TokenBlacklistView(jwt_views.TokenBlacklistView):
    """Log out: the refresh token sent can never be used again, and its session ends (its
    access tokens answer 401 from the next request)."""

    _serializer_class = "core.api.accounts.TokenBlacklistSerializer"

    @extend_schema(responses=LoggedOutSerializer)
    def post(self, request: Request, *args, **kwargs) -> Response:
        return super().post(request, *args, **kwargs)


def _current_session_id(request: Request) -> str | None:
    token = request.auth
    return token.get(SESSION_CLAIM) if token is not None else None


class SessionListView(APIView):
    """The signed-in user's open sessions, most recently used first; `current` marks the one
    of this request's token."""

    @extend_schema(responses=SessionSerializer(many=True))
    def get(self, request: Request) -> Response:
        sessions = selectors.open_sessions(user=request.user)
        context = {"current_session_id": _current_session_id(request)}
        return Response(SessionSerializer(sessions, many=True, context=context).data)


class SessionDetailView(APIView):
    """End one of the signed-in user's sessions; another user's (or an ended one) is 404."""

    @extend_schema(responses={204: None})
    def delete(self, request: Request, pk: uuid.UUID) -> Response:
        if not services.end_sessions(user=request.user, session_ids=[pk]):
            raise SessionNotFound("No open session of yours has that id.")
        return Response(status=status.HTTP_204_NO_CONTENT)


class SessionRevokeAllView(APIView):
    """End every session of the signed-in user except the one of this request's token."""

    @extend_schema(request=None, responses={204: None})
    def post(self, request: Request) -> Response:
        services.end_sessions(user=request.user, keep=_current_session_id(request))
        return Response(status=status.HTTP_204_NO_CONTENT)
