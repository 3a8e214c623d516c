"""Request and response shapes of the API. Every field is listed explicitly.

Write serializers accept only what a client may set: ownership, status and timestamps are never
writable. JSON types are strict (`"1"` is not an integer, `"true"` is not a boolean), so the
OpenAPI schema means what it says.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import URLValidator
from django.db import models, transaction
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework_simplejwt.exceptions import InvalidToken
from rest_framework_simplejwt.serializers import TokenRefreshSerializer, TokenVerifySerializer
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.tokens import Token, UntypedToken

from core import selectors
from core.models import (
    Application,
    ApplicationStatus,
    ApplicationStatusChange,
    Category,
    EmploymentType,
    Job,
    User,
)

MAX_INT = 2_147_483_647

# --- Strict JSON fields ---------------------------------------------------------------------


class StrictBooleanField(serializers.BooleanField):
    """A JSON boolean, nothing else ("true", 1 and "on" are refused)."""

    def to_internal_value(self, data: Any) -> bool:
        if isinstance(data, bool):
            return data
        self.fail("invalid", input=data)


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer, nothing else ("1", 1.0 and true are refused)."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """An id given as a JSON integer; unknown or out-of-range ids are a field error."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("incorrect_type", data_type=type(data).__name__)
        if not 1 <= data <= 2**63 - 1:
            self.fail("does_not_exist", pk_value=data)
        return super().to_internal_value(data)


class _StrictText:
    """A JSON string, nothing else: DRF's text fields turn 1 and 1.5 into "1" and "1.5"."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictCharField(_StrictText, serializers.CharField):
    pass


class StrictEmailField(_StrictText, serializers.EmailField):
    pass


class StrictSlugField(_StrictText, serializers.SlugField):
    pass


class StrictRegexField(_StrictText, serializers.RegexField):
    pass


class HttpUrlField(_StrictText, serializers.URLField):
    """An absolute http(s) URL of bounded length."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 500)
        super().__init__(**kwargs)
        # Replace DRF's default validator, which also accepts ftp:// and ftps://.
        self.validators = [v for v in self.validators if not isinstance(v, URLValidator)]
        self.validators.append(
            URLValidator(schemes=["http", "https"], message="Enter an http:// or https:// URL.")
        )


# --- Accounts -------------------------------------------------------------------------------


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


# --- Categories -----------------------------------------------------------------------------


class CategorySerializer(serializers.ModelSerializer):
    """A category with the number of jobs open in it right now."""

    open_jobs_count = serializers.IntegerField(read_only=True, default=0)

    class Meta:
        model = Category
        fields = ["id", "name", "slug", "open_jobs_count"]
        read_only_fields = fields


class CategoryWriteSerializer(serializers.Serializer):
    """Create or rename a category; the slug is made from the name when omitted."""

    name = StrictCharField(max_length=100)
    slug = StrictSlugField(max_length=100, required=False)


# --- Jobs -----------------------------------------------------------------------------------


class JobSerializer(serializers.ModelSerializer):
    """A job as anyone may see it: no personal data of the employer."""

    category_name = serializers.CharField(source="category.name", read_only=True)
    category_slug = serializers.CharField(source="category.slug", read_only=True)

    class Meta:
        model = Job
        fields = [
            "id",
            "title",
            "description",
            "company_name",
            "location",
            "remote",
            "employment_type",
            "category",
            "category_name",
            "category_slug",
            "salary_min",
            "salary_max",
            "salary_currency",
            "status",
            "created_at",
            "updated_at",
            "published_at",
            "expires_at",
            "closed_at",
        ]
        read_only_fields = fields


class EmployerJobSerializer(JobSerializer):
    """One of the employer's own jobs, with how many applications it received."""

    applications_count = serializers.IntegerField(read_only=True)

    class Meta(JobSerializer.Meta):
        fields = [*JobSerializer.Meta.fields, "applications_count"]
        read_only_fields = fields


class JobUpdateSerializer(serializers.ModelSerializer):
    """The fields of a job its employer may change."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.CharField: StrictCharField,
        models.TextField: StrictCharField,
    }

    remote = StrictBooleanField(required=False, default=False)
    employment_type = serializers.ChoiceField(choices=EmploymentType.choices)
    category = StrictPrimaryKeyRelatedField(queryset=Category.objects.all())
    salary_min = StrictIntegerField(required=False, allow_null=True, min_value=0, max_value=MAX_INT)
    salary_max = StrictIntegerField(required=False, allow_null=True, min_value=0, max_value=MAX_INT)
    salary_currency = StrictRegexField(
        r"^[A-Z]{3}$",
        required=False,
        allow_blank=True,
        max_length=3,
        error_messages={"invalid": "Use a three-letter ISO 4217 code such as EUR or USD."},
    )

    class Meta:
        model = Job
        fields = [
            "title",
            "description",
            "company_name",
            "location",
            "remote",
            "employment_type",
            "category",
            "salary_min",
            "salary_max",
            "salary_currency",
        ]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        def current(name: str) -> Any:
            if name in attrs:
                return attrs[name]
            return getattr(self.instance, name, None)

        low, high = current("salary_min"), current("salary_max")
        if low is not None and high is not None and low > high:
            raise serializers.ValidationError(
                {"salary_max": ["salary_max must be greater than or equal to salary_min."]}
            )
        return attrs


class JobCreateSerializer(JobUpdateSerializer):
    """A new job. It is published at once unless `draft` is true."""

    draft = StrictBooleanField(
        required=False,
        default=False,
        write_only=True,
        help_text="Save as a draft instead of publishing at once.",
    )

    class Meta(JobUpdateSerializer.Meta):
        fields = [*JobUpdateSerializer.Meta.fields, "draft"]


class JobListQuerySerializer(serializers.Serializer):
    """Query parameters of the public job listing."""

    search = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=200,
        help_text="Words to find in title, description, company and location. On PostgreSQL "
        'web-search syntax: "quoted phrase", -exclude, or.',
    )
    category = serializers.CharField(
        required=False, allow_blank=True, max_length=100, help_text="Category id or slug."
    )
    employment_type = serializers.ChoiceField(choices=EmploymentType.choices, required=False)
    location = serializers.CharField(required=False, allow_blank=True, max_length=200)
    remote = serializers.BooleanField(required=False, allow_null=True, default=None)
    salary_min = serializers.IntegerField(
        required=False, min_value=0, max_value=MAX_INT, help_text="Jobs paying at least this."
    )
    salary_max = serializers.IntegerField(
        required=False,
        min_value=0,
        max_value=MAX_INT,
        help_text="Jobs whose salary range starts at or below this.",
    )
    posted_since = serializers.DateTimeField(
        required=False, help_text="Jobs published at or after this ISO 8601 date-time."
    )
    ordering = serializers.ChoiceField(
        choices=list(selectors.ORDERINGS),
        required=False,
        help_text="Sort order; a search defaults to relevance, a listing to -published_at.",
    )

    def to_filters(self) -> selectors.JobListFilters:
        data = self.validated_data
        return selectors.JobListFilters(
            search=data.get("search", "").strip(),
            category=data.get("category", "").strip(),
            employment_type=data.get("employment_type", ""),
            location=data.get("location", "").strip(),
            remote=data.get("remote"),
            salary_min=data.get("salary_min"),
            salary_max=data.get("salary_max"),
            posted_since=data.get("posted_since"),
            ordering=data.get("ordering", ""),
        )


# --- Applications ---------------------------------------------------------------------------


class ApplySerializer(serializers.Serializer):
    """A job seeker's application."""

    job = StrictPrimaryKeyRelatedField(
        queryset=selectors.jobs_open_for_applications(), help_text="Id of a published job."
    )
    cover_letter = StrictCharField(required=False, allow_blank=True, default="", max_length=10_000)
    resume_url = HttpUrlField(help_text="An http(s) link to the résumé.")


class ApplicationJobSummarySerializer(serializers.ModelSerializer):
    """The job an application was sent to."""

    is_deleted = serializers.SerializerMethodField()

    class Meta:
        model = Job
        fields = ["id", "title", "company_name", "location", "status", "is_deleted"]
        read_only_fields = fields

    def get_is_deleted(self, job: Job) -> bool:
        return job.deleted_at is not None


class ApplicantSummarySerializer(serializers.ModelSerializer):
    """The person who applied, as the employer sees them."""

    class Meta:
        model = User
        fields = ["id", "username", "email", "first_name", "last_name"]
        read_only_fields = fields


class ApplicationStatusChangeSerializer(serializers.ModelSerializer):
    """One step of an application's history."""

    # Blank for the first step (the application was submitted from no status); the model field
    # allows it, but a read-only field drops `allow_blank` and the schema would say it cannot be.
    from_status = serializers.ChoiceField(
        choices=ApplicationStatus.choices, allow_blank=True, read_only=True
    )
    changed_by = serializers.SerializerMethodField()

    class Meta:
        model = ApplicationStatusChange
        fields = ["from_status", "to_status", "changed_by", "note", "changed_at"]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.STR)
    def get_changed_by(self, change: ApplicationStatusChange) -> str | None:
        return change.changed_by.username if change.changed_by else None


class ApplicationSerializer(serializers.ModelSerializer):
    """An application with its job, its applicant and its full status history."""

    job = ApplicationJobSummarySerializer(read_only=True)
    applicant = ApplicantSummarySerializer(read_only=True)
    status_history = ApplicationStatusChangeSerializer(
        source="status_changes", many=True, read_only=True
    )

    class Meta:
        model = Application
        fields = [
            "id",
            "job",
            "applicant",
            "cover_letter",
            "resume_url",
            "status",
            "created_at",
            "updated_at",
            "status_history",
        ]
        read_only_fields = fields


EMPLOYER_SETTABLE_STATUSES = [
    (value, label)
    for value, label in ApplicationStatus.choices
    if value not in (ApplicationStatus.SUBMITTED, ApplicationStatus.WITHDRAWN)
]


class ApplicationStatusUpdateSerializer(serializers.Serializer):
    """The employer moves an application to its next stage (or rejects it)."""

    status = serializers.ChoiceField(choices=EMPLOYER_SETTABLE_STATUSES)
    note = StrictCharField(required=False, allow_blank=True, default="", max_length=1000)


class EmployerApplicationsQuerySerializer(serializers.Serializer):
    """Filters of the employer's application inbox."""

    job = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
    status = serializers.ChoiceField(choices=ApplicationStatus.choices, required=False)
