"""The Query root: the viewer, nodes by id, and a list field per entity."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import strawberry
from sqlalchemy import select
from sqlalchemy.orm import Session
from strawberry.permission import BasePermission

from resolvers import sessions, tokens
from resolvers.actor import Actor
from resolvers.errors import Invalid, NotFound
from resolvers.ids import parse_id, parse_typed_id
from schema.accounts import Experimenter, Group
from schema.annotations import Annotation
from schema.audit import audit_page
from schema.base import Node
from schema.connections import Connection
from schema.context import Info
from schema.dropbox import DropboxFile, DropboxFileFilter, list_dropbox_files
from schema.inputs import AnnotationFilter, Sort, annotation_filter
from schema.jobs import Job, JobFilter, list_jobs
from schema.listing import list_field
from schema.ome import Dataset, Image, Plate, Project, Roi, Screen
from schema.permissions import IsAdmin, IsAuthenticated
from schema.security import ApiToken, AuditEventPage, AuditFilterInput, SessionInfo
from store import models

AUTH: list[type[BasePermission]] = [IsAuthenticated]
ADMINS: list[type[BasePermission]] = [IsAdmin]


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
        # Gathered, so the loaders batch all ids of a type into one query.
        found: list[Node | None] = await asyncio.gather(
            *(_node(info, value, f"ids.{i}") for i, value in enumerate(ids)))
        return found

    @strawberry.field(permission_classes=AUTH)
    async def experimenters(self, info: Info) -> list[Experimenter]:
        return await info.context.db.run(_visible_experimenters, info.context.actor)

    @strawberry.field(permission_classes=AUTH)
    async def groups(self, info: Info) -> list[Group]:
        return await info.context.db.run(_visible_groups, info.context.actor)

    @strawberry.field(permission_classes=AUTH, description="Your personal API tokens.")
    async def api_tokens(self, info: Info) -> list[ApiToken]:
        rows = await info.context.db.run(tokens.list_tokens, info.context.actor)
        return cast(list[ApiToken], rows)

    @strawberry.field(permission_classes=AUTH,
                      description="Open sessions: yours, or a user's for administrators.")
    async def sessions(self, info: Info, user: strawberry.ID | None = None) -> list[SessionInfo]:
        user_id = parse_typed_id(user, "Experimenter", "user") if user else None
        rows = await info.context.db.run(sessions.list_sessions, info.context.actor, user_id)
        return cast(list[SessionInfo], rows)

    @strawberry.field(permission_classes=ADMINS,
                      description="The audit trail, newest first (administrators).")
    async def audit_events(self, info: Info, filter: AuditFilterInput | None = None,
                           first: int = 100, before: str | None = None) -> AuditEventPage:
        return await audit_page(info, filter, first, before)

    projects = list_field(models.Project, Project)
    datasets = list_field(models.Dataset, Dataset)
    images = list_field(models.Image, Image)
    screens = list_field(models.Screen, Screen)
    plates = list_field(models.Plate, Plate)
    rois = list_field(models.Roi, Roi)
    annotations = list_field(models.Annotation, Annotation, filter_type=AnnotationFilter,
                             to_spec=annotation_filter)
    @strawberry.field(permission_classes=AUTH, description="Background jobs you can see.")
    async def jobs(self, info: Info, filter: JobFilter | None = None, first: int | None = None,
                   after: str | None = None, last: int | None = None,
                   before: str | None = None, sort: Sort | None = None) -> Connection[Job]:
        return await list_jobs(info, None, filter, first, after, last, before, sort)

    @strawberry.field(permission_classes=AUTH, description="Import jobs you can see.")
    async def imports(self, info: Info, filter: JobFilter | None = None,
                      first: int | None = None, after: str | None = None,
                      last: int | None = None, before: str | None = None,
                      sort: Sort | None = None) -> Connection[Job]:
        return await list_jobs(info, "import", filter, first, after, last, before, sort)

    @strawberry.field(permission_classes=AUTH,
                      description="DropBox files, newest first: yours (administrators: all).")
    async def dropbox_files(self, info: Info, filter: DropboxFileFilter | None = None,
                            first: int | None = None, after: str | None = None
                            ) -> Connection[DropboxFile]:
        return await list_dropbox_files(info, filter, first, after)

    @strawberry.field(permission_classes=AUTH, description="One job, if you can see it.")
    async def job(self, info: Info, id: strawberry.ID) -> Job | None:
        pk = parse_typed_id(id, "Job")
        return await info.context.loaders.object_by_id["Job"].load(pk)  # type: ignore[no-any-return]
