"""What every domain module of the schema shares: who is asking, ids, and the `errors` of a
mutation's payload."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import graphene
from graphene.utils.str_converters import to_camel_case

from core.accounts.models import User
from core.exceptions import DomainError
from core.graphql.errors import forbidden, not_found, unauthenticated

MAX_ID = 2**63 - 1


def viewer(info) -> User:
    """The signed-in caller; `UNAUTHENTICATED` for an anonymous one."""
    user = info.context.user
    if not user.is_authenticated:
        raise unauthenticated()
    return user


def employer(info) -> User:
    user = viewer(info)
    if not user.is_employer:
        raise forbidden("Only employers can do this.")
    return user


def job_seeker(info) -> User:
    user = viewer(info)
    if not user.is_job_seeker:
        raise forbidden("Only job seekers can do this.")
    return user


def employer_or_admin(info) -> User:
    user = viewer(info)
    if not (user.is_employer or user.is_staff):
        raise forbidden("Only employers and administrators can do this.")
    return user


def object_id(value: Any, what: str) -> int:
    """The database id an `ID` argument names; one that cannot be an id names nothing."""
    text = str(value)
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_ID:
        raise not_found(what)
    return int(text)


def get_or_not_found(queryset, pk: Any, what: str):
    """The object of the caller's queryset with that id, or `NOT_FOUND` (never a hint that it
    exists outside it)."""
    found = queryset.filter(pk=object_id(pk, what)).first()
    if found is None:
        raise not_found(what)
    return found


class FieldError(graphene.ObjectType):
    """Why a mutation refused its input: the input field (null for the whole input) and the
    messages."""

    field = graphene.String()
    messages = graphene.List(graphene.NonNull(graphene.String), required=True)


def payload_errors_field() -> graphene.List:
    return graphene.List(graphene.NonNull(FieldError), required=True)


def _field_name(name: str) -> str | None:
    return None if name in ("", "non_field_errors") else to_camel_case(name)


def serializer_errors(errors: dict[str, Iterable[Any]]) -> list[FieldError]:
    """A REST serializer's field errors as payload errors, the field names in camelCase."""
    return [
        FieldError(field=_field_name(name), messages=[str(m) for m in messages])
        for name, messages in errors.items()
    ]


def domain_errors(error: DomainError) -> list[FieldError]:
    """A business rule's refusal (a second application, a closed job) as payload errors."""
    return [FieldError(field=_field_name(error.field or ""), messages=[error.detail])]
