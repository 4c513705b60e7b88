"""Expected failures, as small exceptions carrying data; the schema maps them to typed errors."""

from __future__ import annotations

import enum


class ErrorCode(enum.StrEnum):
    NOT_FOUND = "NOT_FOUND"
    PERMISSION_DENIED = "PERMISSION_DENIED"
    INVALID = "INVALID"
    CONFLICT = "CONFLICT"
    UNAUTHENTICATED = "UNAUTHENTICATED"


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
