"""Permission-scoped, filtered, keyset-paginated listing of any owned model."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import enum
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, overload

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from resolvers.actor import Actor
from resolvers.errors import Invalid
from resolvers.filters import ListFilter, apply_filter
from resolvers.ids import MAX_ID
from resolvers.loaders import snapshot_columns, snapshots
from resolvers.permissions import read_filter
from resolvers.validate import db_safe
from store.models import OWNED_MODELS

# Models whose pages are RowSnapshots (the GraphQL types of these take them from the loaders).
_SNAPSHOT_MODELS = frozenset(OWNED_MODELS.values())


class SortField(enum.StrEnum):
    ID = "id"
    NAME = "name"
    CREATED = "created"
    UPDATED = "updated"


@dataclass(frozen=True)
class PageRequest:
    first: int | None = None
    after: str | None = None
    last: int | None = None
    before: str | None = None
    sort: SortField = SortField.ID
    descending: bool = False


@dataclass(frozen=True)
class Page:
    rows: Sequence[Any]
    cursors: Sequence[str]
    has_next_page: bool
    has_previous_page: bool


class LazyCursors(Sequence[str]):
    """The cursors of a page of read-only rows, each encoded when first read.

    A page of nodes without edges or page info needs none of them.
    """

    def __init__(self, rows: Sequence[Any], sort_attr: str) -> None:
        self._rows = rows
        self._sort_attr = sort_attr
        self._encoded: list[str] | None = None

    def _all(self) -> list[str]:
        if self._encoded is None:
            attr = self._sort_attr
            self._encoded = [encode_cursor(getattr(row, attr), row.id) for row in self._rows]
        return self._encoded

    def __len__(self) -> int:
        return len(self._rows)

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[str]: ...

    def __getitem__(self, index: int | slice) -> str | Sequence[str]:
        if isinstance(index, slice) or self._encoded is not None:
            return self._all()[index]
        row = self._rows[index]
        return encode_cursor(getattr(row, self._sort_attr), row.id)

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __eq__(self, other: object) -> bool:
        return list(self) == other if isinstance(other, list) else NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(self._all())


def page_size(request: PageRequest, default: int, maximum: int) -> int:
    for name in ("first", "last"):
        value = getattr(request, name)
        if value is not None and not 0 <= value <= maximum:
            raise Invalid(f"{name} must be between 0 and {maximum}", name)
    if request.first is not None and request.last is not None:
        raise Invalid("give either first or last, not both", "last")
    size = request.first if request.first is not None else request.last
    return default if size is None else size


def _sort_column(model: Any, sort: SortField) -> Any:
    if sort is SortField.NAME:
        column = getattr(model, "name", None)
        if column is None or model.__table__.c["name"].nullable:
            raise Invalid(f"{model.kind} objects cannot be sorted by name", "sort")
        return column
    return getattr(model, sort.value)


def encode_cursor(value: Any, pk: int) -> str:
    if isinstance(value, dt.datetime):
        value = value.isoformat()
    raw = json.dumps([value, pk], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, sort: SortField, field: str) -> tuple[Any, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value, pk = json.loads(base64.urlsafe_b64decode(padded.encode()))
        # bool is an int too; ids beyond the column range make the database fail the query.
        if isinstance(pk, bool) or not isinstance(pk, int) or not 0 < pk <= MAX_ID:
            raise TypeError("cursor id")
        if sort in (SortField.CREATED, SortField.UPDATED):
            value = dt.datetime.fromisoformat(value)
            if value.tzinfo is None:
                raise ValueError("cursor time without timezone")
        elif sort is SortField.ID and value != pk:
            raise ValueError("cursor value")
        elif sort is SortField.NAME and (not isinstance(value, str) or not db_safe(value)):
            raise TypeError("cursor value")
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
        raise Invalid("malformed cursor", field) from exc
    return value, pk


def _keyset(column: Any, model: Any, value: Any, pk: int, forward: bool) -> ColumnElement[bool]:
    """Rows strictly after (forward) or before the cursor position; sort columns are NOT NULL."""
    if forward:
        return or_(column > value, and_(column == value, model.id > pk))
    return or_(column < value, and_(column == value, model.id < pk))


def base_query(model: Any, actor: Actor, spec: ListFilter) -> Any:
    return apply_filter(select(model).where(read_filter(model, actor)), model, spec)


def list_page(db: Session, model: Any, actor: Actor, spec: ListFilter, request: PageRequest,
              size: int) -> Page:
    column = _sort_column(model, request.sort)
    backwards = request.last is not None
    # Walk the index in the requested order, or against it when paging backwards.
    forward = request.descending == backwards
    query = base_query(model, actor, spec)
    cursor_arg = "before" if backwards else "after"
    cursor = request.before if backwards else request.after
    if cursor is not None:
        value, pk = decode_cursor(cursor, request.sort, cursor_arg)
        query = query.where(_keyset(column, model, value, pk, forward))
    ordering: tuple[Any, ...] = (
        (column.asc(), model.id.asc()) if forward else (column.desc(), model.id.desc()))
    if request.sort is SortField.ID:
        ordering = ordering[1:]
    query = query.order_by(*ordering).limit(size + 1)
    if model in _SNAPSHOT_MODELS:
        # Read-only snapshots, as the loaders return for these models: no identity map, no
        # instance state, and the rows processed as Core tuples.
        rows = snapshots(db, model, query.with_only_columns(*snapshot_columns(model)))
    else:
        rows = list(db.scalars(query))
    more = len(rows) > size
    rows = rows[:size]
    if backwards:
        rows.reverse()
    sort_attr = column.key
    cursors: Sequence[str]
    if model in _SNAPSHOT_MODELS:
        cursors = LazyCursors(rows, sort_attr)  # snapshots: their values cannot change
    else:
        cursors = [encode_cursor(getattr(row, sort_attr), row.id) for row in rows]
    return Page(
        rows=rows, cursors=cursors,
        has_next_page=more if not backwards else request.before is not None,
        has_previous_page=more if backwards else request.after is not None,
    )


def count(db: Session, model: Any, actor: Actor, spec: ListFilter) -> int:
    subquery = base_query(model, actor, spec).with_only_columns(model.id).subquery()
    return int(db.scalar(select(func.count()).select_from(subquery)) or 0)
