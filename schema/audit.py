"""Reading the audit trail: filtered, newest first, paged by an opaque cursor."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy.orm import Session

from resolvers import audit
from resolvers.actor import Actor
from resolvers.errors import Invalid
from resolvers.ids import parse_typed_id
from schema.context import Info
from schema.security import AuditEvent, AuditEventPage, AuditFilterInput
from store.security import AuditEvent as AuditRow

MAX_PAGE = 1000


def _spec(data: AuditFilterInput | None) -> audit.AuditFilter:
    if data is None:
        return audit.AuditFilter()
    for name in ("after", "before_time"):
        value = getattr(data, name)
        if value is not None and value.tzinfo is None:
            raise Invalid("datetimes need a timezone", f"filter.{name}")
    return audit.AuditFilter(
        action=data.action, target=data.target, outcome=data.outcome,
        actor_id=parse_typed_id(data.actor, "Experimenter", "filter.actor")
        if data.actor else None,
        after=data.after, before=data.before_time,
    )


def _page(db: Session, actor: Actor, spec: audit.AuditFilter, first: int,
          before: int | None) -> list[Any]:
    query = audit.query(spec)
    if before is not None:
        query = query.where(AuditRow.id < before)
    return list(db.scalars(query.order_by(AuditRow.id.desc()).limit(first + 1)))


async def audit_page(info: Info, data: AuditFilterInput | None, first: int,
                     before: str | None) -> AuditEventPage:
    if not 1 <= first <= MAX_PAGE:
        raise Invalid(f"first must be between 1 and {MAX_PAGE}", "first")
    before_id = parse_typed_id(before, "AuditEvent", "before") if before else None
    rows = await info.context.db.run(_page, info.context.actor, _spec(data), first, before_id)
    more = len(rows) > first
    rows = rows[:first]
    return AuditEventPage(
        events=cast(list[AuditEvent], rows),
        next_cursor=f"AuditEvent:{rows[-1].id}" if more else None,
    )
