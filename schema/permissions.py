"""Who may call a field at all; declared on every mutation (object checks happen in resolvers/)."""

from __future__ import annotations

from typing import Any

from strawberry.permission import BasePermission

from resolvers.actor import Actor
from resolvers.errors import ErrorCode
from schema.context import Info


class Public(BasePermission):
    message = "public"

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return True


Refusal = tuple[str, ErrorCode]
LOG_IN = ("log in first: send a session token as 'Authorization: Bearer <token>'",
          ErrorCode.UNAUTHENTICATED)
READ_ONLY = ("this API token is read-only", ErrorCode.PERMISSION_DENIED)
NOT_ADMIN = ("only administrators may do this", ErrorCode.PERMISSION_DENIED)


class _Gate(BasePermission):
    """A permission whose refusal (message and code) depends on who is asking."""

    def refusal(self, actor: Actor | None) -> Refusal | None:
        raise NotImplementedError

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        refused = self.refusal(info.context.actor_or_none)
        if refused is None:
            return True
        # strawberry may reuse an instance: set this call's reason every time it refuses.
        self.message, code = refused
        self.error_extensions = {"code": code.value}
        return False


class IsAuthenticated(_Gate):
    message = LOG_IN[0]

    def refusal(self, actor: Actor | None) -> Refusal | None:
        return LOG_IN if actor is None else None


class CanWrite(_Gate):
    """Logged in with a session or a read-write token: every mutation but login needs it."""

    message = READ_ONLY[0]

    def refusal(self, actor: Actor | None) -> Refusal | None:
        if actor is None:
            return LOG_IN
        return READ_ONLY if actor.read_only else None


class IsAdmin(_Gate):
    """Full or restricted administrators; resolvers check the specific privilege."""

    message = NOT_ADMIN[0]

    def refusal(self, actor: Actor | None) -> Refusal | None:
        if actor is None:
            return LOG_IN
        if actor.read_only:
            return READ_ONLY
        return None if actor.is_any_admin else NOT_ADMIN
