"""Every read of categories and jobs: querysets already scoped to what the caller may see.

Authorisation lives here as much as in permissions: a job outside a caller's queryset simply does
not exist for them (404), whatever the view does with `get_object()`. Each selector fetches its
relations up front, so a page costs a constant number of queries.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db import connection
from django.db.models import BigIntegerField, Count, F, Func, Q, QuerySet, Subquery
from django.utils import timezone

from core.accounts.models import User
from core.jobs import listing_sql
from core.jobs.models import PUBLIC_JOB_FIELDS, Category, Job, JobStatus

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
# The columns of the public listing: the public fields, the category's read through the relation.
_COLUMNS = {
    "category": "category__id",
    "category_name": "category__name",
    "category_slug": "category__slug",
}
LISTED_FIELDS = tuple(_COLUMNS.get(name, name) for name in PUBLIC_JOB_FIELDS)


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
    return _open_jobs_matching(filters).select_related("category").only(*LISTED_FIELDS)


def _open_jobs_matching(filters: JobListFilters) -> QuerySet[Job]:
    """`list_open_jobs` without the columns: the open jobs `filters` select, in their order."""
    jobs = Job.objects.open()
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


# --- Keyset pages (API v2) -----------------------------------------------------------------

# The orderings a page may continue from its last row (a date and the id as tie-breaker, both
# columns of an index on the open set): the column and whether it is descending.
KEYSET_ORDERINGS = {
    "-published_at": ("published_at", True),
    "-created_at": ("created_at", True),
    "published_at": ("published_at", False),
    "created_at": ("created_at", False),
}


def keyset_ordering(filters: JobListFilters) -> str | None:
    """The ordering `list_open_jobs(filters)` sorts by if a keyset can page it, else None
    (relevance ranking, salary)."""
    ordering = filters.ordering
    if ordering == "relevance" or (not ordering and filters.search):
        if connection.vendor == "postgresql" and filters.search:
            return None
        ordering = "-published_at"
    ordering = ordering or "-published_at"
    return ordering if ordering in KEYSET_ORDERINGS else None


def open_job_rows_after(
    *, filters: JobListFilters, after: tuple[datetime, int] | None, backwards: bool, limit: int
) -> list[tuple]:
    """Up to `limit` rows of the public listing (`LISTED_FIELDS`, as `open_job_rows`) that come
    after the row whose (ordering column, id) is `after` in `keyset_ordering(filters)`, or
    before it when `backwards` (still in listing order). No OFFSET: the page starts at `after`
    in the listing's index, however deep; no count either.
    """
    ordering = keyset_ordering(filters)
    if ordering is None:
        raise ValueError("a listing ranked by relevance or salary has no keyset")
    column, descending = KEYSET_ORDERINGS[ordering]
    jobs = _open_jobs_matching(filters)
    order = ORDERINGS[ordering]
    if backwards:
        order = tuple(name[1:] if name.startswith("-") else f"-{name}" for name in order)
    if after is not None:
        value, job_id = after
        op = "lt" if descending != backwards else "gt"
        # (column, id) < (value, job_id), written so that `column <= value` bounds the index scan.
        jobs = jobs.filter(
            Q(**{f"{column}__{op}e": value})
            & (Q(**{f"{column}__{op}": value}) | Q(**{f"id__{op}": job_id}))
        )
    rows = list(jobs.order_by(*order).values_list(*LISTED_FIELDS)[:limit])
    if backwards:
        rows.reverse()
    return rows


# COUNT(*) as a plain expression: an aggregate would make the ORM group the outer query.
_COUNT_ALL = Func(template="COUNT(*)", output_field=BigIntegerField())


def open_job_rows(*, filters: JobListFilters, offset: int, limit: int) -> tuple[list[tuple], int]:
    """Rows `offset` to `offset + limit` of the public listing (`list_open_jobs`) as plain
    tuples of `LISTED_FIELDS` (no model instances), and how many jobs the listing has in all.

    Both come from one statement (the count a scalar subquery of it), so they agree with each
    other, and a page costs one round trip; only past the end is the count asked on its own.
    """
    if connection.vendor == "postgresql":
        return _open_job_rows_sql(filters, offset, limit)
    jobs = _open_jobs_matching(filters)
    total = Subquery(jobs.order_by().values(n=_COUNT_ALL))
    rows = list(
        jobs.annotate(listing_total=total).values_list(*LISTED_FIELDS, "listing_total")[
            offset : offset + limit
        ]
    )
    if not rows:
        return [], jobs.count()
    return [row[:-1] for row in rows], rows[0][-1]


def _open_job_rows_sql(filters: JobListFilters, offset: int, limit: int) -> tuple[list, int]:
    # The same query written as SQL (`listing_sql`): building the queryset costs more CPU than
    # PostgreSQL spends answering it.
    now = timezone.now()
    sql, params = listing_sql.page_and_count(
        filters, LISTED_FIELDS, config=SEARCH_CONFIG, now=now, offset=offset, limit=limit
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
        if rows:
            return [row[:-1] for row in rows], rows[0][-1]
        cursor.execute(*listing_sql.count(filters, config=SEARCH_CONFIG, now=now))
        return [], cursor.fetchone()[0]


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
