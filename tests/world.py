"""Arrange users, groups and data directly in the store (fast; no password hashing)."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from sqlalchemy.orm import Session

from resolvers.sessions import token_digest
from store.base import utcnow
from store.models import (
    AuthSession,
    Base,
    Experimenter,
    ExperimenterGroup,
    GroupMembership,
    PermissionLevel,
)


class World:
    def __init__(self, db: Session) -> None:
        self.db = db

    def group(self, name: str, level: PermissionLevel | str = PermissionLevel.READ_ANNOTATE
              ) -> ExperimenterGroup:
        group = ExperimenterGroup(name=name, permissions=PermissionLevel(level).value)
        self.db.add(group)
        self.db.commit()
        return group

    def user(self, name: str, *groups: ExperimenterGroup, owner_of: tuple[Any, ...] = (),
             admin: bool = False) -> Experimenter:
        member_of = list(groups) + [g for g in owner_of if g not in groups]
        user = Experimenter(username=name, is_admin=admin,
                            default_group_id=member_of[0].id if member_of else None)
        self.db.add(user)
        self.db.flush()
        for group in member_of:
            self.db.add(GroupMembership(experimenter_id=user.id, group_id=group.id,
                                        is_owner=group in owner_of))
        self.db.commit()
        return user

    def token(self, user: Experimenter, expires_in: dt.timedelta = dt.timedelta(hours=1)) -> str:
        token = secrets.token_urlsafe(32)
        now = utcnow()
        self.db.add(AuthSession(token_hash=token_digest(token), experimenter_id=user.id,
                                created=now, last_seen=now, expires=now + expires_in))
        self.db.commit()
        return token

    def add(self, model: type[Any], owner: Experimenter, group: ExperimenterGroup,
            **values: Any) -> Any:
        obj = model(owner_id=owner.id, group_id=group.id, **values)
        self.db.add(obj)
        self.db.commit()
        return obj


def snapshot(db: Session) -> dict[str, list[Any]]:
    """Every row of every table, in primary-key order: 'changed nothing' means equal snapshots."""
    return {
        table.name: [tuple(row) for row in db.execute(
            table.select().order_by(*table.primary_key.columns))]
        for table in Base.metadata.sorted_tables
        # The audit trail and login-failure counters are meant to grow on refused requests.
        if table.name not in ("audit_event", "login_failure")
    }


def gid(obj: Any) -> str:
    return f"{obj.kind}:{obj.id}"
