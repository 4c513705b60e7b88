"""OMERO's permission rules, in one place: a SQL read filter and one write check.

Users always have full control of their own data. On other members' data:

============  =======  =========  =============  ==========
who           private  read-only  read-annotate  read-write
============  =======  =========  =============  ==========
member        -        view       view annotate  all
group owner   all but annotate     all            all
admin         all but annotate     all            all
============  =======  =========  =============  ==========

"all" is view, annotate, edit, delete and link. ROIs are edited only by their owner.
Restricted administrators view everything, and act on others' data as an admin only where
they hold the privilege: write_others_data (annotate, edit, link), delete_others_data.
Read-only API tokens are stopped before any write, in the schema's permission classes.
"""

from __future__ import annotations

import enum
from typing import Any, Protocol

from sqlalchemy import ColumnElement, and_, false, or_, true

from resolvers.actor import Actor
from resolvers.errors import NotFound, PermissionDenied
from store.security import Privilege


class Action(enum.StrEnum):
    VIEW = "view"
    ANNOTATE = "annotate"
    EDIT = "edit"
    DELETE = "delete"
    LINK = "link"


class OwnedRow(Protocol):
    @property
    def owner_id(self) -> int: ...

    @property
    def group_id(self) -> int: ...


def read_filter(model: Any, actor: Actor) -> ColumnElement[bool]:
    """The WHERE clause every read of an owned model goes through."""
    if actor.is_any_admin:
        return true() if actor.group_scope is None else model.group_id == actor.group_scope
    whole_groups: list[int] = []
    own_only_groups: list[int] = []
    for group_id, membership in actor.memberships.items():
        if actor.group_scope is not None and group_id != actor.group_scope:
            continue
        if membership.is_owner or membership.level.members_read:
            whole_groups.append(group_id)
        else:
            own_only_groups.append(group_id)
    clauses: list[ColumnElement[bool]] = []
    if whole_groups:
        clauses.append(model.group_id.in_(whole_groups))
    if own_only_groups:
        clauses.append(and_(model.group_id.in_(own_only_groups), model.owner_id == actor.user_id))
    return or_(*clauses) if clauses else false()


def can(actor: Actor, action: Action, owner_id: int, group_id: int) -> bool:
    """Whether ``actor`` may perform ``action`` on an object with this owner and group."""
    level = actor.level_of(group_id)
    if level is None:
        return False
    is_member = group_id in actor.memberships
    if actor.is_admin or actor.owns_group(group_id) or _privileged(actor, action):
        # Even owners and admins cannot annotate other people's data in private groups.
        return action is not Action.ANNOTATE or owner_id == actor.user_id or level.members_read
    if not is_member:
        return False
    if owner_id == actor.user_id:
        return True
    if action is Action.VIEW:
        return level.members_read
    if action is Action.ANNOTATE:
        return level.members_annotate
    return level.members_write


# What a restricted administrator needs, per action, to act on anybody's data.
_PRIVILEGE_FOR = {
    Action.VIEW: None,
    Action.ANNOTATE: Privilege.WRITE_OTHERS_DATA,
    Action.EDIT: Privilege.WRITE_OTHERS_DATA,
    Action.LINK: Privilege.WRITE_OTHERS_DATA,
    Action.DELETE: Privilege.DELETE_OTHERS_DATA,
}


def _privileged(actor: Actor, action: Action) -> bool:
    if not actor.privileges:
        return False
    needed = _PRIVILEGE_FOR[action]
    return needed is None or needed.value in actor.privileges


def require(actor: Actor, action: Action, row: OwnedRow, what: str, field: str = "id") -> None:
    """Raise NotFound if the object is invisible, PermissionDenied if visible but not allowed."""
    if not can(actor, Action.VIEW, row.owner_id, row.group_id):
        raise NotFound(f"{what} not found", field)
    if not can(actor, action, row.owner_id, row.group_id):
        raise PermissionDenied(f"you may not {action.value} {what}", field)


def require_roi_edit(actor: Actor, row: OwnedRow, what: str, field: str = "id") -> None:
    """Nobody edits another user's ROI, not even an admin."""
    require(actor, Action.VIEW, row, what, field)
    if row.owner_id != actor.user_id:
        raise PermissionDenied(f"only its owner may edit {what}", field)


def require_group_member(actor: Actor, group_id: int, field: str = "group") -> None:
    """Creating data in a group needs membership (admins may create anywhere)."""
    if actor.is_any_admin and actor.level_of(group_id) is not None:
        return
    if group_id not in actor.memberships:
        raise PermissionDenied("you are not a member of that group", field)
