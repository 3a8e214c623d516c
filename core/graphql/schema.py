"""The GraphQL schema: each domain module's queries and mutations, in one graphene schema.

`schema.graphql` at the project root is this schema's SDL (`manage.py graphql_schema`); a test
fails when the two disagree.
"""

from __future__ import annotations

import graphene

from core.graphql import accounts, applications, jobs


class Query(accounts.Query, applications.Query, jobs.Query, graphene.ObjectType):
    """What a client may read."""


class Mutation(applications.Mutation, jobs.Mutation, graphene.ObjectType):
    """What a client may change."""


schema = graphene.Schema(query=Query, mutation=Mutation)
