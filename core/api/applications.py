"""REST for applications: applying, the seeker's and the employer's lists, one application, the
employer's pipeline and withdrawing, with the shapes they read and answer.

Which applications a caller reaches is decided by the selector that builds the queryset: another
user's application is a 404.
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.accounts.models import User
from core.api.fields import HttpUrlField, StrictCharField, StrictPrimaryKeyRelatedField
from core.api.permissions import IsEmployer, IsJobSeeker
from core.api.schema import validation_error_response
from core.applications import selectors, services
from core.applications.models import (
    Application,
    ApplicationStatus,
    ApplicationStatusChange,
    HistoryActor,
)
from core.jobs.models import Job
from core.jobs.selectors import jobs_open_for_applications

# --- Shapes ---------------------------------------------------------------------------------


class ApplySerializer(serializers.Serializer):
    """A job seeker's application."""

    job = StrictPrimaryKeyRelatedField(
        queryset=jobs_open_for_applications(), help_text="Id of a published job."
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


def _sees_employer_side(context: dict, application: Application) -> bool:
    """Whether the caller reads this application as its job's employer (or an admin) does.

    Anyone else (its applicant), and a serializer given no caller, gets the applicant's view."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return False
    return user.is_staff or user.pk == application.job.employer_id


class ApplicationStatusChangeSerializer(serializers.ModelSerializer):
    """One step of an application's history, as the caller may see it: the job's employer sees
    who made each step and its internal note; the applicant sees the role of whoever made a
    step, their own username only, and never the internal note."""

    # Blank for the first step (the application was submitted from no status); the model field
    # allows it, but a read-only field drops `allow_blank` and the schema would say it cannot be.
    from_status = serializers.ChoiceField(
        choices=ApplicationStatus.choices, allow_blank=True, read_only=True
    )
    actor = serializers.SerializerMethodField(
        help_text=(
            "Who made the step: `employer` (the job's employer), `applicant`, or `system` "
            "(an administrator, or an account deleted since)."
        )
    )
    changed_by = serializers.SerializerMethodField(
        help_text=(
            "The username of who made the step. The job's employer sees it on every step; the "
            "applicant only on their own (null on the others: `actor` says who)."
        )
    )
    note = serializers.CharField(
        read_only=True,
        help_text=(
            "The employer's note on the step. **Sent to the applicant**: it is in the "
            "status-change email and in the applicant's history."
        ),
    )
    internal_note = serializers.SerializerMethodField(
        help_text=(
            "The employer's internal note on the step: never emailed, shown only to the job's "
            "employer and admins (always empty for the applicant)."
        )
    )

    class Meta:
        model = ApplicationStatusChange
        fields = [
            "from_status",
            "to_status",
            "actor",
            "changed_by",
            "note",
            "internal_note",
            "changed_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ChoiceField(choices=HistoryActor.choices))
    def get_actor(self, change: ApplicationStatusChange) -> str:
        return change.actor().value

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_changed_by(self, change: ApplicationStatusChange) -> str | None:
        if change.changed_by is None:
            return None
        if _sees_employer_side(self.context, change.application):
            return change.changed_by.username
        if change.changed_by_id == change.application.applicant_id:
            return change.changed_by.username
        return None

    @extend_schema_field(OpenApiTypes.STR)
    def get_internal_note(self, change: ApplicationStatusChange) -> str:
        if _sees_employer_side(self.context, change.application):
            return change.internal_note
        return ""


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
    note = StrictCharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=1000,
        help_text=(
            "A note for the applicant. **Sent to the applicant** in the status-change email and "
            "shown in their history: write it as you would write to them."
        ),
    )
    internal_note = StrictCharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=1000,
        help_text="A note for your side only: never emailed or shown to the applicant.",
    )


class EmployerApplicationsQuerySerializer(serializers.Serializer):
    """Filters of the employer's application inbox."""

    job = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
    status = serializers.ChoiceField(choices=ApplicationStatus.choices, required=False)


# --- Views ----------------------------------------------------------------------------------


class ApplyView(APIView):
    """Apply to an open job, once per job."""

    permission_classes = [IsJobSeeker]
    throttle_scope = "apply"

    @extend_schema(
        request=ApplySerializer,
        responses={
            201: ApplicationSerializer,
            400: validation_error_response(
                "Field errors: no open job with that id, or you already applied to it."
            ),
        },
    )
    def post(self, request: Request) -> Response:
        serializer = ApplySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        application = services.apply_to_job(applicant=request.user, **serializer.validated_data)
        application = selectors.applications_of_seeker(seeker=request.user).get(pk=application.pk)
        return Response(
            ApplicationSerializer(application, context={"request": request}).data,
            status=status.HTTP_201_CREATED,
        )


class SeekerApplicationListView(generics.ListAPIView):
    """The caller's own applications, newest first."""

    permission_classes = [IsJobSeeker]
    serializer_class = ApplicationSerializer

    def get_queryset(self):
        return selectors.applications_of_seeker(seeker=self.request.user)


class EmployerApplicationListView(generics.ListAPIView):
    """Applications to the caller's jobs, filterable by job and status."""

    permission_classes = [IsEmployer]
    serializer_class = ApplicationSerializer

    @extend_schema(parameters=[EmployerApplicationsQuerySerializer])
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        query = EmployerApplicationsQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        return selectors.applications_to_employer(
            employer=self.request.user,
            job_id=query.validated_data.get("job"),
            status=query.validated_data.get("status"),
        )


class ApplicationDetailView(generics.RetrieveAPIView):
    """One application, for its applicant, the job's employer or an admin."""

    serializer_class = ApplicationSerializer

    def get_queryset(self):
        return selectors.applications_visible_to(user=self.request.user)


class ApplicationStatusView(APIView):
    """The job's employer moves the application along submitted → reviewed → interviewing →
    offered → hired, or rejects it from any open stage."""

    permission_classes = [IsEmployer]
    # A status change needs its `status`: the body is validated whole, not as a partial update.
    partial_patch = False

    @extend_schema(
        request=ApplicationStatusUpdateSerializer,
        responses={
            200: ApplicationSerializer,
            400: validation_error_response(
                "Field errors, or the pipeline does not allow this move from the current status."
            ),
        },
    )
    def patch(self, request: Request, pk: int) -> Response:
        applications = selectors.applications_to_employer(employer=request.user)
        application = get_object_or_404(applications, pk=pk)
        serializer = ApplicationStatusUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.change_application_status(
            application=application,
            to_status=serializer.validated_data["status"],
            note=serializer.validated_data["note"],
            internal_note=serializer.validated_data["internal_note"],
            actor=request.user,
        )
        application = applications.get(pk=pk)
        return Response(ApplicationSerializer(application, context={"request": request}).data)


class ApplicationWithdrawView(APIView):
    """The applicant withdraws an application that is still open."""

    permission_classes = [IsJobSeeker]

    @extend_schema(
        request=None,
        responses={
            200: ApplicationSerializer,
            400: validation_error_response("The application is no longer open."),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        applications = selectors.applications_of_seeker(seeker=request.user)
        application = get_object_or_404(applications, pk=pk)
        services.withdraw_application(application=application, actor=request.user)
        application = applications.get(pk=pk)
        return Response(ApplicationSerializer(application, context={"request": request}).data)
