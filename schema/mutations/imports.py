"""Starting imports and cancelling jobs."""

from __future__ import annotations

import enum
from typing import Any

import strawberry
from sqlalchemy.orm import Session

from resolvers.actor import Actor
from resolvers.errors import Invalid
from resolvers.ids import format_id, parse_id, parse_typed_id
from resolvers.imports.requests import (
    DuplicatePolicy,
    FileDeclaration,
    ImportLimits,
    cancel_job,
    create_import,
)
from schema.context import Info
from schema.errors import result_union
from schema.jobs import Job
from schema.mutations.base import USER, guarded, perform
from schema.scalars import Long
from store.jobs import JobState
from store.repository.staging import Staging


@strawberry.enum(name="DuplicatePolicy",
                 description="Files whose bytes were imported before: skip them or import again.")
class DuplicateChoice(enum.Enum):
    SKIP = "skip"
    IMPORT = "import"


@strawberry.input
class ImportFileInput:
    path: str = strawberry.field(description="Relative path; folders are kept, made safe.")
    size: Long = strawberry.field(description="Bytes.")
    sha256: str | None = strawberry.field(
        default=None, description="Lower-case hex; lets the server skip known bytes at once "
                                  "and verify what arrives.")


@strawberry.input
class CreateImportInput:
    dataset: strawberry.ID | None = strawberry.field(
        default=None, description="Where the images go (give a dataset or a screen).")
    screen: strawberry.ID | None = strawberry.field(
        default=None, description="For high-content screening files: where their plates go.")
    files: list[ImportFileInput]
    duplicates: DuplicateChoice | None = strawberry.field(
        default=None, description="Default: the server's duplicate_policy setting.")


@strawberry.type
class CreateImportPayload:
    job: Job = strawberry.field(description="Upload each file that is still pending "
                                            "(job.files[].uploadPath); the import then starts.")


@strawberry.type
class JobPayload:
    job: Job


def _cancel(db: Session, actor: Actor, job_id: int, staging: Staging) -> Any:
    job = cancel_job(db, actor, job_id)
    if job.state == JobState.CANCELLED.value:
        staging.remove(job.id)
    return job


@strawberry.type
class ImportMutations:
    @strawberry.mutation(permission_classes=USER, description=(
        "Declare the files of an import into a dataset of yours. The files' bytes then go "
        "to PUT <uploadPath> (resumable with Upload-Offset); once all are in, the import "
        "runs as a job: watch it with the job query or the job subscription."))
    async def create_import(self, info: Info, input: CreateImportInput
                            ) -> result_union("CreateImportResult", CreateImportPayload):  # type: ignore[valid-type]
        ctx = info.context

        async def run() -> Any:
            policy = DuplicatePolicy(input.duplicates.value if input.duplicates
                                      else ctx.settings.duplicate_policy)
            if (input.dataset is None) == (input.screen is None):
                raise Invalid("give either a dataset or a screen to import into", "dataset")
            if input.dataset is not None:
                target = format_id(*parse_id(input.dataset, "dataset", ("Dataset",)))
            else:
                target = format_id(*parse_id(str(input.screen), "screen", ("Screen",)))
            files = [FileDeclaration(f.path, int(f.size), f.sha256) for f in input.files]
            limits = ImportLimits(ctx.settings.max_import_files, ctx.settings.max_upload_bytes)
            result = await perform(info, lambda job: CreateImportPayload(job=job),
                                   create_import, target, files, policy, limits)
            if isinstance(result, CreateImportPayload) and ctx.jobs is not None \
                    and result.job.state == JobState.QUEUED.value:
                ctx.jobs.enqueue(result.job.id, "import")
            return result

        return await guarded(run())

    @strawberry.mutation(permission_classes=USER, description=(
        "Cancel a job that has not ended: yours, or anyone's for administrators. A running "
        "import stops at its next step and undoes what it made."))
    async def cancel_job(self, info: Info, id: strawberry.ID
                         ) -> result_union("JobResult", JobPayload):  # type: ignore[valid-type]
        async def run() -> Any:
            pk = parse_typed_id(id, "Job")
            staging = Staging(info.context.settings.repository_dir)
            return await perform(info, lambda job: JobPayload(job=job), _cancel, pk, staging)

        return await guarded(run())
