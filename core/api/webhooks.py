"""REST for webhooks: an employer's endpoints (create, list, read, change, pause, delete), secret
rotation, a ping, the delivery log with each attempt, and redelivery; plus the shapes of the
events' `data`, which the webhooks worker renders when it creates deliveries.

Which endpoints a caller reaches is decided by the selector that builds the queryset: another
employer's endpoint is a 404. Refused input is a 400 with the field's messages and a `code`.
"""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import ErrorDetail, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.applications import ApplicationSerializer
from core.api.fields import StrictBooleanField, StrictCharField
from core.api.listings import JobSerializer
from core.api.permissions import IsEmployer
from core.api.schema import validation_error_response
from core.applications.models import Application
from core.exceptions import DomainError
from core.jobs.models import Job
from core.outbox.models import OutboxEvent
from core.webhooks import selectors, services
from core.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

# --- Shapes ---------------------------------------------------------------------------------


class WebhookEndpointSerializer(serializers.ModelSerializer):
    """An endpoint as its owner reads it (never with its secret)."""

    events = serializers.ListField(
        child=serializers.ChoiceField(services.SUBSCRIBABLE_EVENTS),
        max_length=len(services.SUBSCRIBABLE_EVENTS),
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["id", "url", "events", "description", "is_active", "created_at"]
        read_only_fields = fields


class WebhookEndpointCreatedSerializer(WebhookEndpointSerializer):
    """A new endpoint, with its secret: shown this once."""

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class WebhookEndpointWriteSerializer(serializers.Serializer):
    """What an employer sets: the URL (https, public), the event types, a description, and
    (when changing it) whether it is active."""

    url = StrictCharField(
        max_length=2000, help_text="An https URL on a public address; no credentials in it."
    )
    # Each subscribable type at most once (a longer list repeats one).
    events = serializers.ListField(
        child=serializers.ChoiceField(services.SUBSCRIBABLE_EVENTS),
        allow_empty=False,
        max_length=len(services.SUBSCRIBABLE_EVENTS),
    )
    description = StrictCharField(max_length=200, required=False, allow_blank=True, default="")
    is_active = StrictBooleanField(required=False)


class WebhookSecretSerializer(serializers.Serializer):
    secret = serializers.CharField(read_only=True, help_text="`whsec_` + base64; shown once.")


class WebhookAttemptSerializer(serializers.ModelSerializer):
    """One POST of a delivery and what the receiver answered."""

    class Meta:
        model = WebhookAttempt
        fields = ["at", "status_code", "duration_ms", "response_excerpt", "error"]
        read_only_fields = fields


class WebhookDeliverySerializer(serializers.ModelSerializer):
    """A delivery in the log, with how many attempts it has had."""

    attempts = serializers.IntegerField(source="attempt_total", read_only=True)

    class Meta:
        model = WebhookDelivery
        fields = ["id", "event_type", "status", "attempts", "next_attempt_at", "created_at"]
        read_only_fields = fields


class WebhookDeliveryDetailSerializer(serializers.ModelSerializer):
    """A delivery with each of its attempts, oldest first."""

    attempts = WebhookAttemptSerializer(many=True, read_only=True)

    class Meta:
        model = WebhookDelivery
        fields = ["id", "event_type", "status", "attempts", "next_attempt_at", "created_at"]
        read_only_fields = fields


def _refused(exc: DomainError) -> ValidationError:
    return ValidationError(
        {exc.field or "non_field_errors": [exc.detail], "code": exc.default_code}
    )


def _flat(messages: Any) -> list[ErrorDetail]:
    """A field's messages as one list (a list field's are keyed by item: `Item 0: ...`)."""
    if isinstance(messages, dict):
        return [
            ErrorDetail(f"Item {key}: {message}", code=getattr(message, "code", "invalid"))
            for key, sub in messages.items()
            for message in _flat(sub)
        ]
    if isinstance(messages, list):
        return [message for item in messages for message in _flat(item)]
    return [messages]


def _valid(serializer: serializers.Serializer) -> dict[str, Any]:
    """The serializer's data, or a 400 of its field errors plus the first error's `code`."""
    if serializer.is_valid():
        return dict(serializer.validated_data)
    errors = {field: _flat(messages) for field, messages in serializer.errors.items()}
    first = next((messages[0] for messages in errors.values() if messages), None)
    raise ValidationError({**errors, "code": getattr(first, "code", None) or "invalid"})


# --- Views ----------------------------------------------------------------------------------

URL_REFUSED = validation_error_response(
    "Field errors with a `code`: the URL is not https, carries credentials or points at a "
    "loopback, private, link-local, CGNAT, multicast or reserved address; an unknown event type."
)


class WebhookEndpointListView(generics.ListAPIView):
    """The caller's webhook endpoints, newest first; `POST` registers one."""

    permission_classes = [IsEmployer]
    serializer_class = WebhookEndpointSerializer

    def get_queryset(self):
        return selectors.endpoints_of(employer=self.request.user)

    @extend_schema(
        request=WebhookEndpointWriteSerializer,
        responses={201: WebhookEndpointCreatedSerializer, 400: URL_REFUSED},
    )
    def post(self, request: Request) -> Response:
        data = _valid(WebhookEndpointWriteSerializer(data=request.data))
        try:
            endpoint = services.create_endpoint(
                employer=request.user,
                url=data["url"],
                event_types=data["events"],
                description=data.get("description", ""),
            )
        except DomainError as exc:
            raise _refused(exc) from exc
        if data.get("is_active") is False:
            endpoint = services.update_endpoint(endpoint=endpoint, fields={"is_active": False})
        return Response(
            WebhookEndpointCreatedSerializer(endpoint).data, status=status.HTTP_201_CREATED
        )


class WebhookEndpointDetailView(generics.RetrieveDestroyAPIView):
    """One of the caller's endpoints: read, change (`PATCH`, `is_active: false` pauses), delete."""

    permission_classes = [IsEmployer]
    serializer_class = WebhookEndpointSerializer
    http_method_names = ["get", "patch", "delete", "head", "options"]

    def get_queryset(self):
        return selectors.endpoints_of(employer=self.request.user)

    @extend_schema(
        request=WebhookEndpointWriteSerializer(partial=True),
        responses={200: WebhookEndpointSerializer, 400: URL_REFUSED},
    )
    def patch(self, request: Request, pk: int) -> Response:
        endpoint = self.get_object()
        data = _valid(WebhookEndpointWriteSerializer(data=request.data, partial=True))
        try:
            endpoint = services.update_endpoint(endpoint=endpoint, fields=data)
        except DomainError as exc:
            raise _refused(exc) from exc
        return Response(WebhookEndpointSerializer(endpoint).data)

    def perform_destroy(self, instance: WebhookEndpoint) -> None:
        services.delete_endpoint(endpoint=instance)


class WebhookRotateSecretView(APIView):
    """A new secret, shown once; the old one keeps signing for `WEBHOOK_SECRET_ROTATION_HOURS`
    (requests carry both signatures meanwhile)."""

    permission_classes = [IsEmployer]

    @extend_schema(request=None, responses={200: WebhookSecretSerializer})
    def post(self, request: Request, pk: int) -> Response:
        endpoint = get_object_or_404(selectors.endpoints_of(employer=request.user), pk=pk)
        return Response({"secret": services.rotate_secret(endpoint=endpoint)})


class WebhookPingView(APIView):
    """Send a `webhook.ping` delivery to the endpoint."""

    permission_classes = [IsEmployer]

    @extend_schema(
        request=None,
        responses={
            202: WebhookDeliverySerializer,
            409: OpenApiResponse(description="The endpoint is disabled."),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        endpoint = get_object_or_404(selectors.endpoints_of(employer=request.user), pk=pk)
        delivery = services.ping(endpoint=endpoint)
        delivery = selectors.deliveries_of(endpoint=endpoint).get(pk=delivery.pk)
        return Response(WebhookDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)


class WebhookDeliveryListView(generics.ListAPIView):
    """The endpoint's deliveries, newest first, each with its attempt count."""

    permission_classes = [IsEmployer]
    serializer_class = WebhookDeliverySerializer

    def get_queryset(self):
        endpoint = get_object_or_404(
            selectors.endpoints_of(employer=self.request.user), pk=self.kwargs["pk"]
        )
        return selectors.deliveries_of(endpoint=endpoint)


class WebhookDeliveryDetailView(APIView):
    """One delivery with every attempt: time, status code, duration, response excerpt, error."""

    permission_classes = [IsEmployer]

    @extend_schema(responses={200: WebhookDeliveryDetailSerializer})
    def get(self, request: Request, pk: int, delivery_id) -> Response:
        endpoint = get_object_or_404(selectors.endpoints_of(employer=request.user), pk=pk)
        delivery = selectors.delivery_with_attempts(endpoint=endpoint, delivery_id=delivery_id)
        if delivery is None:
            return Response({"detail": "Not found."}, status=status.HTTP_404_NOT_FOUND)
        return Response(WebhookDeliveryDetailSerializer(delivery).data)


class WebhookRedeliverView(APIView):
    """Send the delivery again: the same `webhook-id` and body, a fresh timestamp and signature."""

    permission_classes = [IsEmployer]

    @extend_schema(
        request=None,
        responses={
            202: WebhookDeliverySerializer,
            409: OpenApiResponse(description="The endpoint is disabled."),
        },
    )
    def post(self, request: Request, pk: int, delivery_id) -> Response:
        endpoint = get_object_or_404(selectors.endpoints_of(employer=request.user), pk=pk)
        deliveries = selectors.deliveries_of(endpoint=endpoint)
        delivery = get_object_or_404(deliveries, pk=delivery_id)
        services.redeliver(delivery=delivery)
        return Response(
            WebhookDeliverySerializer(deliveries.get(pk=delivery.pk)).data,
            status=status.HTTP_202_ACCEPTED,
        )


# --- Event data -----------------------------------------------------------------------------


def event_data(event: OutboxEvent) -> dict[str, Any] | None:
    """The `data` of a webhook for `event`, as the API shows its subject now: the job as its
    public detail shows it, the application as its employer reads it. None when the subject
    is gone."""
    payload = event.payload
    if event.event_type.startswith("application."):
        application = (
            Application.objects.select_related("job", "applicant")
            .prefetch_related("status_changes__changed_by")
            .filter(pk=payload.get("application_id"))
            .first()
        )
        return None if application is None else dict(ApplicationSerializer(application).data)
    job = Job.objects.select_related("category").filter(pk=payload.get("job_id")).first()
    return None if job is None else dict(JobSerializer(job).data)
