"""The one resolver behind every list field: permission-scoped, filtered, paginated."""

# No ``from __future__ import annotations`` here: list_field's resolver annotations must be
# evaluated when it is called, with the node type of that field.

from collections.abc import Callable
from typing import Any

import strawberry
from strawberry.permission import BasePermission

from resolvers.filters import ListFilter
from resolvers.listing import PageRequest, count, list_page, page_size
from schema.connections import Connection, connection
from schema.context import Info
from schema.inputs import ObjectFilter, Sort, object_filter
from schema.permissions import IsAuthenticated

AUTH: list[type[BasePermission]] = [IsAuthenticated]


async def list_connection(info: Info, model: Any, spec: ListFilter, first: int | None,
                          after: str | None, last: int | None, before: str | None,
                          sort: Sort | None) -> Connection[Any]:
    ctx = info.context
    actor = ctx.actor
    sort = sort or Sort()
    request = PageRequest(first=first, after=after, last=last, before=before,
                          sort=sort.field, descending=sort.descending)
    size = page_size(request, ctx.settings.default_page_size, ctx.settings.max_page_size)
    page = await ctx.db.run(list_page, model, actor, spec, request, size)

    async def total() -> int:
        return await ctx.db.run(count, model, actor, spec)

    return connection(page, total)


def list_field(model: Any, node: type, description: str | None = None,
               filter_type: type = ObjectFilter,
               to_spec: Callable[[Any], ListFilter] = object_filter) -> Any:
    """A top-level connection field over ``model`` with filters, sorting and pagination."""

    async def resolve(info: Info, filter: filter_type | None = None,  # type: ignore[valid-type]
                      first: int | None = None, after: str | None = None,
                      last: int | None = None, before: str | None = None,
                      sort: Sort | None = None) -> Connection[node]:  # type: ignore[valid-type]
        return await list_connection(info, model, to_spec(filter), first, after, last, before,
                                     sort)

    return strawberry.field(resolver=resolve, permission_classes=AUTH, description=description)
