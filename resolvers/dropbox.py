"""DropBox status: the files the watcher has seen. Users see their own; administrators (and
restricted administrators, who view everything) see every user's."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, select, true
from sqlalchemy.orm import Session

from resolvers.actor import Actor
from resolvers.listing import Page, PageRequest, SortField, decode_cursor, encode_cursor
from store.dropbox import DropboxFile


@dataclass(frozen=True)
class DropboxFilter:
    owner_id: int | None = None
    states: tuple[str, ...] | None = None
    path_contains: str | None = None
    include_history: bool = False  # older versions of files that changed after import


def read_filter(actor: Actor) -> ColumnElement[bool]:
    return true() if actor.is_any_admin else DropboxFile.owner_id == actor.user_id


def _query(actor: Actor, spec: DropboxFilter) -> Select[Any]:
    clauses = [read_filter(actor)]
    if not spec.include_history:
        clauses.append(DropboxFile.current.is_(True))
    if spec.owner_id is not None:
        clauses.append(DropboxFile.owner_id == spec.owner_id)
    if spec.states is not None:
        clauses.append(DropboxFile.state.in_(spec.states))
    if spec.path_contains:
        clauses.append(DropboxFile.path.contains(spec.path_contains, autoescape=True))
    return select(DropboxFile).where(and_(*clauses))


def dropbox_page(db: Session, actor: Actor, spec: DropboxFilter, request: PageRequest,
                 size: int) -> Page:
    """Newest first, keyset-paginated by id (``first``/``after``)."""
    query = _query(actor, spec)
    if request.after is not None:
        _, pk = decode_cursor(request.after, SortField.ID, "after")
        query = query.where(DropboxFile.id < pk)
    rows = list(db.scalars(query.order_by(DropboxFile.id.desc()).limit(size + 1)))
    more = len(rows) > size
    rows = rows[:size]
    return Page(rows=rows, cursors=[encode_cursor(row.id, row.id) for row in rows],
                has_next_page=more, has_previous_page=request.after is not None)


def dropbox_count(db: Session, actor: Actor, spec: DropboxFilter) -> int:
    subquery = _query(actor, spec).with_only_columns(DropboxFile.id).subquery()
    return int(db.scalar(select(func.count()).select_from(subquery)) or 0)

