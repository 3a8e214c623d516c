"""The public listing's page as one parameterised PostgreSQL statement, built without the ORM.

`selectors.list_open_jobs` says what the listing is; building and compiling that queryset costs
more CPU than PostgreSQL spends answering it (measured: about half of an uncached page). This
module writes the same query directly: the same open-job condition, filters, search, result
limit and orderings, the listed columns as plain tuples, and the listing's count as a scalar
subquery of the same statement. `selectors.open_job_rows` uses it on PostgreSQL (the ORM
elsewhere); `tests/core/test_listing_fast_paths.py` checks that both give the same pages for
every filter, ordering and page.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import connection

from core.jobs.models import Category, Job, JobStatus


def _column(model, name: str) -> str:
    return connection.ops.quote_name(model._meta.get_field(name).column)


def _select_list(listed_fields: tuple[str, ...]) -> str:
    columns = []
    for name in listed_fields:
        if name.startswith("category__"):
            columns.append(f"c.{_column(Category, name.removeprefix('category__'))}")
        else:
            columns.append(f"j.{_column(Job, name)}")
    return ", ".join(columns)


# `selectors.ORDERINGS` in SQL, on the alias `j`; `rank` is the search rank's expression.
_ORDERINGS = {
    "created_at": "j.created_at ASC, j.id ASC",
    "-created_at": "j.created_at DESC, j.id DESC",
    "published_at": "j.published_at ASC, j.id ASC",
    "-published_at": "j.published_at DESC, j.id DESC",
    "salary": "j.salary_max ASC NULLS LAST, j.id ASC",
    "-salary": "j.salary_max DESC NULLS LAST, j.id DESC",
    "relevance": "{rank} DESC, j.published_at DESC, j.id DESC",
}
ORDERING_NAMES = frozenset(_ORDERINGS)


def _from(alias: str, category_alias: str) -> str:
    return (
        f"{connection.ops.quote_name(Job._meta.db_table)} {alias} "
        f"INNER JOIN {connection.ops.quote_name(Category._meta.db_table)} {category_alias} "
        f"ON ({alias}.category_id = {category_alias}.id)"
    )


def _where(filters, config: str, now: datetime, j: str, c: str) -> tuple[str, list]:
    """The conditions of `list_open_jobs` on job alias `j` and category alias `c`."""
    conditions = [f"{j}.deleted_at IS NULL", f"{j}.expires_at > %s", f"{j}.status = %s"]
    params: list = [now, JobStatus.PUBLISHED]
    if filters.category:
        category = filters.category
        if category.isascii() and category.isdigit() and int(category) < 2**63:
            conditions.append(f"({c}.slug = %s OR {j}.category_id = %s)")
            params += [category, int(category)]
        else:
            conditions.append(f"{c}.slug = %s")
            params.append(category)
    if filters.employment_type:
        conditions.append(f"{j}.employment_type = %s")
        params.append(filters.employment_type)
    if filters.location:
        conditions.append(f"UPPER({j}.location::text) LIKE UPPER(%s)")
        params.append(f"%{connection.ops.prep_for_like_query(filters.location)}%")
    if filters.remote is not None:
        conditions.append(f"{j}.remote = %s")
        params.append(filters.remote)
    if filters.salary_min is not None:
        conditions.append(
            f"({j}.salary_max >= %s OR ({j}.salary_max IS NULL AND {j}.salary_min >= %s))"
        )
        params += [filters.salary_min, filters.salary_min]
    if filters.salary_max is not None:
        conditions.append(f"{j}.salary_min <= %s")
        params.append(filters.salary_max)
    if filters.posted_since is not None:
        conditions.append(f"{j}.published_at >= %s")
        params.append(filters.posted_since)
    if filters.search:
        conditions.append(f"{j}.search_vector @@ (websearch_to_tsquery(%s::regconfig, %s))")
        params += [config, filters.search]
    return " AND ".join(conditions), params


def _matching(filters, config: str, now: datetime, j: str, c: str) -> tuple[str, list]:
    """FROM and WHERE of the listing: a search keeps its newest SEARCH_RESULT_LIMIT matches."""
    where, params = _where(filters, config, now, j, c)
    if filters.search:
        inner_where, inner_params = _where(filters, config, now, f"{j}n", f"{c}n")
        where += (
            f" AND {j}.id IN (SELECT {j}n.id FROM {_from(f'{j}n', f'{c}n')} WHERE {inner_where}"  # noqa: S608 (fixed fragments; every value is a parameter)
            f" ORDER BY {j}n.published_at DESC, {j}n.id DESC LIMIT %s)"
        )
        params += [*inner_params, int(settings.SEARCH_RESULT_LIMIT)]
    return f"{_from(j, c)} WHERE {where}", params


def page_and_count(
    filters,
    listed_fields: tuple[str, ...],
    *,
    config: str,
    now: datetime,
    offset: int,
    limit: int,
) -> tuple[str, list]:
    """One statement: rows `offset`..`offset + limit` of the listing (the `listed_fields`, then
    the listing's count in every row); `config` is the text search configuration."""
    body, params = _matching(filters, config, now, "j", "c")
    count_body, count_params = _matching(filters, config, now, "t", "tc")
    ordering = filters.ordering
    order_params: list = []
    if ordering == "relevance" or (not ordering and filters.search):
        ordering = "relevance" if filters.search else "-published_at"
    order_by = _ORDERINGS.get(ordering or "-published_at", _ORDERINGS["-published_at"])
    if ordering == "relevance":
        order_by = order_by.format(
            rank="ts_rank(j.search_vector, websearch_to_tsquery(%s::regconfig, %s))"
        )
        order_params = [config, filters.search]
    sql = (
        f"SELECT {_select_list(listed_fields)}, (SELECT COUNT(*) FROM {count_body}) "  # noqa: S608
        f"FROM {body} ORDER BY {order_by} LIMIT %s OFFSET %s"
    )
    return sql, [*count_params, *params, *order_params, limit, offset]


def count(filters, *, config: str, now: datetime) -> tuple[str, list]:
    """How many jobs the listing has."""
    body, params = _matching(filters, config, now, "j", "c")
    return f"SELECT COUNT(*) FROM {body}", params  # noqa: S608
