"""HTTP endpoints. Each view validates with a serializer, calls one service or selector, answers.

Who may call a view is a role permission; which rows they reach is decided by the selector that
builds the queryset, so another user's job or application is a 404, never a 403 that confirms
it exists.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse, HttpResponseNotModified
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import generics, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.pagination import _positive_int
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt import views as jwt_views

from core import listings, selectors, services
from core.api import serializers as s
from core.api.permissions import IsAdmin, IsEmployer, IsEmployerOrAdmin, IsJobSeeker
from core.api.schema import validation_error_response
from core.models import Role


def cached_response(request: Request, entry: listings.CachedBody) -> HttpResponse:
    """Send cached bytes as they are, or 304 when the client already holds this version."""
    if_none_match = request.headers.get("If-None-Match", "")
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    response = (
        HttpResponseNotModified()
        if entry.etag in tags or "*" in tags
        else HttpResponse(entry.body, content_type="application/json")
    )
    response["ETag"] = entry.etag
    max_age = min(entry.max_age(), settings.LISTING_CLIENT_MAX_AGE)
    response["Cache-Control"] = f"public, max-age={max_age}"
    return response


# --- Accounts and tokens --------------------------------------------------------------------


class RegisterView(APIView):
    """Create an account as an employer or a job seeker (exactly one)."""

    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_scope = "register"

    @extend_schema(
        request=s.RegisterSerializer,
        responses={
            201: s.UserSerializer,
            400: validation_error_response(
                "Field errors: a taken username or email, a weak password, or not exactly one role."
            ),
        },
    )
    def post(self, request: Request) -> Response:
        serializer = s.RegisterSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        user = services.register_user(
            username=data["username"],
            email=data["email"],
            password=data["password"],
            role=Role.EMPLOYER if data["is_employer"] else Role.JOB_SEEKER,
        )
        return Response(s.UserSerializer(user).data, status=status.HTTP_201_CREATED)


class MeView(APIView):
    """The signed-in user's own account."""

    @extend_schema(responses=s.UserSerializer)
    def get(self, request: Request) -> Response:
        return Response(s.UserSerializer(request.user).data)

    @extend_schema(
        request=s.ProfileUpdateSerializer,
        responses={
            200: s.UserSerializer,
            400: validation_error_response("Field errors, such as an email another account has."),
        },
    )
    def patch(self, request: Request) -> Response:
        serializer = s.ProfileUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = services.update_user_profile(
            user=request.user, changes=dict(serializer.validated_data)
        )
        return Response(s.UserSerializer(user).data)


class PasswordChangeView(APIView):
    """Change the password; every outstanding refresh token of the user is revoked."""

    throttle_scope = "login"

    @extend_schema(
        request=s.PasswordChangeSerializer,
        responses={
            204: None,
            400: validation_error_response(
                "Field errors: the current password is wrong, or the new one is weak."
            ),
        },
    )
    def post(self, request: Request) -> Response:
        serializer = s.PasswordChangeSerializer(data=request.data, context={"request": request})
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

    _serializer_class = "core.api.serializers.RotatingTokenRefreshSerializer"
    throttle_scope = "token_refresh"

    @extend_schema(responses=s.TokenRefreshResponseSerializer)
    def post(self, request: Request, *args, **kwargs) -> Response:
        return super().post(request, *args, **kwargs)


class TokenVerifyView(jwt_views.TokenVerifyView):
    """Check that a token is valid (signature, expiry, not blacklisted) and that its account
    still exists and is active."""

    _serializer_class = "core.api.serializers.ActiveAccountTokenVerifySerializer"


class TokenBlacklistView(jwt_views.TokenBlacklistView):
    """Log out: the refresh token sent can never be used again."""


# --- Categories -----------------------------------------------------------------------------

CATEGORY_TAKEN = validation_error_response(
    "Field errors, such as a name or slug (given, or made from the name) another category has."
)


class CategoryListView(generics.ListAPIView):
    """Every category with its number of open jobs (anyone); employers and admins add new ones."""

    serializer_class = s.CategorySerializer
    pagination_class = None

    def get_permissions(self):
        if self.request.method == "POST":
            return [IsEmployerOrAdmin()]
        return [AllowAny()]

    def get_queryset(self):
        return selectors.categories_with_open_job_counts()

    def get(self, request: Request, *args, **kwargs) -> HttpResponse:
        return cached_response(request, listings.categories())

    @extend_schema(
        request=s.CategoryWriteSerializer,
        responses={201: s.CategorySerializer, 400: CATEGORY_TAKEN},
    )
    def post(self, request: Request) -> Response:
        serializer = s.CategoryWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        category = services.create_category(**serializer.validated_data)
        return Response(s.CategorySerializer(category).data, status=status.HTTP_201_CREATED)


class CategoryDetailView(generics.RetrieveAPIView):
    """One category (anyone); renaming and deleting are for admins."""

    serializer_class = s.CategorySerializer

    def get_permissions(self):
        if self.request.method in ("PUT", "PATCH", "DELETE"):
            return [IsAdmin()]
        return [AllowAny()]

    def get_queryset(self):
        return selectors.categories_with_open_job_counts()

    def _update(self, request: Request, *, partial: bool) -> Response:
        category = self.get_object()
        serializer = s.CategoryWriteSerializer(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        services.update_category(category=category, **serializer.validated_data)
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(
        request=s.CategoryWriteSerializer,
        responses={200: s.CategorySerializer, 400: CATEGORY_TAKEN},
    )
    def put(self, request: Request, *args, **kwargs) -> Response:
        return self._update(request, partial=False)

    @extend_schema(
        request=s.CategoryWriteSerializer,
        responses={200: s.CategorySerializer, 400: CATEGORY_TAKEN},
    )
    def patch(self, request: Request, *args, **kwargs) -> Response:
        return self._update(request, partial=True)

    @extend_schema(responses={204: None, 409: OpenApiResponse(description="Category in use.")})
    def delete(self, request: Request, *args, **kwargs) -> Response:
        services.delete_category(category=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Jobs -----------------------------------------------------------------------------------


def _create_job(request: Request) -> Response:
    serializer = s.JobCreateSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    fields = dict(serializer.validated_data)
    draft = fields.pop("draft")
    job = services.create_job(employer=request.user, fields=fields, draft=draft)
    return Response(s.JobSerializer(job).data, status=status.HTTP_201_CREATED)


JOB_INVALID = validation_error_response(
    "Field errors: an unknown category, or `salary_min` above `salary_max`."
)
JOB_NOT_EDITABLE = validation_error_response(
    "Field errors (an unknown category, `salary_min` above `salary_max`), or the job is closed "
    "or expired and cannot be edited."
)


# The router's `lookup_value_regex` would make drf-spectacular document the id as a string.
JOB_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH)


@extend_schema_view(
    list=extend_schema(parameters=[s.JobListQuerySerializer]),
    retrieve=extend_schema(parameters=[JOB_ID]),
    create=extend_schema(
        request=s.JobCreateSerializer, responses={201: s.JobSerializer, 400: JOB_INVALID}
    ),
    update=extend_schema(
        parameters=[JOB_ID],
        request=s.JobUpdateSerializer,
        responses={200: s.JobSerializer, 400: JOB_NOT_EDITABLE},
    ),
    partial_update=extend_schema(
        parameters=[JOB_ID],
        request=s.JobUpdateSerializer,
        responses={200: s.JobSerializer, 400: JOB_NOT_EDITABLE},
    ),
    destroy=extend_schema(parameters=[JOB_ID]),
    close=extend_schema(parameters=[JOB_ID], request=None, responses=s.JobSerializer),
    publish=extend_schema(
        parameters=[JOB_ID],
        request=None,
        responses={
            200: s.JobSerializer,
            400: validation_error_response("The job is not a draft."),
        },
    ),
    renew=extend_schema(
        parameters=[JOB_ID],
        request=None,
        responses={
            200: s.JobSerializer,
            400: validation_error_response("The job is neither published nor expired."),
        },
    ),
    mine=extend_schema(responses=s.EmployerJobSerializer(many=True)),
)
class JobViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Jobs: the public listing and detail; posting, editing, closing and deleting by employers.

    - `GET /api/jobs/`: open jobs only (published, not expired), searchable and filterable.
    - `GET /api/jobs/{id}/`: an open job, or one of your own in any status.
    - `POST /api/jobs/` (and `/api/jobs/create/`): post a job, published unless `draft` is true.
    - `PUT/PATCH /api/jobs/{id}/`, `POST .../close/`, `POST .../publish/`, `DELETE`: the owner or
      an admin. A deleted job is 404 at its URL; its applications are kept.
    """

    serializer_class = s.JobSerializer
    lookup_value_regex = "[0-9]+"
    permission_classes_by_action = {
        "list": [AllowAny],
        "retrieve": [AllowAny],
        "create": [IsEmployer],
        "mine": [IsEmployer],
    }

    @property
    def throttle_scope(self) -> str | None:
        return "job_post" if self.action == "create" else None

    def get_permissions(self):
        classes = self.permission_classes_by_action.get(self.action, [IsEmployerOrAdmin])
        return [permission() for permission in classes]

    def get_queryset(self):
        user = self.request.user
        if self.action == "retrieve":
            return selectors.jobs_visible_to(user=user)
        if self.action == "mine":
            return selectors.jobs_owned_by(employer=user)
        return selectors.jobs_managed_by(user=user)

    def list(self, request: Request, *args, **kwargs) -> HttpResponse:
        """The public listing, served from the listings cache (see `core.listings`)."""
        alias = "jobs?" + request.META.get("QUERY_STRING", "")
        entry, generation = listings.alias_lookup(alias)
        if entry is None:
            query = s.JobListQuerySerializer(data=request.query_params)
            query.is_valid(raise_exception=True)
            page, page_size = self._page_and_size(request)
            entry = listings.job_list(query.to_filters(), page, page_size)
            if entry is None:
                raise NotFound("Invalid page.")
            listings.remember_alias(alias, generation, entry)
        return cached_response(request, entry)

    def _page_and_size(self, request: Request) -> tuple[int | str, int]:
        # The paginator's own rules: a bad page is 404, a bad page_size falls back to the
        # default, a big one is capped.
        paginator = self.paginator
        raw_page = request.query_params.get(paginator.page_query_param) or "1"
        if raw_page in paginator.last_page_strings:
            page: int | str = "last"
        else:
            try:
                page = _positive_int(raw_page, strict=True)
            except ValueError:
                raise NotFound("Invalid page.") from None
        return page, paginator.get_page_size(request)

    def retrieve(self, request: Request, *args, **kwargs) -> HttpResponse:
        """An open job from the listings cache for the public; signed-in users (who may own it,
        and may have just changed it) read the database."""
        if not request.user.is_authenticated:
            entry = listings.job_detail(int(kwargs["pk"]))
            if entry is not None:
                return cached_response(request, entry)
        return super().retrieve(request, *args, **kwargs)

    def create(self, request: Request, *args, **kwargs) -> Response:
        return _create_job(request)

    def _update(self, request: Request, *, partial: bool) -> Response:
        job = self.get_object()
        serializer = s.JobUpdateSerializer(job, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        job = services.update_job(job=job, changes=dict(serializer.validated_data))
        return Response(s.JobSerializer(job).data)

    def update(self, request: Request, *args, **kwargs) -> Response:
        return self._update(request, partial=False)

    def partial_update(self, request: Request, *args, **kwargs) -> Response:
        return self._update(request, partial=True)

    def perform_destroy(self, instance) -> None:
        services.delete_job(job=instance)

    @action(detail=True, methods=["post"])
    def close(self, request: Request, pk: str | None = None) -> Response:
        """Close the job: no longer listed or open to applications; the owner still sees it."""
        job = services.close_job(job=self.get_object())
        return Response(s.JobSerializer(job).data)

    @action(detail=True, methods=["post"])
    def publish(self, request: Request, pk: str | None = None) -> Response:
        """Publish a draft for the configured lifetime."""
        job = services.publish_job(job=self.get_object())
        return Response(s.JobSerializer(job).data)

    @action(detail=True, methods=["post"])
    def renew(self, request: Request, pk: str | None = None) -> Response:
        """Push the expiry date out by the configured lifetime; an expired job is listed again."""
        job = services.renew_job(job=self.get_object())
        return Response(s.JobSerializer(job).data)

    @action(detail=False, methods=["get"])
    def mine(self, request: Request) -> Response:
        """The caller's own jobs in every status, with their application counts."""
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(s.EmployerJobSerializer(page, many=True).data)


class JobCreateView(generics.GenericAPIView):
    """Post a job (the contract's path; same as `POST /api/jobs/`)."""

    permission_classes = [IsEmployer]
    throttle_scope = "job_post"
    serializer_class = s.JobCreateSerializer

    @extend_schema(
        request=s.JobCreateSerializer, responses={201: s.JobSerializer, 400: JOB_INVALID}
    )
    def post(self, request: Request) -> Response:
        return _create_job(request)


# --- Applications ---------------------------------------------------------------------------


class ApplyView(APIView):
    """Apply to an open job, once per job."""

    permission_classes = [IsJobSeeker]
    throttle_scope = "apply"

    @extend_schema(
        request=s.ApplySerializer,
        responses={
            201: s.ApplicationSerializer,
            400: validation_error_response(
                "Field errors: no open job with that id, or you already applied to it."
            ),
        },
    )
    def post(self, request: Request) -> Response:
        serializer = s.ApplySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        application = services.apply_to_job(applicant=request.user, **serializer.validated_data)
        application = selectors.applications_of_seeker(seeker=request.user).get(pk=application.pk)
        return Response(s.ApplicationSerializer(application).data, status=status.HTTP_201_CREATED)


class SeekerApplicationListView(generics.ListAPIView):
    """The caller's own applications, newest first."""

    permission_classes = [IsJobSeeker]
    serializer_class = s.ApplicationSerializer

    def get_queryset(self):
        return selectors.applications_of_seeker(seeker=self.request.user)


class EmployerApplicationListView(generics.ListAPIView):
    """Applications to the caller's jobs, filterable by job and status."""

    permission_classes = [IsEmployer]
    serializer_class = s.ApplicationSerializer

    @extend_schema(parameters=[s.EmployerApplicationsQuerySerializer])
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        query = s.EmployerApplicationsQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        return selectors.applications_to_employer(
            employer=self.request.user,
            job_id=query.validated_data.get("job"),
            status=query.validated_data.get("status"),
        )


class ApplicationDetailView(generics.RetrieveAPIView):
    """One application, for its applicant, the job's employer or an admin."""

    serializer_class = s.ApplicationSerializer

    def get_queryset(self):
        return selectors.applications_visible_to(user=self.request.user)


class ApplicationStatusView(APIView):
    """The job's employer moves the application along submitted → reviewed → interviewing →
    offered → hired, or rejects it from any open stage."""

    permission_classes = [IsEmployer]
    # A status change needs its `status`: the body is validated whole, not as a partial update.
    partial_patch = False

    @extend_schema(
        request=s.ApplicationStatusUpdateSerializer,
        responses={
            200: s.ApplicationSerializer,
            400: validation_error_response(
                "Field errors, or the pipeline does not allow this move from the current status."
            ),
        },
    )
    def patch(self, request: Request, pk: int) -> Response:
        applications = selectors.applications_to_employer(employer=request.user)
        application = get_object_or_404(applications, pk=pk)
        serializer = s.ApplicationStatusUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.change_application_status(
            application=application,
            to_status=serializer.validated_data["status"],
            note=serializer.validated_data["note"],
            actor=request.user,
        )
        return Response(s.ApplicationSerializer(applications.get(pk=pk)).data)


class ApplicationWithdrawView(APIView):
    """The applicant withdraws an application that is still open."""

    permission_classes = [IsJobSeeker]

    @extend_schema(
        request=None,
        responses={
            200: s.ApplicationSerializer,
            400: validation_error_response("The application is no longer open."),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        applications = selectors.applications_of_seeker(seeker=request.user)
        application = get_object_or_404(applications, pk=pk)
        services.withdraw_application(application=application, actor=request.user)
        return Response(s.ApplicationSerializer(applications.get(pk=pk)).data)
