"""JSON error responses of the binary endpoints, in GraphQL's error shape."""

from __future__ import annotations

from starlette.responses import JSONResponse

from resolvers.errors import DomainError, ErrorCode

STATUS_OF_CODE = {
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.PERMISSION_DENIED: 403,
    ErrorCode.INVALID: 400,
    ErrorCode.CONFLICT: 409,
    ErrorCode.UNAUTHENTICATED: 401,
    ErrorCode.THROTTLED: 429,
}


def error_response(status: int, code: str, message: str,
                   headers: dict[str, str] | None = None, **extra: object) -> JSONResponse:
    return JSONResponse({"errors": [{"message": message,
                                     "extensions": {"code": code, **extra}}]},
                        status_code=status, headers=headers)


def domain_error_response(exc: DomainError) -> JSONResponse:
    return error_response(STATUS_OF_CODE.get(exc.code, 400), exc.code.value, exc.message)


def unauthenticated() -> JSONResponse:
    return error_response(401, "UNAUTHENTICATED", "log in first",
                          headers={"WWW-Authenticate": 'Bearer realm="omegraph"'})
