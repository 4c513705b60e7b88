"""Who is asking: the authenticated user, their memberships and the group scope of the request."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from store.accounts import PermissionLevel


@dataclass(frozen=True, slots=True)
class Membership:
    level: PermissionLevel
    is_owner: bool


@dataclass(frozen=True, slots=True)
class Actor:
    user_id: int
    username: str
    is_admin: bool
    memberships: Mapping[int, Membership]
    # Permission levels of every group, for admins acting in groups they are not members of.
    group_levels: Mapping[int, PermissionLevel] = field(default_factory=dict)
    default_group_id: int | None = None
    # None: all groups the user can see; otherwise queries are restricted to this group.
    group_scope: int | None = None
    session_id: int | None = None
    # Restricted administrators hold some of store.security.Privilege; full admins hold all.
    privileges: frozenset[str] = frozenset()
    # The administrator acting through sudo, if any; both identities are audited.
    sudo_by_id: int | None = None
    client_address: str | None = None
    # Personal API tokens may be read-only.
    read_only: bool = False

    @property
    def is_any_admin(self) -> bool:
        """Full or restricted administrator: sees every group's data."""
        return self.is_admin or bool(self.privileges)

    def has(self, privilege: str) -> bool:
        return self.is_admin or privilege in self.privileges

    def level_of(self, group_id: int) -> PermissionLevel | None:
        membership = self.memberships.get(group_id)
        if membership is not None:
            return membership.level
        return self.group_levels.get(group_id)

    def owns_group(self, group_id: int) -> bool:
        membership = self.memberships.get(group_id)
        return membership is not None and membership.is_owner

    def scoped(self, group_id: int | None) -> Actor:
        return replace(self, group_scope=group_id)
