"""A small GraphQL client over the real HTTP app, for tests."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient


class GraphQLError(AssertionError):
    pass


class GraphQLClient:
    def __init__(self, client: TestClient) -> None:
        self.client = client

    def execute(self, query: str, token: str | None = None, **variables: Any) -> dict[str, Any]:
        """The full response body; the HTTP status must be 200."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = self.client.post("/graphql", json={"query": query, "variables": variables},
                                    headers=headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def data(self, query: str, token: str | None = None, **variables: Any) -> dict[str, Any]:
        """The data of a response that must have no errors."""
        body = self.execute(query, token, **variables)
        if body.get("errors"):
            raise GraphQLError(body["errors"])
        data: dict[str, Any] = body["data"]
        return data

    def errors(self, query: str, token: str | None = None, **variables: Any) -> list[Any]:
        body = self.execute(query, token, **variables)
        assert body.get("errors"), f"expected errors, got {body}"
        errors: list[Any] = body["errors"]
        return errors
