"""Relay-style connections: edges with cursors, page info and a lazily counted total.

Reading ``edges`` or ``nodes`` first prefetches what the query selects below the page's nodes
(see ``schema.base.prefetch``), so the page then completes without a future per field.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, TypeVar

import strawberry
from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField, Selection

from resolvers.listing import Page
from schema.base import prefetch, skipped
from schema.context import Info

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
    page: strawberry.Private[Page]
    count_total: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field
    async def edges(self, info: Info) -> list[Edge[T]]:
        await prefetch(info, self.page.rows, _node_selections(info.selected_fields))
        return [Edge(cursor=c, node=row)
                for c, row in zip(self.page.cursors, self.page.rows, strict=True)]

    # A resolver rather than a stored field only to keep the schema's field order.
    @strawberry.field
    def page_info(self) -> PageInfo:
        cursors = self.page.cursors
        return PageInfo(
            has_next_page=self.page.has_next_page,
            has_previous_page=self.page.has_previous_page,
            start_cursor=cursors[0] if cursors else None,
            end_cursor=cursors[-1] if cursors else None,
        )

    @strawberry.field(description="All matching objects, across pages (one extra COUNT query).")
    async def total_count(self) -> int:
        return await self.count_total()

    @strawberry.field(description="The nodes of this page, without edges.")
    async def nodes(self, info: Info) -> list[T]:
        await prefetch(info, self.page.rows, _selections(info.selected_fields))
        return list(self.page.rows)


def _selections(fields: Sequence[Selection]) -> list[Selection]:
    """What is selected below this field (all of its occurrences in the query)."""
    return [item for field in fields for item in field.selections]


def _node_selections(fields: Sequence[Selection]) -> list[Selection]:
    """What is selected below ``node`` in ``edges { node { ... } }``."""
    found: list[Selection] = []

    def collect(items: Sequence[Selection]) -> None:
        for item in items:
            if skipped(item.directives):
                continue
            if isinstance(item, SelectedField):
                if item.name == "node":
                    found.extend(item.selections)
            elif isinstance(item, InlineFragment | FragmentSpread):
                collect(item.selections)

    collect(_selections(fields))
    return found


def connection(page: Page, count_total: Callable[[], Awaitable[int]]) -> Connection[Any]:
    return Connection(page=page, count_total=count_total)
