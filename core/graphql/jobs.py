"""GraphQL for categories and jobs: the public listing and one job, the categories, the
employer's own jobs, and posting, editing and closing a job.

The listing reads `core.jobs.selectors.list_open_jobs` with filters validated by the REST
listing's own query serializer, so both answer the same jobs for the same parameters; which
jobs a caller reaches is the selectors' decision (another employer's job is `NOT_FOUND`). The
mutations validate with the REST serializers and call the same services.
"""

from __future__ import annotations

from typing import Any

import graphene
from graphene_django import DjangoObjectType

from core.api.jobs import JobCreateSerializer, JobListQuerySerializer, JobUpdateSerializer
from core.applications import selectors as application_selectors
from core.exceptions import DomainError
from core.graphql.common import (
    FieldError,
    domain_errors,
    employer,
    employer_or_admin,
    get_or_not_found,
    payload_errors_field,
    serializer_errors,
)
from core.graphql.connections import CountedConnection, connection_args, paginate
from core.graphql.errors import bad_input, forbidden
from core.jobs import selectors, services
from core.jobs.models import Category, EmploymentType, Job, JobStatus

JobEmploymentType = graphene.Enum.from_enum(EmploymentType, name="JobEmploymentType")
JobStatusEnum = graphene.Enum.from_enum(JobStatus, name="JobStatus")


def enum_value(value: Any) -> Any:
    """The REST value of an enum argument (graphene hands over the member)."""
    return getattr(value, "value", value)


class CategoryType(DjangoObjectType):
    """A category; `openJobsCount` is given by `categories` (null where a job names it)."""

    open_jobs_count = graphene.Int()

    class Meta:
        model = Category
        name = "Category"
        fields = ("id", "name", "slug")

    @staticmethod
    def resolve_open_jobs_count(root: Category, info) -> int | None:
        return getattr(root, "open_jobs_count", None)


class JobType(DjangoObjectType):
    """A job. `applications` is for its owner and admins."""

    employment_type = graphene.Field(JobEmploymentType, required=True)
    status = graphene.Field(JobStatusEnum, required=True)
    category = graphene.Field(CategoryType, required=True)
    applications = graphene.Field(
        "core.graphql.applications.ApplicationConnection",
        status=graphene.Argument("core.graphql.applications.ApplicationStatusEnum"),
        **connection_args(),
        description="The applications to this job: its employer and admins only.",
    )

    class Meta:
        model = Job
        name = "Job"
        convert_choices_to_enum = False
        fields = (
            "id",
            "title",
            "description",
            "company_name",
            "location",
            "remote",
            "salary_min",
            "salary_max",
            "salary_currency",
            "created_at",
            "published_at",
            "expires_at",
        )

    @staticmethod
    def resolve_applications(root: Job, info, status=None, first=None, after=None):
        from core.graphql.applications import ApplicationConnection, with_job_category

        user = info.context.user
        if not (user.is_authenticated and (user.is_staff or root.employer_id == user.pk)):
            raise forbidden("Only the job's employer sees its applications.")
        applications = application_selectors.applications_visible_to(user=user).filter(
            job_id=root.pk
        )
        if status is not None:
            applications = applications.filter(status=enum_value(status))
        return paginate(
            ApplicationConnection,
            with_job_category(applications),
            first=first,
            after=after,
            info=info,
        )


class JobConnection(CountedConnection):
    class Meta:
        node = JobType


# --- Queries --------------------------------------------------------------------------------


def validated(serializer) -> dict[str, Any]:
    """The serializer's validated data, or `BAD_USER_INPUT` naming each field's problem."""
    if serializer.is_valid():
        return serializer.validated_data
    errors = serializer_errors(serializer.errors)
    message = "; ".join(f"{e.field}: {' '.join(e.messages)}" for e in errors)
    raise bad_input(f"Invalid arguments. {message}", fields={e.field: e.messages for e in errors})


class Query(graphene.ObjectType):
    jobs = graphene.Field(
        JobConnection,
        required=True,
        search=graphene.String(),
        category=graphene.String(description="Category id or slug."),
        employment_type=JobEmploymentType(),
        location=graphene.String(),
        remote=graphene.Boolean(),
        salary_min=graphene.Int(),
        salary_max=graphene.Int(),
        posted_since=graphene.DateTime(),
        ordering=graphene.String(description="As `GET /api/jobs/?ordering=`."),
        **connection_args(),
        description="Open jobs (published, not expired), filtered and ordered as GET /api/jobs/.",
    )
    job = graphene.Field(
        JobType,
        id=graphene.ID(required=True),
        description="An open job; its owner and admins see it in any status.",
    )
    categories = graphene.List(
        graphene.NonNull(CategoryType), required=True, description="With their open jobs."
    )
    my_jobs = graphene.Field(
        JobConnection,
        required=True,
        status=JobStatusEnum(),
        **connection_args(),
        description="The employer's own jobs in every status, newest first.",
    )

    @staticmethod
    def resolve_jobs(root, info, first=None, after=None, **arguments) -> JobConnection:
        # The arguments are the REST query parameters, camelCased.
        data = {name: enum_value(value) for name, value in arguments.items() if value is not None}
        query = JobListQuerySerializer(data=data)
        validated(query)
        jobs = selectors.list_open_jobs(filters=query.to_filters())
        return paginate(JobConnection, jobs, first=first, after=after, info=info)

    @staticmethod
    def resolve_job(root, info, id) -> Job:
        return get_or_not_found(selectors.jobs_visible_to(user=info.context.user), id, "job")

    @staticmethod
    def resolve_categories(root, info) -> list[Category]:
        return list(selectors.categories_with_open_job_counts())

    @staticmethod
    def resolve_my_jobs(root, info, status=None, first=None, after=None) -> JobConnection:
        jobs = selectors.jobs_owned_by(employer=employer(info))
        if status is not None:
            jobs = jobs.filter(status=enum_value(status))
        return paginate(JobConnection, jobs, first=first, after=after, info=info)


# --- Mutations ------------------------------------------------------------------------------


class JobFieldsInput:
    title = graphene.String()
    description = graphene.String()
    company_name = graphene.String()
    location = graphene.String()
    remote = graphene.Boolean()
    employment_type = JobEmploymentType()
    category = graphene.ID()
    salary_min = graphene.Int()
    salary_max = graphene.Int()
    salary_currency = graphene.String()


class CreateJobInput(graphene.InputObjectType):
    """The fields of `POST /api/jobs/create/`; published at once unless `draft`."""

    title = graphene.String(required=True)
    description = graphene.String(required=True)
    company_name = graphene.String(required=True)
    location = graphene.String(required=True)
    remote = graphene.Boolean()
    employment_type = JobEmploymentType(required=True)
    category = graphene.ID(required=True)
    salary_min = graphene.Int()
    salary_max = graphene.Int()
    salary_currency = graphene.String()
    draft = graphene.Boolean()


class UpdateJobInput(JobFieldsInput, graphene.InputObjectType):
    """The fields to change; those left out keep their value."""


def serializer_data(given: dict[str, Any]) -> dict[str, Any]:
    """A mutation input as the REST serializer's body: enum values, ids as integers."""
    data = {name: enum_value(value) for name, value in given.items()}
    for name in ("category", "job"):
        value = data.get(name)
        if isinstance(value, str) and value.isascii() and value.isdigit():
            data[name] = int(value)
    return data


class CreateJobPayload(graphene.ObjectType):
    job = graphene.Field(JobType)
    errors = payload_errors_field()


class UpdateJobPayload(graphene.ObjectType):
    job = graphene.Field(JobType)
    errors = payload_errors_field()


class CloseJobPayload(graphene.ObjectType):
    job = graphene.Field(JobType)
    errors = payload_errors_field()


class CreateJob(graphene.Mutation):
    """Post a job (employers), as `POST /api/jobs/create/`."""

    class Arguments:
        input = CreateJobInput(required=True)

    Output = graphene.NonNull(CreateJobPayload)

    @staticmethod
    def mutate(root, info, input) -> CreateJobPayload:
        user = employer(info)
        serializer = JobCreateSerializer(data=serializer_data(dict(input)))
        if not serializer.is_valid():
            return CreateJobPayload(job=None, errors=serializer_errors(serializer.errors))
        fields = dict(serializer.validated_data)
        draft = fields.pop("draft")
        try:
            job = services.create_job(employer=user, fields=fields, draft=draft)
        except DomainError as error:
            return CreateJobPayload(job=None, errors=domain_errors(error))
        return CreateJobPayload(job=job, errors=[])


class UpdateJob(graphene.Mutation):
    """Edit a job (its employer or an admin), as `PATCH /api/jobs/{id}/`."""

    class Arguments:
        id = graphene.ID(required=True)
        input = UpdateJobInput(required=True)

    Output = graphene.NonNull(UpdateJobPayload)

    @staticmethod
    def mutate(root, info, id, input) -> UpdateJobPayload:
        user = employer_or_admin(info)
        job = get_or_not_found(selectors.jobs_managed_by(user=user), id, "job")
        serializer = JobUpdateSerializer(job, data=serializer_data(dict(input)), partial=True)
        if not serializer.is_valid():
            return UpdateJobPayload(job=None, errors=serializer_errors(serializer.errors))
        try:
            job = services.update_job(job=job, changes=dict(serializer.validated_data))
        except DomainError as error:
            return UpdateJobPayload(job=None, errors=domain_errors(error))
        return UpdateJobPayload(job=job, errors=[])


class CloseJob(graphene.Mutation):
    """Close a job (its employer or an admin), as `POST /api/jobs/{id}/close/`."""

    class Arguments:
        id = graphene.ID(required=True)

    Output = graphene.NonNull(CloseJobPayload)

    @staticmethod
    def mutate(root, info, id) -> CloseJobPayload:
        user = employer_or_admin(info)
        job = get_or_not_found(selectors.jobs_managed_by(user=user), id, "job")
        try:
            job = services.close_job(job=job)
        except DomainError as error:
            return CloseJobPayload(job=None, errors=domain_errors(error))
        return CloseJobPayload(job=job, errors=[])


class Mutation(graphene.ObjectType):
    create_job = CreateJob.Field()
    update_job = UpdateJob.Field()
    close_job = CloseJob.Field()


__all__ = ["FieldError", "JobConnection", "JobType", "Mutation", "Query"]
