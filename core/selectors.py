"""Every read of the job board: querysets already scoped to what the caller may see.

Authorisation lives here as much as in permissions: a job or application outside a caller's
queryset simply does not exist for them (404), whatever the view does with `get_object()`.
Each selector fetches its relations up front, so a page costs a constant number of queries.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db import connection
from django.db.models import Count, Exists, F, Max, Min, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone

from core.models import (
    Application,
    ApplicationStatusChange,
    Category,
    DeliveryStatus,
    EmailDelivery,
    Job,
    JobStatus,
    OutboxEvent,
    User,
)

SEARCH_CONFIG = "english"


def categories_with_open_job_counts() -> QuerySet[Category]:
    """All categories, each annotated with `open_jobs_count` (published, unexpired, not deleted)."""
    open_jobs = Q(jobs__in=Job.objects.open().values("pk"))
    return Category.objects.annotate(open_jobs_count=Count("jobs", filter=open_jobs)).order_by(
        "name"
    )


@dataclass(frozen=True)
class JobListFilters:
    """The public listing's query, normalised: equal filters mean equal objects."""

    search: str = ""
    category: str = ""
    employment_type: str = ""
    location: str = ""
    remote: bool | None = None
    salary_min: int | None = None
    salary_max: int | None = None
    posted_since: datetime | None = None
    ordering: str = ""


ORDERINGS = {
    "created_at": ("created_at", "id"),
    "-created_at": ("-created_at", "-id"),
    "published_at": ("published_at", "id"),
    "-published_at": ("-published_at", "-id"),
    "salary": (F("salary_max").asc(nulls_last=True), "id"),
    "-salary": (F("salary_max").desc(nulls_last=True), "-id"),
    "relevance": ("-search_rank", "-published_at", "-id"),
}
LISTED_FIELDS = (
    "id",
    "title",
    "description",
    "company_name",
    "location",
    "remote",
    "employment_type",
    "salary_min",
    "salary_max",
    "salary_currency",
    "status",
    "created_at",
    "updated_at",
    "published_at",
    "expires_at",
    "closed_at",
    "category__id",
    "category__name",
    "category__slug",
)


def _search(jobs: QuerySet[Job], text: str) -> QuerySet[Job]:
    if connection.vendor == "postgresql":
        # Full text on the trigger-maintained, GIN-indexed `search_vector`, websearch syntax
        # ("rust -crypto", quoted phrases, "or"), ranked by title > company/location > description.
        query = SearchQuery(text, search_type="websearch", config=SEARCH_CONFIG)
        return jobs.filter(search_vector=query).annotate(
            search_rank=SearchRank(F("search_vector"), query)
        )
    words = text.split()
    for word in words:
        jobs = jobs.filter(
            Q(title__icontains=word)
            | Q(description__icontains=word)
            | Q(company_name__icontains=word)
            | Q(location__icontains=word)
        )
    return jobs


def list_open_jobs(*, filters: JobListFilters) -> QuerySet[Job]:
    """The public listing: published jobs whose `expires_at` is still ahead, filtered and ordered.

    Expired postings are excluded here, in the query, whatever the cache or the scheduler did.
    Without an explicit ordering a search sorts by relevance and a plain listing by newest first.
    On PostgreSQL a search covers the newest `SEARCH_RESULT_LIMIT` matches.
    """
    jobs = Job.objects.open().select_related("category").only(*LISTED_FIELDS)
    if filters.category:
        by_slug = Q(category__slug=filters.category)
        if filters.category.isascii() and filters.category.isdigit():
            category_id = int(filters.category)
            # A slug may be all digits too; an id past the column's range can only be a slug.
            jobs = jobs.filter(
                by_slug | Q(category_id=category_id) if category_id < 2**63 else by_slug
            )
        else:
            jobs = jobs.filter(by_slug)
    if filters.employment_type:
        jobs = jobs.filter(employment_type=filters.employment_type)
    if filters.location:
        jobs = jobs.filter(location__icontains=filters.location)
    if filters.remote is not None:
        jobs = jobs.filter(remote=filters.remote)
    if filters.salary_min is not None:
        # Jobs that can pay at least this much.
        jobs = jobs.filter(
            Q(salary_max__gte=filters.salary_min)
            | Q(salary_max__isnull=True, salary_min__gte=filters.salary_min)
        )
    if filters.salary_max is not None:
        # Jobs whose range starts at or below this.
        jobs = jobs.filter(salary_min__lte=filters.salary_max)
    if filters.posted_since is not None:
        jobs = jobs.filter(published_at__gte=filters.posted_since)

    ordering = filters.ordering
    if filters.search:
        jobs = _search(jobs, filters.search)
        if connection.vendor == "postgresql":
            # A search answers from the newest SEARCH_RESULT_LIMIT matches: counting and ranking
            # every match of a common word ("team": most of the table) is what makes an
            # unbounded full-text search slow, and nobody pages past the first thousand.
            newest = jobs.order_by("-published_at", "-id").values("pk")
            jobs = jobs.filter(pk__in=newest[: settings.SEARCH_RESULT_LIMIT])
    if ordering == "relevance" or (not ordering and filters.search):
        if connection.vendor == "postgresql" and filters.search:
            return jobs.order_by(*ORDERINGS["relevance"])
        ordering = "-published_at"
    return jobs.order_by(*ORDERINGS.get(ordering or "-published_at", ORDERINGS["-published_at"]))


def _jobs() -> QuerySet[Job]:
    """Jobs that still exist, with their category, without the (large) search vector."""
    return Job.objects.not_deleted().select_related("category").defer("search_vector")


def jobs_visible_to(*, user: User) -> QuerySet[Job]:
    """Jobs `user` may read one by one: open jobs, plus their own in any status; admins see all.

    Deleted jobs are visible to nobody.
    """
    jobs = _jobs()
    if user.is_authenticated and user.is_staff:
        return jobs
    visible = Q(pk__in=Job.objects.open().values("pk"))
    if user.is_authenticated:
        visible |= Q(employer=user)
    return jobs.filter(visible)


def jobs_managed_by(*, user: User) -> QuerySet[Job]:
    """Jobs `user` may change: their own (any status), or every job for an admin."""
    jobs = _jobs()
    if user.is_staff:
        return jobs
    return jobs.filter(employer=user)


def jobs_owned_by(*, employer: User) -> QuerySet[Job]:
    """The employer's own jobs in every status, newest first, with their application counts."""
    return (
        _jobs()
        .filter(employer=employer)
        .annotate(applications_count=Count("applications"))
        .order_by("-created_at", "-id")
    )


def jobs_open_for_applications() -> QuerySet[Job]:
    """Jobs an application may name: not deleted, not drafts (the service checks the rest)."""
    return Job.objects.not_deleted().exclude(status=JobStatus.DRAFT).defer("search_vector")


def _applications() -> QuerySet[Application]:
    history = ApplicationStatusChange.objects.select_related("changed_by").only(
        "id",
        "application_id",
        "from_status",
        "to_status",
        "note",
        "changed_at",
        "changed_by__id",
        "changed_by__username",
    )
    return (
        Application.objects.select_related("job", "applicant")
        .defer("job__search_vector", "job__description")
        .prefetch_related(Prefetch("status_changes", queryset=history))
        .order_by("-created_at", "-id")
    )


def applications_of_seeker(*, seeker: User) -> QuerySet[Application]:
    """The seeker's own applications, newest first, with their history."""
    return _applications().filter(applicant=seeker)


def applications_to_employer(
    *, employer: User, job_id: int | None = None, status: str | None = None
) -> QuerySet[Application]:
    """Applications to the employer's jobs, deleted jobs included (nothing sent is lost)."""
    applications = _applications().filter(job__employer=employer)
    if job_id is not None:
        applications = applications.filter(job_id=job_id)
    if status:
        applications = applications.filter(status=status)
    return applications


def applications_visible_to(*, user: User) -> QuerySet[Application]:
    """Applications `user` may read: their own, those to their jobs, or all for an admin."""
    if user.is_staff:
        return _applications()
    return _applications().filter(Q(applicant=user) | Q(job__employer=user))


# --- Outbox and deliveries (operators) -------------------------------------------------------


@dataclass(frozen=True)
class PendingEventsOfType:
    """The unpublished events of one type: how many, since when, how often publishing failed."""

    event_type: str
    count: int
    oldest_occurred_at: datetime
    max_publish_attempts: int


@dataclass(frozen=True)
class OutboxLag:
    """How far the relay is behind at `measured_at`, and how fast it published lately."""

    measured_at: datetime
    pending: int
    oldest_occurred_at: datetime | None
    by_type: list[PendingEventsOfType]
    window: timedelta
    published_in_window: int

    @property
    def lag_seconds(self) -> float:
        """Age of the oldest unpublished event; 0 when the outbox is drained."""
        if self.oldest_occurred_at is None:
            return 0.0
        return max(0.0, (self.measured_at - self.oldest_occurred_at).total_seconds())

    @property
    def publish_rate_per_second(self) -> float:
        return self.published_in_window / self.window.total_seconds()


def outbox_lag(*, window: timedelta, now: datetime | None = None) -> OutboxLag:
    """The outbox backlog (unpublished events per type) and the events published in `window`.

    The backlog comes from the partial index on pending rows, so it stays cheap however many
    published rows are kept; the publish count reads the published rows of the retention period.
    """
    now = now or timezone.now()
    rows = (
        OutboxEvent.objects.filter(published_at__isnull=True)
        .values("event_type")
        .annotate(count=Count("id"), oldest=Min("occurred_at"), attempts=Max("publish_attempts"))
        .order_by("event_type")
    )
    by_type = [
        PendingEventsOfType(
            event_type=row["event_type"],
            count=row["count"],
            oldest_occurred_at=row["oldest"],
            max_publish_attempts=row["attempts"],
        )
        for row in rows
    ]
    published = OutboxEvent.objects.filter(
        published_at__gt=now - window, published_at__lte=now
    ).count()
    return OutboxLag(
        measured_at=now,
        pending=sum(pending.count for pending in by_type),
        oldest_occurred_at=min((pending.oldest_occurred_at for pending in by_type), default=None),
        by_type=by_type,
        window=window,
        published_in_window=published,
    )


def outbox_events(
    *,
    ids: list[uuid.UUID] | None = None,
    event_type: str | None = None,
    since: datetime | None = None,
) -> QuerySet[OutboxEvent]:
    """Stored events matching every given filter (`since` on when they occurred), oldest first."""
    stored = OutboxEvent.objects.all()
    if ids is not None:
        stored = stored.filter(id__in=ids)
    if event_type:
        stored = stored.filter(event_type=event_type)
    if since is not None:
        stored = stored.filter(occurred_at__gte=since)
    return stored.order_by("occurred_at", "id")


def failed_deliveries(
    *, ids: list[int] | None = None, since: datetime | None = None
) -> QuerySet[EmailDelivery]:
    """Failed emails, most recent failure first, each annotated with `event_stored`.

    `since` applies to the last attempt (`updated_at`). A delivery whose event was pruned
    (`event_stored` false) cannot be retried: retrying replays the event.
    """
    failed = EmailDelivery.objects.filter(status=DeliveryStatus.FAILED)
    if ids is not None:
        failed = failed.filter(id__in=ids)
    if since is not None:
        failed = failed.filter(updated_at__gte=since)
    return failed.annotate(
        event_stored=Exists(OutboxEvent.objects.filter(id=OuterRef("event_id")))
    ).order_by("-updated_at", "-id")
