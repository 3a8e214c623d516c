"""Helpers of the GraphQL tests: every request goes over HTTP to `/api/graphql/`."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from tests.conftest import client_for

URL = "/api/graphql/"


class GraphQLAnswer:
    def __init__(self, response) -> None:
        self.response = response
        self.status = response.status_code
        self.body = response.json()
        self.data = self.body.get("data")
        self.errors = self.body.get("errors", [])

    @property
    def codes(self) -> list[str]:
        return [error["extensions"]["code"] for error in self.errors]


def gql(
    client: APIClient, query: str, variables: dict[str, Any] | None = None, **extra: Any
) -> GraphQLAnswer:
    """POST one operation, as a GraphQL client does."""
    body: dict[str, Any] = {"query": query}
    if variables is not None:
        body["variables"] = variables
    return GraphQLAnswer(client.post(URL, body, format="json", **extra))


@pytest.fixture
def as_user():
    """`as_user(user)`: a client with that user's access token (anonymous for None)."""
    return client_for
