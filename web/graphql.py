"""The /graphql endpoint: strawberry's ASGI view with our context and an offline GraphiQL."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from omegraph.settings import Settings
from resolvers.sessions import SessionPolicy
from schema.context import Context
from web.graphiql import graphiql_html


class GraphQLApp(GraphQL[Context, None]):
    def __init__(self, schema: Any, settings: Settings, policy: SessionPolicy) -> None:
        super().__init__(schema, graphql_ide="graphiql", multipart_uploads_enabled=False)
        self.settings = settings
        self.policy = policy

    async def get_context(self, request: Request | WebSocket,
                          response: Response | WebSocket) -> Context:
        state = request.scope["state"]
        auth = state["auth"]
        return Context(
            request=request,  # type: ignore[arg-type]
            response=response if isinstance(response, Response) else None,
            db=state["db"], settings=self.settings, policy=self.policy,
            actor_or_none=auth.actor, token=auth.token,
        )

    async def render_graphql_ide(self, request: Request) -> HTMLResponse:
        return HTMLResponse(graphiql_html())
