"""The one resolver behind every list field: permission-scoped, filtered, paginated."""

from __future__ import annotations

from typing import Any

from resolvers.filters import ListFilter
from resolvers.listing import PageRequest, count, list_page, page_size
from schema.connections import Connection, connection
from schema.context import Info
from schema.inputs import Sort


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
