"""Authentication middleware: sets the request's Actor from a bearer token or session cookie.

Browsers send the cookie automatically, so a cookie alone never authorises a state-changing
request: those must also carry the ``X-OMEGraph-CSRF`` header, which a cross-site form cannot
set (and CORS is closed, so cross-site scripts cannot either).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace

from sqlalchemy.orm import Session, sessionmaker
from starlette.datastructures import Headers
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from resolvers.actor import Actor
from resolvers.errors import Unauthenticated
from resolvers.sessions import SessionPolicy, authenticate
from resolvers.tokens import TOKEN_PREFIX, authenticate_token
from resolvers.unit import RequestDb

SESSION_COOKIE = "omegraph_session"
CSRF_HEADER = "x-omegraph-csrf"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_TOKEN_LENGTH = 256


@dataclass
class RequestAuth:
    actor: Actor | None
    token: str | None
    via_cookie: bool


class AuthMiddleware:
    def __init__(self, app: ASGIApp, factory: sessionmaker[Session], policy: SessionPolicy) -> None:
        self.app = app
        self.factory = factory
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        db = RequestDb(self.factory)
        try:
            auth = await self._authenticate(scope, db)
            if isinstance(auth, str):
                await _json_error(scope, send, 401 if "token" in auth else 403, auth)
                return
            state = scope.setdefault("state", {})
            state["db"], state["auth"] = db, auth
            await self.app(scope, receive, send)
        finally:
            await db.close()

    async def _authenticate(self, scope: Scope, db: RequestDb) -> RequestAuth | str:
        """A RequestAuth, or the text of an error to answer with."""
        connection = HTTPConnection(scope)
        headers = Headers(scope=scope)
        address = connection.client.host if connection.client else None
        bearer = _bearer(headers.get("authorization"))
        if bearer is not None:
            if len(bearer) > MAX_TOKEN_LENGTH:
                return "invalid session token"
            try:
                if bearer.startswith(TOKEN_PREFIX):  # a personal API token
                    actor = await db.run(authenticate_token, bearer)
                else:
                    actor = await db.run(authenticate, bearer, self.policy)
            except Unauthenticated as exc:
                return f"{exc.message} (token rejected)"
            return RequestAuth(replace(actor, client_address=address), bearer, via_cookie=False)
        cookie = connection.cookies.get(SESSION_COOKIE)
        if not cookie or len(cookie) > MAX_TOKEN_LENGTH:
            return RequestAuth(None, None, via_cookie=False)
        method = scope.get("method", "GET")
        if scope["type"] == "http" and method not in SAFE_METHODS and CSRF_HEADER not in headers:
            return f"requests authenticated by cookie must send the {CSRF_HEADER} header"
        try:
            actor = await db.run(authenticate, cookie, self.policy)
        except Unauthenticated:
            # A stale cookie must not lock a browser out of the login mutation.
            return RequestAuth(None, None, via_cookie=True)
        return RequestAuth(replace(actor, client_address=address), cookie, via_cookie=True)


def _bearer(value: str | None) -> str | None:
    if not value:
        return None
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def _json_error(scope: Scope, send: Send, status: int, message: str) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 4401 if status == 401 else 4403})
        return
    code = "UNAUTHENTICATED" if status == 401 else "FORBIDDEN"
    body = json.dumps({"errors": [{"message": message, "extensions": {"code": code}}]}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if status == 401:
        headers.append((b"www-authenticate", b'Bearer realm="omegraph"'))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
