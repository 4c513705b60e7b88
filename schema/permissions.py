"""Who may call a field at all; declared on every mutation (object checks happen in resolvers/)."""

from __future__ import annotations

from typing import Any

from strawberry.permission import BasePermission

from resolvers.errors import ErrorCode
from schema.context import Info


class Public(BasePermission):
    message = "public"

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return True


class IsAuthenticated(BasePermission):
    message = "log in first: send a session token as 'Authorization: Bearer <token>'"
    error_extensions = {"code": ErrorCode.UNAUTHENTICATED.value}

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return info.context.actor_or_none is not None


class CanWrite(BasePermission):
    """Logged in with a session or a read-write token: every mutation but login needs it."""

    message = "this API token is read-only"
    error_extensions = {"code": ErrorCode.PERMISSION_DENIED.value}

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        # Instances may be reused across requests: set the message on every path.
        actor = info.context.actor_or_none
        if actor is None:
            self.message = IsAuthenticated.message
            self.error_extensions = IsAuthenticated.error_extensions
            return False
        self.message = CanWrite.message
        self.error_extensions = CanWrite.error_extensions
        return not actor.read_only


class IsAdmin(BasePermission):
    """Full or restricted administrators; resolvers check the specific privilege."""

    message = "only administrators may do this"
    error_extensions = {"code": ErrorCode.PERMISSION_DENIED.value}

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        # Instances may be reused across requests: set the message on every path.
        actor = info.context.actor_or_none
        if actor is None:
            self.message = IsAuthenticated.message
            self.error_extensions = IsAuthenticated.error_extensions
            return False
        self.error_extensions = IsAdmin.error_extensions
        self.message = CanWrite.message if actor.read_only else IsAdmin.message
        return not actor.read_only and actor.is_any_admin
