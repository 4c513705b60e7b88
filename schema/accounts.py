"""Experimenters, groups and memberships."""

from __future__ import annotations

from typing import Any

import strawberry

from resolvers.accounts import ALL_PRIVILEGES
from schema.base import Node, ome_type
from schema.context import Info
from schema.security import Privilege
from store import models

PermissionLevel = strawberry.enum(models.PermissionLevel, name="PermissionLevel")


@ome_type(models.Experimenter)
class Experimenter(Node):
    username: str
    first_name: str
    last_name: str
    email: str | None
    institution: str | None
    is_admin: bool
    active: bool

    @strawberry.field(description="Privileges of a restricted administrator (full admins: all).")
    def privileges(self, root: strawberry.Parent[Any]) -> list[Privilege]:  # type: ignore[valid-type]
        held = ALL_PRIVILEGES if root.is_admin else set(root.privileges or ())
        return [models.Privilege(value) for value in sorted(held)]

    @strawberry.field(description="Where the password lives: local or ldap.")
    def auth_source(self, root: strawberry.Parent[Any]) -> str:
        return root.auth_source  # type: ignore[no-any-return]

    @strawberry.field
    async def memberships(self, root: strawberry.Parent[Any], info: Info) -> list[Membership]:
        return await info.context.loaders.memberships_by_user.load(root.id)

    @strawberry.field
    async def default_group(self, root: strawberry.Parent[Any], info: Info) -> Group | None:
        if root.default_group_id is None:
            return None
        return await info.context.loaders.group_by_id.load(root.default_group_id)  # type: ignore[no-any-return]


@ome_type(models.ExperimenterGroup, name="Group")
class Group(Node):
    name: str
    description: str | None

    @strawberry.field(description="OMERO permission level.", graphql_type=PermissionLevel)
    def permissions(self, root: strawberry.Parent[Any]) -> models.PermissionLevel:
        return models.PermissionLevel(root.permissions)

    @strawberry.field(description="OMERO permission string: rw----, rwr---, rwra-- or rwrw--.")
    def permission_string(self, root: strawberry.Parent[Any]) -> str:
        return root.permissions  # type: ignore[no-any-return]

    @strawberry.field
    async def memberships(self, root: strawberry.Parent[Any], info: Info) -> list[Membership]:
        return await info.context.loaders.memberships_by_group.load(root.id)


@ome_type(models.GroupMembership)
class Membership:
    is_owner: bool

    @strawberry.field
    async def experimenter(self, root: strawberry.Parent[Any], info: Info) -> Experimenter:
        return await info.context.loaders.experimenter_by_id.load(root.experimenter_id)  # type: ignore[no-any-return]

    @strawberry.field
    async def group(self, root: strawberry.Parent[Any], info: Info) -> Group:
        return await info.context.loaders.group_by_id.load(root.group_id)  # type: ignore[no-any-return]
