"""Giving data to another user (OMERO's chown): administrators with change_ownership only."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from resolvers import audit
from resolvers.accounts import get_user, require_privilege
from resolvers.actor import Actor
from resolvers.containers import fetch
from resolvers.errors import Invalid
from resolvers.ids import format_id
from store.models import GroupMembership
from store.security import Privilege

TRANSFERABLE = ("Project", "Dataset", "Image", "Screen", "Plate", "Annotation", "Roi")


def change_owner(db: Session, actor: Actor, global_ids: Sequence[str],
                 new_owner_id: int) -> list[Any]:
    """All or nothing; the new owner must be a member of each object's group."""
    require_privilege(actor, Privilege.CHANGE_OWNERSHIP, "ids")
    owner = get_user(db, new_owner_id, "owner")
    objects = [fetch(db, actor, gid, f"ids.{i}", TRANSFERABLE) for i, gid in enumerate(global_ids)]
    for index, obj in enumerate(objects):
        if db.get(GroupMembership, (owner.id, obj.group_id)) is None:
            raise Invalid(f"{owner.username} is not a member of the group of "
                          f"{format_id(obj.kind, obj.id)}", f"ids.{index}")
    for obj in objects:
        audit.record(db, "chown", actor, target=format_id(obj.kind, obj.id),
                     details={"from": obj.owner_id, "to": owner.id})
        obj.owner_id = owner.id
    db.commit()
    return objects
