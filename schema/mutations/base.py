"""Running a service for a mutation: expected failures become typed errors in the result."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec, TypeVar

import strawberry
from sqlalchemy.orm import Session
from strawberry.permission import BasePermission

from resolvers.actor import Actor
from resolvers.errors import DomainError, Invalid
from schema.context import Info
from schema.errors import to_error
from schema.permissions import CanWrite, IsAdmin, Public

P = ParamSpec("P")
T = TypeVar("T")

USER: list[type[BasePermission]] = [CanWrite]
ADMIN: list[type[BasePermission]] = [IsAdmin]
PUBLIC: list[type[BasePermission]] = [Public]


async def perform(info: Info, wrap: Callable[[Any], Any],
                  service: Callable[Concatenate[Session, Actor, P], T],
                  *args: P.args, **kwargs: P.kwargs) -> Any:
    """Run ``service`` as the viewer; return ``wrap(result)`` or the matching Error type."""
    try:
        result = await info.context.db.run(service, info.context.actor, *args, **kwargs)
    except DomainError as exc:
        return to_error(exc)
    return wrap(result)


def check_list(info: Info, values: list[Any], field: str) -> None:
    limit = info.context.settings.max_list_input
    if len(values) > limit:
        raise Invalid(f"at most {limit} items", field)


async def guarded(coro: Any) -> Any:
    """Await a coroutine that may raise a DomainError before reaching ``perform``."""
    try:
        return await coro
    except DomainError as exc:
        return to_error(exc)


@strawberry.type(description="The operation succeeded; nothing else to return.")
class OkPayload:
    ok: bool = True

