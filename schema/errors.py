"""Typed errors returned in mutation result unions, and the mapping from domain errors."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry

from resolvers.errors import (
    Conflict,
    DomainError,
    Invalid,
    NotFound,
    PermissionDenied,
    Throttled,
    Unauthenticated,
)
from resolvers.errors import ErrorCode as DomainErrorCode

ErrorCode = strawberry.enum(DomainErrorCode, name="ErrorCode")
ErrorCodeType = DomainErrorCode


@strawberry.interface(description="An expected failure: what went wrong and which input caused it.")
class Error:
    code: ErrorCodeType = strawberry.field(graphql_type=ErrorCode)
    message: str
    field: str | None = strawberry.field(description="Input field at fault, dotted path.")


@strawberry.type
class ValidationError(Error):
    pass


@strawberry.type
class NotFoundError(Error):
    pass


@strawberry.type
class PermissionDeniedError(Error):
    pass


@strawberry.type
class ConflictError(Error):
    pass


@strawberry.type
class AuthenticationError(Error):
    pass


@strawberry.type
class ThrottledError(Error):
    retry_after: int = strawberry.field(description="Seconds until the next attempt is heard.")


_ERROR_TYPES: dict[type[DomainError], type[Error]] = {
    Invalid: ValidationError,
    NotFound: NotFoundError,
    PermissionDenied: PermissionDeniedError,
    Conflict: ConflictError,
    Unauthenticated: AuthenticationError,
    Throttled: ThrottledError,
}

ERROR_TYPES = tuple(_ERROR_TYPES.values())


def to_error(exc: DomainError) -> Error:
    if isinstance(exc, Throttled):
        return ThrottledError(code=exc.code, message=exc.message, field=exc.field,
                              retry_after=exc.retry_after)
    for domain_type, error_type in _ERROR_TYPES.items():
        if isinstance(exc, domain_type):
            return error_type(code=exc.code, message=exc.message, field=exc.field)
    return ValidationError(code=exc.code, message=exc.message, field=exc.field)


def result_union(name: str, payload: type[Any]) -> Any:
    """``Payload | <every error type>`` as a named GraphQL union."""
    union: Any = payload
    for member in ERROR_TYPES:
        union = union | member
    return Annotated[union, strawberry.union(name)]
