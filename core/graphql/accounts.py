"""GraphQL for accounts: the signed-in user (`me`)."""

from __future__ import annotations

import graphene
from graphene_django import DjangoObjectType

from core.accounts.models import User
from core.graphql.common import viewer


class UserType(DjangoObjectType):
    """A user as the API shows them: never the password."""

    is_employer = graphene.Boolean(required=True)
    is_job_seeker = graphene.Boolean(required=True)

    class Meta:
        model = User
        name = "User"
        fields = (
            "id",
            "username",
            "email",
            "first_name",
            "last_name",
            "is_staff",
            "date_joined",
        )


class ApplicantType(DjangoObjectType):
    """The person who applied, as the job's employer sees them."""

    class Meta:
        model = User
        name = "Applicant"
        fields = ("id", "username", "email", "first_name", "last_name")
        skip_registry = True


class Query(graphene.ObjectType):
    me = graphene.Field(UserType, description="The signed-in user.")

    @staticmethod
    def resolve_me(root, info) -> User:
        return viewer(info)
