"""Connections (`totalCount`, `edges { cursor node }`, `pageInfo`), paged by `first`/`after`
over a selector's queryset.

Cursors are opaque offsets (graphql-relay's `arrayconnection:N`): the lists are ordered by the
selectors, and a page costs one query (its rows, and the count when asked) whatever its size.
"""

from __future__ import annotations

from typing import Any

import graphene
from django.conf import settings
from django.db.models import Count, QuerySet, Window
from graphql import FieldNode
from graphql_relay import cursor_to_offset, offset_to_cursor

from core.graphql.errors import bad_input

DEFAULT_FIRST = 20


class CountedConnection(graphene.relay.Connection):
    """A relay connection with the number of items across all pages."""

    class Meta:
        abstract = True

    total_count = graphene.Int(required=True)

    @staticmethod
    def resolve_total_count(root: CountedConnection, info) -> int:
        if root.known_total is not None:
            return root.known_total
        return root.counted_items.count()


def connection_args() -> dict[str, Any]:
    return {
        "first": graphene.Int(description=f"At most {settings.GRAPHQL_MAX_FIRST}; default 20."),
        "after": graphene.String(description="The `endCursor` of the previous page."),
    }


def page_window(first: int | None, after: str | None) -> tuple[int, int]:
    """The offset and size a `first`/`after` pair asks for; out-of-range values are refused."""
    size = DEFAULT_FIRST if first is None else first
    if not 0 <= size <= settings.GRAPHQL_MAX_FIRST:
        raise bad_input(f"`first` must be between 0 and {settings.GRAPHQL_MAX_FIRST}.")
    offset = 0
    if after is not None:
        position = cursor_to_offset(after)
        if position is None or position < 0:
            raise bad_input("`after` is not a cursor of this list.")
        offset = position + 1
    return offset, size


def _selects_total(info) -> bool:
    """Whether the connection's selection asks for `totalCount` (through a fragment: assume so)."""
    for node in info.field_nodes:
        for selection in node.selection_set.selections if node.selection_set else ():
            if not isinstance(selection, FieldNode) or selection.name.value == "totalCount":
                return True
    return False


def paginate(
    connection_type: type[CountedConnection],
    items: QuerySet,
    *,
    first: int | None,
    after: str | None,
    info=None,
) -> CountedConnection:
    """One page of `items` as `connection_type`.

    When the client asks for `totalCount`, the page's query counts every item too (a window
    `COUNT(*) OVER ()`, computed before the limit), so a page costs one query, as REST's does;
    only a page past the end asks the count on its own.
    """
    offset, size = page_window(first, after)
    with_total = info is None or _selects_total(info)
    page = items.annotate(connection_total=Window(Count("*"))) if with_total and size else items
    rows = list(page[offset : offset + size + 1]) if size else []
    has_next = len(rows) > size
    rows = rows[:size]
    edges = [
        connection_type.Edge(node=row, cursor=offset_to_cursor(offset + index))
        for index, row in enumerate(rows)
    ]
    page_info = graphene.relay.PageInfo(
        has_next_page=has_next,
        has_previous_page=offset > 0,
        start_cursor=edges[0].cursor if edges else None,
        end_cursor=edges[-1].cursor if edges else None,
    )
    connection = connection_type(edges=edges, page_info=page_info)
    connection.counted_items = items
    if rows and with_total:
        connection.known_total = rows[0].connection_total
    elif with_total and size and offset == 0:
        connection.known_total = 0  # the first page is empty: so is the list
    else:
        connection.known_total = None  # counted only if asked
    return connection
