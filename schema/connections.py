"""Relay-style connections: edges with cursors, page info and a lazily counted total."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

import strawberry

from resolvers.listing import Page

T = TypeVar("T")


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo
    count_total: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="All matching objects, across pages (one extra COUNT query).")
    async def total_count(self) -> int:
        return await self.count_total()

    @strawberry.field(description="The nodes of this page, without edges.")
    def nodes(self) -> list[T]:
        return [edge.node for edge in self.edges]


def connection(page: Page, count_total: Callable[[], Awaitable[int]]) -> Connection[Any]:
    edges = [Edge(cursor=c, node=row) for c, row in zip(page.cursors, page.rows, strict=True)]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=page.has_next_page, has_previous_page=page.has_previous_page,
            start_cursor=page.cursors[0] if page.cursors else None,
            end_cursor=page.cursors[-1] if page.cursors else None,
        ),
        count_total=count_total,
    )
