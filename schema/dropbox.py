"""DropBox status: files seen in the watched folder, and what became of each."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

import strawberry

from resolvers.dropbox import DropboxFilter, dropbox_count, dropbox_page
from resolvers.ids import parse_typed_id
from resolvers.listing import PageRequest, page_size
from schema.accounts import Experimenter, Group
from schema.base import Node, computed, loaded, ome_type, ready
from schema.connections import Connection, connection
from schema.context import Info
from schema.jobs import Job
from schema.ome import Image
from schema.scalars import Long
from store import models


@strawberry.enum(description="pending: changing, or within its quiet period; waiting: for "
                             "the companion files of its fileset; importing; imported; "
                             "failed (see error); changed: changed after its import and not "
                             "imported again.")
class DropboxFileState(enum.Enum):
    PENDING = "pending"
    WAITING = "waiting"
    IMPORTING = "importing"
    IMPORTED = "imported"
    FAILED = "failed"
    CHANGED = "changed"


@ome_type(models.DropboxFile, description="A file dropped into <dropbox>/<user>/...")
class DropboxFile(Node):
    path: str = strawberry.field(description="Below the dropbox root, from the user's folder.")
    size: Long
    sha256: str | None
    error: str | None = strawberry.field(description="Why it failed, for people to read.")
    message: str | None = strawberry.field(
        description="What it waits for, or why it was not imported again.")
    fileset_head: str | None = strawberry.field(
        description="Multi-file filesets: the path of the file that names the fileset.")
    current: bool = strawberry.field(
        description="False for an earlier version of a file that changed after its import.")
    created: dt.datetime
    updated: dt.datetime
    imported_at: dt.datetime | None

    @computed
    def state(self, root: strawberry.Parent[Any]) -> DropboxFileState:
        return DropboxFileState(root.state)

    @computed(description="When it last changed: its quiet period runs from here.")
    def changed_at(self, root: strawberry.Parent[Any]) -> dt.datetime:
        return root.changed_at  # type: ignore[no-any-return]

    @loaded
    def owner(self, root: strawberry.Parent[Any], info: Info) -> Experimenter:
        return ready(info.context.loaders.experimenter_by_id.load(root.owner_id))  # type: ignore[no-any-return]

    @strawberry.field
    async def group(self, root: strawberry.Parent[Any], info: Info) -> Group | None:
        if root.group_id is None:
            return None
        return await info.context.loaders.group_by_id.load(root.group_id)  # type: ignore[no-any-return]

    @strawberry.field(description="Its import job (pending files have none yet).")
    async def job(self, root: strawberry.Parent[Any], info: Info) -> Job | None:
        if root.job_id is None:
            return None
        return await info.context.loaders.object_by_id["Job"].load(root.job_id)  # type: ignore[no-any-return]

    @strawberry.field(description="The images its import made (those you can see).")
    async def images(self, root: strawberry.Parent[Any], info: Info) -> list[Image]:
        found = await info.context.loaders.object_by_id["Image"].load_many(
            list(root.image_ids or []))
        return [image for image in found if image is not None]


@strawberry.input
class DropboxFileFilter:
    owner: strawberry.ID | None = None
    states: list[DropboxFileState] | None = None
    path_contains: str | None = None
    include_history: bool = False


def dropbox_filter(value: DropboxFileFilter | None) -> DropboxFilter:
    if value is None:
        return DropboxFilter()
    return DropboxFilter(
        owner_id=parse_typed_id(value.owner, "Experimenter", "filter.owner")
        if value.owner else None,
        states=tuple(s.value for s in value.states) if value.states is not None else None,
        path_contains=value.path_contains, include_history=value.include_history)


async def list_dropbox_files(info: Info, filter: DropboxFileFilter | None, first: int | None,
                             after: str | None) -> Connection[DropboxFile]:
    ctx = info.context
    actor, spec = ctx.actor, dropbox_filter(filter)
    request = PageRequest(first=first, after=after)
    size = page_size(request, ctx.settings.default_page_size, ctx.settings.max_page_size)
    page = await ctx.db.run(dropbox_page, actor, spec, request, size)

    async def total() -> int:
        return await ctx.db.run(dropbox_count, actor, spec)

    return connection(page, total)
