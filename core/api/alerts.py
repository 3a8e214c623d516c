"""REST for job alerts: a seeker's saved searches (list, create, read, change, pause, delete),
what one matches now, and the one-click unsubscribe link of alert emails (RFC 8058).

An alert's filters are the public listing's (`JobListQuerySerializer`), validated as the listing
validates them, and more strictly where a saved search that can never match is a mistake to
report: an unknown category, or `salary_min` above `salary_max`, is a 400 here.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.alerts import selectors, services
from core.alerts.models import FILTER_FIELDS, AlertFrequency, JobAlert
from core.api import listings
from core.api.fields import MAX_INT, StrictBooleanField, StrictCharField, StrictIntegerField
from core.api.jobs import JobListQuerySerializer, JobViewSet
from core.api.listings import JobSerializer
from core.api.permissions import IsJobSeeker
from core.api.schema import validation_error_response

# --- Shapes ---------------------------------------------------------------------------------


def _strict_text(name: str) -> StrictCharField:
    """The listing's text filter `name`, with its limits, taking only a JSON string."""
    listing = JobListQuerySerializer._declared_fields[name]
    return StrictCharField(
        required=False,
        allow_blank=True,
        max_length=listing.max_length,
        help_text=listing.help_text,
    )


class AlertFiltersSerializer(JobListQuerySerializer):
    """The filters of `GET /api/jobs/` an alert saves; every key optional, none other accepted.

    The listing's own fields and limits, as JSON: booleans and integers must be JSON ones.
    """

    posted_since = None
    ordering = None
    search = _strict_text("search")
    category = _strict_text("category")
    location = _strict_text("location")
    remote = StrictBooleanField(required=False, allow_null=True)
    salary_min = StrictIntegerField(
        required=False,
        allow_null=True,
        min_value=0,
        max_value=MAX_INT,
        help_text="Jobs paying at least this.",
    )
    salary_max = StrictIntegerField(
        required=False,
        allow_null=True,
        min_value=0,
        max_value=MAX_INT,
        help_text="Jobs whose salary range starts at or below this.",
    )

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if isinstance(data, dict):
            unknown = sorted(str(key) for key in data if key not in FILTER_FIELDS)
            if unknown:
                raise serializers.ValidationError(
                    {key: ["Not a filter of the job listing."] for key in unknown}
                )
        return super().to_internal_value(data)

    def validate_category(self, value: str) -> str:
        value = value.strip()
        if value and not selectors.category_exists(value):
            raise serializers.ValidationError(f"No category has the slug or id {value!r}.")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        low, high = attrs.get("salary_min"), attrs.get("salary_max")
        if low is not None and high is not None and low > high:
            raise serializers.ValidationError(
                {"salary_max": ["salary_max must be greater than or equal to salary_min."]}
            )
        return attrs


class AlertSerializer(serializers.ModelSerializer):
    """A job alert as its owner reads it; `filters` holds only the filters it sets."""

    filters = serializers.SerializerMethodField()

    class Meta:
        model = JobAlert
        fields = ["id", "name", "filters", "frequency", "is_active", "created_at", "last_sent_at"]
        read_only_fields = fields

    @extend_schema_field(AlertFiltersSerializer)
    def get_filters(self, alert: JobAlert) -> dict[str, Any]:
        values = {name: getattr(alert, name) for name in FILTER_FIELDS}
        return {name: value for name, value in values.items() if value not in ("", None)}


class AlertCreateSerializer(serializers.Serializer):
    """A new job alert: a name, the listing's filters, and how often to send it."""

    name = StrictCharField(max_length=100)
    filters = AlertFiltersSerializer(required=False)
    frequency = serializers.ChoiceField(choices=AlertFrequency.choices)


class AlertUpdateSerializer(serializers.Serializer):
    """Changes to a job alert; `filters`, when given, replace the saved ones whole."""

    name = StrictCharField(max_length=100, required=False)
    filters = AlertFiltersSerializer(required=False)
    frequency = serializers.ChoiceField(choices=AlertFrequency.choices, required=False)
    is_active = StrictBooleanField(required=False, help_text="false pauses the alert.")


class UnsubscribeSerializer(serializers.Serializer):
    """The RFC 8058 one-click body a mail client posts."""

    List_Unsubscribe = serializers.ChoiceField(choices=["One-Click"])

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        value = data.get("List-Unsubscribe") if hasattr(data, "get") else None
        if value != "One-Click":
            raise serializers.ValidationError(
                {"List-Unsubscribe": ['The body must be "List-Unsubscribe=One-Click".']}
            )
        return {"List-Unsubscribe": value}


class UnsubscribeStateSerializer(serializers.Serializer):
    """What the unsubscribe link does to which alert (the GET), or did (the POST)."""

    name = serializers.CharField(help_text="The alert's name.")
    is_active = serializers.BooleanField()
    detail = serializers.CharField()


def _flat_errors(errors: dict, prefix: str = "") -> dict[str, list[str]]:
    """A nested serializer's errors as one level: `{"filters.salary_max": ["..."]}`, the shape
    every 400 of the API has."""
    flat: dict[str, list[str]] = {}
    for name, value in errors.items():
        key = f"{prefix}{name}"
        if isinstance(value, dict):
            flat.update(_flat_errors(value, f"{key}."))
        else:
            flat[key] = [str(message) for message in value]
    return flat


def _validated(serializer_class: type[serializers.Serializer], data: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    if not serializer.is_valid():
        raise serializers.ValidationError(_flat_errors(serializer.errors))
    return serializer.validated_data


# --- Views ----------------------------------------------------------------------------------

ALERT_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH)
ALERT_INVALID = validation_error_response(
    "Field errors: an unknown category, `salary_min` above `salary_max`, an unknown frequency "
    "or filter, a search too long, or the seeker's alerts at their limit (`non_field_errors`)."
)


@extend_schema_view(
    list=extend_schema(responses=AlertSerializer(many=True)),
    retrieve=extend_schema(parameters=[ALERT_ID]),
    create=extend_schema(
        request=AlertCreateSerializer, responses={201: AlertSerializer, 400: ALERT_INVALID}
    ),
    partial_update=extend_schema(
        parameters=[ALERT_ID],
        request=AlertUpdateSerializer,
        responses={200: AlertSerializer, 400: ALERT_INVALID},
    ),
    destroy=extend_schema(parameters=[ALERT_ID]),
    jobs=extend_schema(
        parameters=[ALERT_ID],
        responses=JobSerializer(many=True),
    ),
)
class JobAlertViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """A job seeker's alerts: saved searches of the listing, emailed instantly or as digests.

    - `GET/POST /api/alerts/`, `GET/PATCH/DELETE /api/alerts/{id}/`: the caller's own alerts
      only (another seeker's is 404). `PATCH {"is_active": false}` pauses one.
    - `GET /api/alerts/{id}/jobs/`: the open jobs it matches now, shaped and paged like
      `GET /api/jobs/` (whose links the pages carry).
    """

    serializer_class = AlertSerializer
    permission_classes = [IsJobSeeker]
    lookup_value_regex = "[0-9]+"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        return selectors.alerts_of(user=self.request.user)

    def create(self, request: Request, *args, **kwargs) -> Response:
        data = _validated(AlertCreateSerializer, request.data)
        alert = services.create_alert(
            user=request.user,
            name=data["name"],
            filters=data.get("filters", {}),
            frequency=data["frequency"],
        )
        return Response(AlertSerializer(alert).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args, **kwargs) -> Response:
        alert = self.get_object()
        changes = _validated(AlertUpdateSerializer, request.data)
        alert = services.update_alert(alert=alert, changes=dict(changes))
        return Response(AlertSerializer(alert).data)

    def perform_destroy(self, instance: JobAlert) -> None:
        services.delete_alert(alert=instance)

    @action(detail=True, methods=["get"])
    def jobs(self, request: Request, pk: str | None = None) -> HttpResponse:
        """The open jobs the alert matches now: the listing's page for the alert's filters."""
        alert = self.get_object()
        page, page_size = JobViewSet._page_and_size(self, request)
        entry = listings.job_list(selectors.filters_of(alert), page, page_size)
        if entry is None:
            raise NotFound("Invalid page.")
        response = HttpResponse(entry.body, content_type="application/json")
        response["Cache-Control"] = "private, no-cache"
        return response


UNSUBSCRIBE_TOKEN = OpenApiParameter(
    "token", OpenApiTypes.STR, OpenApiParameter.PATH, description="From the email's link."
)
NO_SUCH_LINK = OpenApiResponse(
    description="A forged or altered token (`invalid_token`), or its alert was deleted "
    "(`not_found`)."
)


class UnsubscribeView(APIView):
    """One-click unsubscribe (RFC 8058) from an alert email's `List-Unsubscribe` link.

    `POST` with the form body `List-Unsubscribe=One-Click` stops the alert at once, with no login
    and no CSRF token. `GET` changes nothing (mail scanners fetch links): it says what the POST
    would do.
    """

    authentication_classes: list = []
    permission_classes = [AllowAny]
    parser_classes = [FormParser, MultiPartParser]

    @extend_schema(
        parameters=[UNSUBSCRIBE_TOKEN],
        responses={200: UnsubscribeStateSerializer, 404: NO_SUCH_LINK},
    )
    def get(self, request: Request, token: str) -> Response:
        alert = services.alert_for_token(token)
        detail = (
            'POST "List-Unsubscribe=One-Click" to this URL to stop this alert.'
            if alert.is_active
            else "This alert is stopped already."
        )
        return Response({"name": alert.name, "is_active": alert.is_active, "detail": detail})

    @extend_schema(
        parameters=[UNSUBSCRIBE_TOKEN],
        request={"application/x-www-form-urlencoded": UnsubscribeSerializer},
        responses={
            200: UnsubscribeStateSerializer,
            400: validation_error_response('The body is not "List-Unsubscribe=One-Click".'),
            404: NO_SUCH_LINK,
        },
    )
    def post(self, request: Request, token: str) -> Response:
        UnsubscribeSerializer(data=request.data).is_valid(raise_exception=True)
        alert = services.unsubscribe(token=token)
        return Response(
            {"name": alert.name, "is_active": False, "detail": "This alert is stopped."}
        )
