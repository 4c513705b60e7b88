"""Background jobs and imports: their state, files, results; the imports query."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

import strawberry
from strawberry.scalars import JSON

from resolvers.filters import ListFilter
from resolvers.ids import parse_typed_id
from schema.base import OwnedObject, computed, loaded, ome_type, ready
from schema.connections import Connection
from schema.context import Info
from schema.inputs import Sort, aware
from schema.listing import list_connection
from schema.ome import Fileset, Image, OriginalFile
from schema.scalars import Long
from store import models


@strawberry.enum(description="Where a job is: an import goes uploading -> queued -> parsing "
                             "-> pixels -> thumbnails -> done (or failed/cancelled).")
class JobStatus(enum.Enum):
    UPLOADING = "uploading"
    QUEUED = "queued"
    RUNNING = "running"
    PARSING = "parsing"
    PIXELS = "pixels"
    THUMBNAILS = "thumbnails"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"
    TIMED_OUT = "timed_out"


_STEPS = {"uploading": JobStatus.RUNNING, "parsing": JobStatus.PARSING,
          "pixels": JobStatus.PIXELS, "thumbnails": JobStatus.THUMBNAILS}


def status_of(state: str, step: str | None) -> JobStatus:
    if state == models.JobState.RUNNING.value:
        return _STEPS.get(step or "", JobStatus.RUNNING)
    return JobStatus(state)


@ome_type(models.ImportFile)
class ImportFile(OwnedObject):
    index: int
    path: str = strawberry.field(description="The client's relative path, made safe.")
    size: Long
    received: Long
    sha256: str | None
    state: str = strawberry.field(
        description="pending, uploading, received, stored or duplicate.")

    @computed(description="Where to PUT the file's bytes (Upload-Offset to resume).")
    def upload_path(self, root: strawberry.Parent[Any]) -> str:
        return f"/uploads/{root.job_id}/{root.index}"

    @loaded
    def original_file(self, root: strawberry.Parent[Any], info: Info) -> OriginalFile | None:
        if root.original_file_id is None:
            return None
        return ready(info.context.loaders.object_by_id["OriginalFile"].load(  # type: ignore[no-any-return]
            root.original_file_id))


@ome_type(models.Job)
class Job(OwnedObject):
    job_kind: str
    state: str
    step: str | None
    progress: float
    message: str | None
    error: str | None = strawberry.field(description="Why it failed, for people to read.")
    attempts: int
    started: dt.datetime | None
    finished: dt.datetime | None

    @computed
    def status(self, root: strawberry.Parent[Any]) -> JobStatus:
        return status_of(root.state, root.step)

    @computed
    def result(self, root: strawberry.Parent[Any]) -> JSON | None:
        return root.result  # type: ignore[no-any-return]

    @loaded
    def files(self, root: strawberry.Parent[Any], info: Info) -> list[ImportFile]:
        return ready(info.context.loaders.import_files_by_job.load(root.id))  # type: ignore[no-any-return]

    @strawberry.field(description="Images an import made (those you can see).")
    async def images(self, root: strawberry.Parent[Any], info: Info) -> list[Image]:
        ids = [int(pk) for pk in ((root.result or {}).get("image_ids") or [])
               if (root.result or {}).get("committed")]
        found = await info.context.loaders.object_by_id["Image"].load_many(ids)
        return [image for image in found if image is not None]

    @strawberry.field(description="The fileset an import made.")
    async def fileset(self, root: strawberry.Parent[Any], info: Info) -> Fileset | None:
        result = root.result or {}
        if not result.get("committed") or result.get("fileset_id") is None:
            return None
        return await info.context.loaders.object_by_id["Fileset"].load(  # type: ignore[no-any-return]
            int(result["fileset_id"]))


@strawberry.input
class JobFilter:
    owner: strawberry.ID | None = None
    status: list[JobStatus] | None = strawberry.field(
        default=None, description="done, failed, ...; parsing/pixels/thumbnails mean running.")
    created_after: dt.datetime | None = None
    created_before: dt.datetime | None = None


def job_filter(value: JobFilter | None, kind: str | None) -> ListFilter:
    if value is None:
        return ListFilter(job_kind=kind)
    states = None
    if value.status is not None:
        states = tuple(sorted({models.JobState.RUNNING.value if s in _STEPS.values()
                               or s is JobStatus.RUNNING else s.value for s in value.status}))
    return ListFilter(
        owner_id=parse_typed_id(value.owner, "Experimenter", "filter.owner")
        if value.owner else None,
        created_after=aware(value.created_after, "filter.createdAfter"),
        created_before=aware(value.created_before, "filter.createdBefore"),
        job_kind=kind, job_states=states)


async def list_jobs(info: Info, kind: str | None, filter: JobFilter | None,
                    first: int | None, after: str | None, last: int | None,
                    before: str | None, sort: Sort | None) -> Connection[Job]:
    return await list_connection(info, models.Job, job_filter(filter, kind), first, after,
                                 last, before, sort)
