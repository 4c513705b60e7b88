"""The /graphql endpoint: strawberry's ASGI view with our context and an offline GraphiQL."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from omegraph.settings import Settings
from resolvers.authn import Authenticator
from schema.context import Context
from web.graphiql import graphiql_html


class GraphQLApp(GraphQL[Context, None]):
    def __init__(self, schema: Any, settings: Settings, authenticator: Authenticator) -> None:
        super().__init__(schema, graphql_ide="graphiql", multipart_uploads_enabled=False)
        self.settings = settings
        self.authenticator = authenticator

    async def get_context(self, request: Request | WebSocket,
                          response: Response | WebSocket) -> Context:
        state = request.scope["state"]
        auth = state["auth"]
        return Context(
            request=request,  # type: ignore[arg-type]
            response=response if isinstance(response, Response) else None,
            db=state["db"], settings=self.settings, auth=self.authenticator,
            actor_or_none=auth.actor, token=auth.token,
        )

    def encode_json(self, data: object) -> bytes:
        # A page of a thousand images is over a megabyte of JSON: orjson writes it in a tenth
        # of the time of json.dumps. Its output is the same JSON, in UTF-8 rather than \u
        # escapes. It refuses integers beyond 64 bits (a JSON scalar may hold them), and
        # those bodies go to the standard encoder.
        try:
            return orjson.dumps(data)
        except TypeError:
            encoded = super().encode_json(data)
            return encoded.encode() if isinstance(encoded, str) else encoded

    async def render_graphql_ide(self, request: Request) -> HTMLResponse:
        return HTMLResponse(graphiql_html())
