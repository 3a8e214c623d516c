"""REST for categories and jobs: the public listing and detail (served from the listings cache),
posting, editing, closing, renewing and deleting, with the shapes they read and answer.

Who may call a view is a role permission; which rows they reach is decided by the selector that
builds the queryset, so another employer's job is a 404, never a 403 that confirms it exists.
"""

from __future__ import annotations

import functools
from typing import Any

from django.db import models
from django.http import HttpResponse
from django.utils.cache import patch_vary_headers
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import generics, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, Throttled
from rest_framework.pagination import _positive_int
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from core.api import listings
from core.api.fields import (
    MAX_INT,
    StrictBooleanField,
    StrictCharField,
    StrictIntegerField,
    StrictPrimaryKeyRelatedField,
    StrictRegexField,
    StrictSlugField,
)
from core.api.listings import CategorySerializer, JobSerializer
from core.api.permissions import IsAdmin, IsEmployer, IsEmployerOrAdmin
from core.api.schema import validation_error_response
from core.api.versions import V2, cursor, is_v2, version_of_path
from core.jobs import listing_cache, selectors, services
from core.jobs.models import EDITABLE_JOB_FIELDS, Category, EmploymentType, Job
from core.jobs.selectors import ORDERINGS, JobListFilters

# --- Shapes ---------------------------------------------------------------------------------


class CategoryWriteSerializer(serializers.Serializer):
    """Create or rename a category; the slug is made from the name when omitted."""

    name = StrictCharField(max_length=100)
    slug = StrictSlugField(max_length=100, required=False)


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
        fields = list(EDITABLE_JOB_FIELDS)

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
        choices=list(ORDERINGS),
        required=False,
        help_text="Sort order; a search defaults to relevance, a listing to -published_at.",
    )

    def to_filters(self) -> JobListFilters:
        data = self.validated_data
        return JobListFilters(
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


# --- Views ----------------------------------------------------------------------------------


# --- Categories -----------------------------------------------------------------------------

CATEGORY_TAKEN = validation_error_response(
    "Field errors, such as a name or slug (given, or made from the name) another category has."
)


class CategoryListView(generics.ListAPIView):
    """Every category with its number of open jobs (anyone); employers and admins add new ones."""

    serializer_class = CategorySerializer
    pagination_class = None
    # Answered from the listings cache with `ETag` (documented by `core.api.schema`).
    etag_actions = frozenset({"get"})

    def get_permissions(self):
        if self.request.method == "POST":
            return [IsEmployerOrAdmin()]
        return [AllowAny()]

    def get_queryset(self):
        return selectors.categories_with_open_job_counts()

    @extend_schema(description="Every category with its number of open jobs (anyone).")
    def get(self, request: Request, *args, **kwargs) -> HttpResponse:
        return listings.cached_response(request, listings.categories())

    @extend_schema(
        request=CategoryWriteSerializer,
        responses={201: CategorySerializer, 400: CATEGORY_TAKEN},
        description="Add a category (employers and admins).",
    )
    def post(self, request: Request) -> Response:
        serializer = CategoryWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        category = services.create_category(**serializer.validated_data)
        return Response(CategorySerializer(category).data, status=status.HTTP_201_CREATED)


class CategoryDetailView(generics.RetrieveAPIView):
    """One category (anyone); renaming and deleting are for admins."""

    serializer_class = CategorySerializer

    def get_permissions(self):
        if self.request.method in ("PUT", "PATCH", "DELETE"):
            return [IsAdmin()]
        return [AllowAny()]

    def get_queryset(self):
        return selectors.categories_with_open_job_counts()

    def _update(self, request: Request, *, partial: bool) -> Response:
        category = self.get_object()
        serializer = CategoryWriteSerializer(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        services.update_category(category=category, **serializer.validated_data)
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(
        request=CategoryWriteSerializer,
        responses={200: CategorySerializer, 400: CATEGORY_TAKEN},
        description="Rename a category (admins).",
    )
    def put(self, request: Request, *args, **kwargs) -> Response:
        return self._update(request, partial=False)

    @extend_schema(
        request=CategoryWriteSerializer,
        responses={200: CategorySerializer, 400: CATEGORY_TAKEN},
        description="Change a category's name or slug (admins).",
    )
    def patch(self, request: Request, *args, **kwargs) -> Response:
        return self._update(request, partial=True)

    @extend_schema(
        responses={204: None, 409: OpenApiResponse(description="Category in use.")},
        description="Delete a category no job uses (admins); one in use is 409.",
    )
    def delete(self, request: Request, *args, **kwargs) -> Response:
        services.delete_category(category=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Jobs -----------------------------------------------------------------------------------


def _create_job(request: Request) -> Response:
    serializer = JobCreateSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    fields = dict(serializer.validated_data)
    draft = fields.pop("draft")
    job = services.create_job(employer=request.user, fields=fields, draft=draft)
    return Response(JobSerializer(job).data, status=status.HTTP_201_CREATED)


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
    list=extend_schema(
        parameters=[JobListQuerySerializer],
        description=(
            "Open jobs (published, not expired), anyone: `search` matches title, description, "
            "company and location; filters narrow the list; `ordering` sorts it."
        ),
    ),
    retrieve=extend_schema(
        parameters=[JOB_ID],
        description="An open job (anyone), or one of your own in any status (with your token).",
    ),
    create=extend_schema(
        request=JobCreateSerializer,
        responses={201: JobSerializer, 400: JOB_INVALID},
        description="Post a job (employers): published at once unless `draft` is true.",
    ),
    update=extend_schema(
        description="Replace a job's fields (its employer or an admin).",
        parameters=[JOB_ID],
        request=JobUpdateSerializer,
        responses={200: JobSerializer, 400: JOB_NOT_EDITABLE},
    ),
    partial_update=extend_schema(
        description="Change some of a job's fields (its employer or an admin).",
        parameters=[JOB_ID],
        request=JobUpdateSerializer,
        responses={200: JobSerializer, 400: JOB_NOT_EDITABLE},
    ),
    destroy=extend_schema(
        parameters=[JOB_ID],
        description="Delete a job (its employer or an admin): 404 at its URL from then on; its "
        "applications and their history are kept.",
    ),
    close=extend_schema(parameters=[JOB_ID], request=None, responses=JobSerializer),
    publish=extend_schema(
        parameters=[JOB_ID],
        request=None,
        responses={
            200: JobSerializer,
            400: validation_error_response("The job is not a draft."),
        },
    ),
    renew=extend_schema(
        parameters=[JOB_ID],
        request=None,
        responses={
            200: JobSerializer,
            400: validation_error_response("The job is neither published nor expired."),
        },
    ),
    mine=extend_schema(responses=EmployerJobSerializer(many=True)),
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

    serializer_class = JobSerializer
    lookup_value_regex = "[0-9]+"
    # Answered from the listings cache with `ETag` (the detail: to anyone not signed in).
    etag_actions = frozenset({"list", "retrieve"})
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

    @classmethod
    def as_view(cls, actions=None, **initkwargs):
        view = super().as_view(actions, **initkwargs)
        if actions and actions.get("get") == "list":
            return _listing_fast_path(cls, view, actions, initkwargs)
        return view

    def check_throttles(self, request: Request) -> None:
        # The listing's fast path already asked the throttles about this request; its decision
        # stands (asking again would count the request twice).
        decided = getattr(request._request, THROTTLE_DECISION, None)
        if decided is not None:
            raise decided
        super().check_throttles(request)

    def list(self, request: Request, *args, **kwargs) -> HttpResponse:
        # This docstring is the operation's description in the published schema, kept word for
        # word: the cache is `core.jobs.listing_cache`, the bodies it stores `core.api.listings`.
        """The public listing, served from the listings cache (see `core.listings`)."""
        if is_v2(request):  # keyset pages (core.api.versions.cursor)
            return cursor.job_list(self, request)
        alias = listings.job_list_alias(request.META.get("QUERY_STRING", ""))
        entry, generation = listing_cache.alias_lookup(alias)
        if entry is None:
            filters = self._filters(request)
            page, page_size = self._page_and_size(request)
            entry = listings.job_list(filters, page, page_size)
            if entry is None:
                raise NotFound("Invalid page.")
            listing_cache.remember_alias(alias, generation, entry)
        return listings.job_list_response(request, entry)

    def _filters(self, request: Request) -> JobListFilters:
        if not request.query_params:
            # What the query serializer validates an empty query to, without building it.
            return JobListFilters()
        query = JobListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        return query.to_filters()

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
                return listings.cached_response(request, entry)
        return super().retrieve(request, *args, **kwargs)

    def create(self, request: Request, *args, **kwargs) -> Response:
        return _create_job(request)

    def _update(self, request: Request, *, partial: bool) -> Response:
        job = self.get_object()
        serializer = JobUpdateSerializer(job, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        job = services.update_job(job=job, changes=dict(serializer.validated_data))
        return Response(JobSerializer(job).data)

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
        return Response(JobSerializer(job).data)

    @action(detail=True, methods=["post"])
    def publish(self, request: Request, pk: str | None = None) -> Response:
        """Publish a draft for the configured lifetime."""
        job = services.publish_job(job=self.get_object())
        return Response(JobSerializer(job).data)

    @action(detail=True, methods=["post"])
    def renew(self, request: Request, pk: str | None = None) -> Response:
        """Push the expiry date out by the configured lifetime; an expired job is listed again."""
        job = services.renew_job(job=self.get_object())
        return Response(JobSerializer(job).data)

    @action(detail=False, methods=["get"])
    def mine(self, request: Request) -> Response:
        """The caller's own jobs in every status, with their application counts."""
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(EmployerJobSerializer(page, many=True).data)


THROTTLE_DECISION = "listing_throttled"


def _listing_fast_path(cls, drf_view, actions, initkwargs):
    """`GET /api/jobs/` answered before DRF's dispatch when this process holds the page.

    DRF's dispatch and content negotiation cost more than the rest of a hit. For a request the
    DRF view would answer with exactly these bytes (`listings.plain_anonymous_get`: anonymous,
    negotiation that cannot fail) and a page this process already served for the same query
    string, the hit is sent from here: the same body, `ETag`/304 and `Cache-Control`
    (`listings.cached_response`), and the headers DRF's `finalize_response` adds (`Allow`). The
    view's throttles still count the request, through the view's own `check_throttles`; a
    request they refuse is handed to the DRF view with that decision, which answers the 429 as
    it always did. Everything else (a miss, a signed-in or unusual request, other methods) is
    the DRF view's, untouched. The URL, and so the OpenAPI schema, stay the DRF view's.
    """
    probe = cls(**initkwargs)
    probe.action_map = {**actions, **({"head": actions["get"]} if "head" not in actions else {})}
    for method, handler in probe.action_map.items():
        setattr(probe, method, getattr(probe, handler))
    added_headers = dict(probe.default_response_headers)
    vary = added_headers.pop("Vary", None)

    @functools.wraps(drf_view)
    def view(request, *args, **kwargs):
        if not listings.plain_anonymous_get(request) or version_of_path(request.path) == V2:
            return drf_view(request, *args, **kwargs)
        entry = listings.remembered_job_list(request)
        if entry is None:
            return drf_view(request, *args, **kwargs)
        if cls.throttle_classes:
            viewset = cls(**initkwargs)
            viewset.action_map = actions
            viewset.args, viewset.kwargs = args, kwargs
            viewset.request = viewset.initialize_request(request, *args, **kwargs)
            try:
                viewset.check_throttles(viewset.request)
            except Throttled as refused:
                setattr(request, THROTTLE_DECISION, refused)
                return drf_view(request, *args, **kwargs)
        response = listings.job_list_response(request, entry)
        if vary is not None:
            patch_vary_headers(response, [v.strip() for v in vary.split(",")])
        for name, value in added_headers.items():
            response[name] = value
        return response

    return csrf_exempt(view)


class JobCreateView(generics.GenericAPIView):
    """Post a job (employers): published at once unless `draft` is true; the same as
    `POST /api/jobs/`."""

    permission_classes = [IsEmployer]
    throttle_scope = "job_post"
    serializer_class = JobCreateSerializer

    @extend_schema(request=JobCreateSerializer, responses={201: JobSerializer, 400: JOB_INVALID})
    def post(self, request: Request) -> Response:
        return _create_job(request)
