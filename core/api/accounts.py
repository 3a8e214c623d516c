"""REST for accounts: registration, the signed-in user's profile and password, and the token
views (log in, rotate, verify, log out), with the shapes they read and answer."""

from __future__ import annotations

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
from rest_framework_simplejwt import views as jwt_views
from rest_framework_simplejwt.exceptions import InvalidToken
from rest_framework_simplejwt.serializers import TokenRefreshSerializer, TokenVerifySerializer
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.tokens import Token, UntypedToken

from core.accounts import services
from core.accounts.models import Role, User
from core.api.fields import StrictBooleanField, StrictCharField, StrictEmailField
from core.api.schema import validation_error_response

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
        max_length=150,
        validators=[UnicodeUsernameValidator()],
        help_text="150 characters or fewer: letters, digits and @ . + - _ only.",
    )
    email = StrictEmailField(max_length=254)
    password = StrictCharField(
        write_only=True, max_length=128, trim_whitespace=False, style={"input_type": "password"}
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
        write_only=True, max_length=128, trim_whitespace=False, style={"input_type": "password"}
    )
    new_password = StrictCharField(
        write_only=True, max_length=128, trim_whitespace=False, style={"input_type": "password"}
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


def _active_account(token: Token, users: Any = User.objects) -> User:
    """The user `token` names, if they may still sign in; otherwise the token is refused (401)."""
    user_id = token.payload.get(jwt_settings.USER_ID_CLAIM)
    user = users.filter(**{jwt_settings.USER_ID_FIELD: user_id}).first()
    if user is None or not jwt_settings.USER_AUTHENTICATION_RULE(user):
        raise InvalidToken("No active account found for the given token.")
    return user


class RotatingTokenRefreshSerializer(TokenRefreshSerializer):
    """Refresh with rotation, where each refresh token can be redeemed exactly once.

    Stock simplejwt checks the blacklist and then blacklists, so parallel refreshes of one token
    all pass the check. Here the blacklist row is the lock: only the request that created it
    mints new tokens, every other one gets 401.

    The rotation also locks the user's row. A password change updates that row, then revokes
    the user's outstanding tokens, in one transaction: it either commits first (the token sent
    here is then revoked and refused) or waits until the token minted here is recorded, and
    revokes that one too. Unlocked, a token recorded just after the revocation swept would
    outlive the password change.
    """

    def validate(self, attrs: dict[str, Any]) -> dict[str, str]:
        refresh = self.token_class(attrs["refresh"])
        with transaction.atomic():
            _active_account(refresh, User.objects.select_for_update())
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
    """simplejwt's verification (signature, expiry, not blacklisted) and the account's: a token
    of a deleted or deactivated user is refused, as on every endpoint it would otherwise open."""

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        data = super().validate(attrs)
        _active_account(UntypedToken(attrs["token"]))
        return data


class TokenRefreshResponseSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()


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
        serializer = RegisterSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        user = services.register_user(
            username=data["username"],
            email=data["email"],
            password=data["password"],
            role=Role.EMPLOYER if data["is_employer"] else Role.JOB_SEEKER,
        )
        return Response(UserSerializer(user).data, status=status.HTTP_201_CREATED)


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


class TokenObtainPairView(jwt_views.TokenObtainPairView):
    """Log in: exchange username and password for an access and a refresh token."""

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


class TokenBlacklistView(jwt_views.TokenBlacklistView):
    """Log out: the refresh token sent can never be used again."""
