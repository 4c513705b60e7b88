"""Expected failures, as small exceptions carrying data; the schema maps them to typed errors."""

from __future__ import annotations

import enum


class ErrorCode(enum.StrEnum):
    NOT_FOUND = "NOT_FOUND"
    PERMISSION_DENIED = "PERMISSION_DENIED"
    INVALID = "INVALID"
    CONFLICT = "CONFLICT"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    THROTTLED = "THROTTLED"


class DomainError(Exception):
    code: ErrorCode = ErrorCode.INVALID

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(DomainError, LookupError):
    """Also raised for objects that exist but that the user may not see, so ids don't leak."""

    code = ErrorCode.NOT_FOUND


class PermissionDenied(DomainError, PermissionError):
    code = ErrorCode.PERMISSION_DENIED


class Invalid(DomainError, ValueError):
    code = ErrorCode.INVALID


class Conflict(DomainError):
    code = ErrorCode.CONFLICT


class Unauthenticated(DomainError):
    code = ErrorCode.UNAUTHENTICATED


class Throttled(DomainError):
    """Too many failed logins; ``retry_after`` says when the next attempt will be heard."""

    code = ErrorCode.THROTTLED

    def __init__(self, retry_after: int, field: str | None = "username") -> None:
        super().__init__(
            f"too many failed logins; try again in {retry_after} seconds", field)
        self.retry_after = retry_after
