"""The /graphql endpoint: strawberry's ASGI view with our context, an offline GraphiQL, and
request parsing that answers every malformed request with a JSON error, never a 500."""

from __future__ import annotations

import re
from typing import Any

import orjson
from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from omegraph.settings import Settings
from resolvers.authn import Authenticator
from schema.context import Context
from web.graphiql import graphiql_html

# Number literals this long are never meaningful, and converting them costs quadratic time.
_HUGE_NUMBER = re.compile(r"\d{100}")
_CODES = {400: "BAD_REQUEST", 404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED",
          413: "REQUEST_TOO_LARGE", 415: "UNSUPPORTED_MEDIA_TYPE"}


def http_error(status: int, message: str) -> JSONResponse:
    code = _CODES.get(status, "BAD_REQUEST")
    return JSONResponse({"errors": [{"message": message, "extensions": {"code": code}}]},
                        status_code=status)


class GraphQLApp(GraphQL[Context, None]):
    def __init__(self, schema: Any, settings: Settings, authenticator: Authenticator) -> None:
        super().__init__(schema, graphql_ide="graphiql", multipart_uploads_enabled=False)
        self.settings = settings
        self.authenticator = authenticator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        try:
            response = await self.run(Request(scope=scope, receive=receive))
        except HTTPException as exc:
            # strawberry answers these in plain text; clients expect GraphQL's JSON shape.
            response = http_error(exc.status_code, exc.reason)
        await response(scope, receive, send)

    def parse_json(self, data: str | bytes) -> Any:
        """Only a JSON object (or a batch array, refused later) is a GraphQL request.

        orjson refuses invalid UTF-8, lone surrogates, nesting beyond 1024 levels and
        integers beyond 64 bits, each of which the standard parser would raise on as
        something other than a decode error.
        """
        if isinstance(data, bytes) and data.startswith(b"\xef\xbb\xbf"):
            data = data[3:]  # RFC 8259: a parser may ignore a UTF-8 byte order mark
        try:
            value = orjson.loads(data)
        except (orjson.JSONDecodeError, ValueError, RecursionError) as exc:
            raise HTTPException(400, "the request body is not valid JSON") from exc
        if not isinstance(value, dict | list):
            raise HTTPException(400, "a GraphQL request is a JSON object")
        return value

    async def parse_http_body(self, request: Any) -> Any:
        data = await super().parse_http_body(request)
        for item in data if isinstance(data, list) else [data]:
            for text in (item.query, item.operation_name):
                if isinstance(text, str) and _HUGE_NUMBER.search(text):
                    raise HTTPException(400, "number literals are limited to 99 digits")
                if isinstance(text, str) and not _encodable(text):
                    raise HTTPException(400, "the request holds text that is not valid Unicode")
        return data

    async def get_context(self, request: Request | WebSocket,
                          response: Response | WebSocket) -> Context:
        state = request.scope["state"]
        auth = state["auth"]
        app_state = request.scope["app"].state
        return Context(
            request=request,  # type: ignore[arg-type]
            response=response if isinstance(response, Response) else None,
            db=state["db"], settings=self.settings, auth=self.authenticator,
            actor_or_none=auth.actor, token=auth.token,
            jobs=app_state.jobs, signer=app_state.signer,
        )

    def encode_bytes(self, data: object) -> bytes:
        # A page of a thousand images is over a megabyte of JSON: orjson writes it in a tenth
        # of the time of json.dumps. Its output is the same JSON, in UTF-8 rather than \\u
        # escapes. It refuses integers beyond 64 bits and lone surrogates (which an error
        # message may quote back); those bodies go to the standard encoder, ASCII-escaped.
        try:
            return orjson.dumps(data)
        except (TypeError, orjson.JSONEncodeError):
            encoded = super().encode_json(data)
            return encoded.encode() if isinstance(encoded, str) else encoded

    def encode_json(self, data: object) -> str:
        # Text, not bytes: strawberry sends this over websockets too, where GraphQL clients
        # expect text frames. HTTP responses take the bytes directly (create_response).
        return self.encode_bytes(data).decode()

    def create_response(self, response_data: Any, sub_response: Response) -> Response:
        response = Response(self.encode_bytes(response_data), media_type="application/json")
        response.headers.raw.extend(sub_response.headers.raw)
        if sub_response.background:
            response.background = sub_response.background
        if sub_response.status_code:
            response.status_code = sub_response.status_code
        return response

    async def render_graphql_ide(self, request: Request) -> HTMLResponse:
        return HTMLResponse(graphiql_html())


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
