"""GraphQL for applications: the seeker's own, those to the employer's jobs, one application,
and applying, moving an application along the pipeline and withdrawing it.

Which applications a caller reaches is the selectors' decision (another user's application is
`NOT_FOUND`); input is validated by the REST serializers and the writes are the same services,
so the same events, emails and webhooks follow.
"""

from __future__ import annotations

import graphene
from django.db.models import QuerySet
from graphene_django import DjangoObjectType
from graphql import GraphQLError

from core.api.applications import ApplicationStatusUpdateSerializer, ApplySerializer
from core.applications import selectors, services
from core.applications.models import Application, ApplicationStatus, ApplicationStatusChange
from core.exceptions import DomainError
from core.graphql.accounts import ApplicantType
from core.graphql.common import (
    domain_errors,
    employer,
    get_or_not_found,
    job_seeker,
    object_id,
    payload_errors_field,
    serializer_errors,
    viewer,
)
from core.graphql.connections import CountedConnection, connection_args, paginate
from core.graphql.errors import bad_input, forbidden
from core.graphql.jobs import JobType, enum_value, serializer_data

ApplicationStatusEnum = graphene.Enum.from_enum(ApplicationStatus, name="ApplicationStatus")


def with_job_category(applications: QuerySet[Application]) -> QuerySet[Application]:
    """A selector's applications with each job whole and its category, in the same query: the
    selectors leave the description out (REST's summary of the job does not show it)."""
    return (
        applications.select_related("job__category")
        .defer(None)
        .defer("job__search_vector", "applicant__password")
    )


class ApplicationStatusChangeType(DjangoObjectType):
    """One step of an application's history; the first has no `fromStatus`."""

    from_status = graphene.Field(ApplicationStatusEnum)
    to_status = graphene.Field(ApplicationStatusEnum, required=True)

    class Meta:
        model = ApplicationStatusChange
        name = "ApplicationStatusChange"
        convert_choices_to_enum = False
        fields = ("changed_at", "note")

    @staticmethod
    def resolve_from_status(root: ApplicationStatusChange, info) -> str | None:
        return root.from_status or None


class ApplicationType(DjangoObjectType):
    """An application with its job and history; the job's employer also sees the applicant."""

    status = graphene.Field(ApplicationStatusEnum, required=True)
    job = graphene.Field(JobType, required=True)
    history = graphene.List(graphene.NonNull(ApplicationStatusChangeType), required=True)
    applicant = graphene.Field(ApplicantType, description="The job's employer and admins only.")

    class Meta:
        model = Application
        name = "Application"
        convert_choices_to_enum = False
        fields = ("id", "cover_letter", "resume_url", "created_at")

    @staticmethod
    def resolve_history(root: Application, info) -> list[ApplicationStatusChange]:
        return list(root.status_changes.all())

    @staticmethod
    def resolve_applicant(root: Application, info):
        user = info.context.user
        if not (user.is_staff or root.job.employer_id == user.pk):
            raise forbidden("Only the job's employer sees who applied.")
        return root.applicant


class ApplicationConnection(CountedConnection):
    class Meta:
        node = ApplicationType


# --- Queries --------------------------------------------------------------------------------


class Query(graphene.ObjectType):
    my_applications = graphene.Field(
        ApplicationConnection,
        required=True,
        status=ApplicationStatusEnum(),
        **connection_args(),
        description="The job seeker's own applications, newest first.",
    )
    applications_to_my_jobs = graphene.Field(
        ApplicationConnection,
        required=True,
        job=graphene.ID(),
        status=ApplicationStatusEnum(),
        **connection_args(),
        description="Applications to the employer's jobs, newest first.",
    )
    application = graphene.Field(
        ApplicationType,
        id=graphene.ID(required=True),
        description="For its applicant, the job's employer and admins.",
    )

    @staticmethod
    def resolve_my_applications(root, info, status=None, first=None, after=None):
        applications = selectors.applications_of_seeker(seeker=job_seeker(info))
        if status is not None:
            applications = applications.filter(status=enum_value(status))
        return paginate(
            ApplicationConnection,
            with_job_category(applications),
            first=first,
            after=after,
            info=info,
        )

    @staticmethod
    def resolve_applications_to_my_jobs(root, info, job=None, status=None, first=None, after=None):
        user = employer(info)
        job_id = None
        if job is not None:
            try:
                job_id = object_id(job, "job")
            except GraphQLError:
                raise bad_input("`job` must be the id of a job.") from None
        applications = selectors.applications_to_employer(
            employer=user,
            job_id=job_id,
            status=enum_value(status) if status is not None else None,
        )
        return paginate(
            ApplicationConnection,
            with_job_category(applications),
            first=first,
            after=after,
            info=info,
        )

    @staticmethod
    def resolve_application(root, info, id) -> Application:
        applications = selectors.applications_visible_to(user=viewer(info))
        return get_or_not_found(with_job_category(applications), id, "application")


# --- Mutations ------------------------------------------------------------------------------


class ApplyToJobInput(graphene.InputObjectType):
    """As `POST /api/applications/apply/`."""

    job = graphene.ID(required=True)
    cover_letter = graphene.String()
    resume_url = graphene.String(required=True)


class ApplyToJobPayload(graphene.ObjectType):
    application = graphene.Field(ApplicationType)
    errors = payload_errors_field()


class MoveApplicationPayload(graphene.ObjectType):
    application = graphene.Field(ApplicationType)
    errors = payload_errors_field()


class WithdrawApplicationPayload(graphene.ObjectType):
    application = graphene.Field(ApplicationType)
    errors = payload_errors_field()


def _reread(applications: QuerySet[Application], pk: int) -> Application:
    return with_job_category(applications).get(pk=pk)


class ApplyToJob(graphene.Mutation):
    """Apply to an open job, once per job (job seekers)."""

    class Arguments:
        input = ApplyToJobInput(required=True)

    Output = graphene.NonNull(ApplyToJobPayload)

    @staticmethod
    def mutate(root, info, input) -> ApplyToJobPayload:
        user = job_seeker(info)
        serializer = ApplySerializer(data=serializer_data(dict(input)))
        if not serializer.is_valid():
            return ApplyToJobPayload(application=None, errors=serializer_errors(serializer.errors))
        try:
            application = services.apply_to_job(applicant=user, **serializer.validated_data)
        except DomainError as error:
            return ApplyToJobPayload(application=None, errors=domain_errors(error))
        mine = selectors.applications_of_seeker(seeker=user)
        return ApplyToJobPayload(application=_reread(mine, application.pk), errors=[])


class MoveApplication(graphene.Mutation):
    """The job's employer moves an application along the pipeline (or rejects it)."""

    class Arguments:
        id = graphene.ID(required=True)
        status = ApplicationStatusEnum(required=True)
        note = graphene.String()

    Output = graphene.NonNull(MoveApplicationPayload)

    @staticmethod
    def mutate(root, info, id, status, note=None) -> MoveApplicationPayload:
        user = employer(info)
        applications = selectors.applications_to_employer(employer=user)
        application = get_or_not_found(applications, id, "application")
        data = {"status": enum_value(status)}
        if note is not None:
            data["note"] = note
        serializer = ApplicationStatusUpdateSerializer(data=data)
        if not serializer.is_valid():
            return MoveApplicationPayload(
                application=None, errors=serializer_errors(serializer.errors)
            )
        try:
            services.change_application_status(
                application=application,
                to_status=serializer.validated_data["status"],
                note=serializer.validated_data["note"],
                actor=user,
            )
        except DomainError as error:
            return MoveApplicationPayload(application=None, errors=domain_errors(error))
        return MoveApplicationPayload(application=_reread(applications, application.pk), errors=[])


class WithdrawApplication(graphene.Mutation):
    """The applicant withdraws an application that is still open."""

    class Arguments:
        id = graphene.ID(required=True)

    Output = graphene.NonNull(WithdrawApplicationPayload)

    @staticmethod
    def mutate(root, info, id) -> WithdrawApplicationPayload:
        user = job_seeker(info)
        applications = selectors.applications_of_seeker(seeker=user)
        application = get_or_not_found(applications, id, "application")
        try:
            services.withdraw_application(application=application, actor=user)
        except DomainError as error:
            return WithdrawApplicationPayload(application=None, errors=domain_errors(error))
        return WithdrawApplicationPayload(
            application=_reread(applications, application.pk), errors=[]
        )


class Mutation(graphene.ObjectType):
    apply_to_job = ApplyToJob.Field()
    move_application = MoveApplication.Field()
    withdraw_application = WithdrawApplication.Field()
