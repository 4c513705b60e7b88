"""The Node and OwnedObject interfaces, and the decorator that maps ORM rows to GraphQL types."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, TypeVar

import strawberry

from resolvers.ids import format_id
from resolvers.permissions import Action, can
from schema.context import Info

C = TypeVar("C", bound=type)


def ome_type(model: type, *, where: Callable[[Any], bool] | None = None,
             name: str | None = None, description: str | None = None) -> Callable[[C], C]:
    """A strawberry type whose values are ORM rows of ``model`` (optionally a subset of them)."""

    def wrap(cls: C) -> C:
        def is_type_of(_cls: type, obj: Any, _info: Any) -> bool:
            return isinstance(obj, model) and (where is None or where(obj))

        cls.is_type_of = classmethod(is_type_of)  # type: ignore[attr-defined]
        return strawberry.type(cls, name=name, description=description)  # type: ignore[return-value]

    return wrap


@strawberry.interface(description="An object with a global id like 'Image:123'.")
class Node:
    @strawberry.field(description="Global id: type name, colon, number.")
    def id(self, root: strawberry.Parent[Any]) -> strawberry.ID:
        return strawberry.ID(format_id(root.kind, root.id))

    @strawberry.field(description="The numeric database id.")
    def db_id(self, root: strawberry.Parent[Any]) -> int:
        return int(root.id)


@strawberry.type(description="What the viewer may do with this object.")
class ObjectPermissions:
    can_annotate: bool
    can_edit: bool
    can_delete: bool
    can_link: bool


@strawberry.interface(description="An object owned by an experimenter within a group.")
class OwnedObject(Node):
    @strawberry.field
    async def owner(self, root: strawberry.Parent[Any], info: Info) -> Experimenter:
        return await info.context.loaders.experimenter_by_id.load(root.owner_id)  # type: ignore[no-any-return]

    @strawberry.field
    async def group(self, root: strawberry.Parent[Any], info: Info) -> Group:
        return await info.context.loaders.group_by_id.load(root.group_id)  # type: ignore[no-any-return]

    @strawberry.field
    def created(self, root: strawberry.Parent[Any]) -> dt.datetime:
        return root.created  # type: ignore[no-any-return]

    @strawberry.field
    def updated(self, root: strawberry.Parent[Any]) -> dt.datetime:
        return root.updated  # type: ignore[no-any-return]

    @strawberry.field
    def permissions(self, root: strawberry.Parent[Any], info: Info) -> ObjectPermissions:
        actor = info.context.actor

        def allowed(action: Action) -> bool:
            return can(actor, action, root.owner_id, root.group_id)

        return ObjectPermissions(
            can_annotate=allowed(Action.ANNOTATE), can_edit=allowed(Action.EDIT),
            can_delete=allowed(Action.DELETE), can_link=allowed(Action.LINK),
        )


from schema.accounts import Experimenter, Group  # noqa: E402  (mutual references)
