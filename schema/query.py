"""The Query root: the viewer, nodes by id, and a list field per entity."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.permission import BasePermission
from sqlalchemy import select
from sqlalchemy.orm import Session

from resolvers.actor import Actor
from resolvers.errors import Invalid, NotFound
from resolvers.ids import parse_id
from schema.accounts import Experimenter, Group
from schema.annotations import Annotation
from schema.base import Node
from schema.connections import Connection
from schema.context import Info
from schema.inputs import AnnotationFilter, ObjectFilter, Sort, annotation_filter, object_filter
from schema.listing import list_connection
from schema.ome import Dataset, Image, Job, Plate, Project, Roi, Screen
from schema.permissions import IsAuthenticated
from store import models

AUTH: list[type[BasePermission]] = [IsAuthenticated]


async def _node(info: Info, global_id: str, field: str) -> Any:
    kind, pk = parse_id(global_id, field)
    loaders = info.context.loaders
    if kind == "Experimenter":
        return await loaders.experimenter_by_id.load(pk)
    if kind == "Group":
        return await _visible_group(info, pk)
    loader = loaders.object_by_id.get(kind)
    if loader is None:
        raise Invalid(f"{kind} is not a type of object", field)
    return await loader.load(pk)


async def _visible_group(info: Info, pk: int) -> Any:
    actor = info.context.actor
    if not actor.is_admin and pk not in actor.memberships:
        return None
    return await info.context.loaders.group_by_id.load(pk)


def _visible_experimenters(db: Session, actor: Actor) -> list[Any]:
    """Admins see everyone; others see members of their groups (not of private groups)."""
    query = select(models.Experimenter).order_by(models.Experimenter.id)
    if not actor.is_admin:
        shared = [g for g, m in actor.memberships.items() if m.is_owner or m.level.members_read]
        query = query.where(
            (models.Experimenter.id == actor.user_id)
            | models.Experimenter.id.in_(
                select(models.GroupMembership.experimenter_id)
                .where(models.GroupMembership.group_id.in_(shared))
            )
        )
    return list(db.scalars(query))


def _visible_groups(db: Session, actor: Actor) -> list[Any]:
    query = select(models.ExperimenterGroup).order_by(models.ExperimenterGroup.id)
    if not actor.is_admin:
        query = query.where(models.ExperimenterGroup.id.in_(list(actor.memberships)))
    return list(db.scalars(query))


@strawberry.type
class Query:
    @strawberry.field(permission_classes=AUTH, description="The logged-in user.")
    async def me(self, info: Info) -> Experimenter:
        user = await info.context.loaders.experimenter_by_id.load(info.context.actor.user_id)
        if user is None:
            raise NotFound("your account no longer exists")
        return user  # type: ignore[no-any-return]

    @strawberry.field(permission_classes=AUTH, description="Any object by global id, if visible.")
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        return await _node(info, id, "id")  # type: ignore[no-any-return]

    @strawberry.field(permission_classes=AUTH, description="Several objects by id, in order.")
    async def nodes(self, info: Info, ids: list[strawberry.ID]) -> list[Node | None]:
        limit = info.context.settings.max_list_input
        if len(ids) > limit:
            raise Invalid(f"at most {limit} ids", "ids")
        return [await _node(info, value, f"ids.{i}") for i, value in enumerate(ids)]

    @strawberry.field(permission_classes=AUTH)
    async def experimenters(self, info: Info) -> list[Experimenter]:
        return await info.context.db.run(_visible_experimenters, info.context.actor)

    @strawberry.field(permission_classes=AUTH)
    async def groups(self, info: Info) -> list[Group]:
        return await info.context.db.run(_visible_groups, info.context.actor)

    @strawberry.field(permission_classes=AUTH)
    async def projects(self, info: Info, filter: ObjectFilter | None = None,
                       first: int | None = None, after: str | None = None,
                       last: int | None = None, before: str | None = None,
                       sort: Sort | None = None) -> Connection[Project]:
        return await list_connection(info, models.Project, object_filter(filter), first, after,
                                     last, before, sort)

    @strawberry.field(permission_classes=AUTH)
    async def datasets(self, info: Info, filter: ObjectFilter | None = None,
                       first: int | None = None, after: str | None = None,
                       last: int | None = None, before: str | None = None,
                       sort: Sort | None = None) -> Connection[Dataset]:
        return await list_connection(info, models.Dataset, object_filter(filter), first, after,
                                     last, before, sort)

    @strawberry.field(permission_classes=AUTH)
    async def images(self, info: Info, filter: ObjectFilter | None = None,
                     first: int | None = None, after: str | None = None,
                     last: int | None = None, before: str | None = None,
                     sort: Sort | None = None) -> Connection[Image]:
        return await list_connection(info, models.Image, object_filter(filter), first, after,
                                     last, before, sort)

    @strawberry.field(permission_classes=AUTH)
    async def screens(self, info: Info, filter: ObjectFilter | None = None,
                      first: int | None = None, after: str | None = None,
                      last: int | None = None, before: str | None = None,
                      sort: Sort | None = None) -> Connection[Screen]:
        return await list_connection(info, models.Screen, object_filter(filter), first, after,
                                     last, before, sort)

    @strawberry.field(permission_classes=AUTH)
    async def plates(self, info: Info, filter: ObjectFilter | None = None,
                     first: int | None = None, after: str | None = None,
                     last: int | None = None, before: str | None = None,
                     sort: Sort | None = None) -> Connection[Plate]:
        return await list_connection(info, models.Plate, object_filter(filter), first, after,
                                     last, before, sort)

    @strawberry.field(permission_classes=AUTH)
    async def rois(self, info: Info, filter: ObjectFilter | None = None,
                   first: int | None = None, after: str | None = None,
                   last: int | None = None, before: str | None = None,
                   sort: Sort | None = None) -> Connection[Roi]:
        return await list_connection(info, models.Roi, object_filter(filter), first, after,
                                     last, before, sort)

    @strawberry.field(permission_classes=AUTH)
    async def annotations(self, info: Info, filter: AnnotationFilter | None = None,
                          first: int | None = None, after: str | None = None,
                          last: int | None = None, before: str | None = None,
                          sort: Sort | None = None) -> Connection[Annotation]:
        return await list_connection(info, models.Annotation, annotation_filter(filter), first,
                                     after, last, before, sort)

    @strawberry.field(permission_classes=AUTH, description="Background jobs the viewer can see.")
    async def jobs(self, info: Info, filter: ObjectFilter | None = None,
                   first: int | None = None, after: str | None = None,
                   last: int | None = None, before: str | None = None,
                   sort: Sort | None = None) -> Connection[Job]:
        return await list_connection(info, models.Job, object_filter(filter), first, after,
                                     last, before, sort)
