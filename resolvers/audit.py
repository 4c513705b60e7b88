"""The audit trail: who did what, when and from where.

Callers pass names and ids, never secrets; ``details`` is checked for secret-looking keys so a
careless caller cannot write a password or token into the trail.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from resolvers.actor import Actor
from store.security import AuditEvent

_SECRET_WORDS = ("password", "token", "secret", "session")


def record(db: Session, action: str, actor: Actor | None, *, target: str | None = None,
           outcome: str = "success", details: Mapping[str, Any] | None = None,
           actor_name: str | None = None, client_address: str | None = None) -> None:
    """Add an event to the session; it is committed with the change it describes."""
    clean = dict(details or {})
    leaked = [key for key in clean if any(word in key.lower() for word in _SECRET_WORDS)]
    if leaked:
        raise ValueError(f"audit details must not carry secrets: {leaked}")
    db.add(AuditEvent(
        action=action, outcome=outcome, target=target, details=clean,
        actor_id=actor.user_id if actor else None,
        sudo_by_id=actor.sudo_by_id if actor else None,
        actor_name=actor.username if actor else actor_name,
        client_address=(actor.client_address if actor else None) or client_address,
    ))


@dataclass(frozen=True)
class AuditFilter:
    action: str | None = None
    actor_id: int | None = None
    target: str | None = None
    outcome: str | None = None
    after: dt.datetime | None = None
    before: dt.datetime | None = None


def query(spec: AuditFilter) -> Select[Any]:
    clauses = []
    if spec.action:
        clauses.append(AuditEvent.action == spec.action)
    if spec.actor_id is not None:
        clauses.append(AuditEvent.actor_id == spec.actor_id)
    if spec.target:
        clauses.append(AuditEvent.target == spec.target)
    if spec.outcome:
        clauses.append(AuditEvent.outcome == spec.outcome)
    if spec.after is not None:
        clauses.append(AuditEvent.occurred >= spec.after)
    if spec.before is not None:
        clauses.append(AuditEvent.occurred < spec.before)
    return select(AuditEvent).where(*clauses)
