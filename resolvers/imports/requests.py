"""Creating an import job from a list of declared files, and cancelling jobs."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from resolvers.actor import Actor
from resolvers.containers import fetch
from resolvers.errors import Conflict, Invalid, NotFound, PermissionDenied
from resolvers.ids import format_id
from resolvers.permissions import Action, can, read_filter, require
from store.base import utcnow
from store.imports import ImportFile, ImportFileState
from store.jobs import Job, JobState
from store.pixels import OriginalFile
from store.repository import UnsafeName, safe_relative_path

_SHA256 = re.compile(r"[0-9a-f]{64}")
TARGET_KINDS = ("Dataset", "Screen")


class DuplicatePolicy(enum.StrEnum):
    SKIP = "skip"  # the same bytes already imported: report, do not import again
    IMPORT = "import"  # import anyway


@dataclass(frozen=True)
class FileDeclaration:
    """One file of an import. ``source`` (a path on the server) is for trusted callers only:
    the local CLI and the DropBox; GraphQL never sets it."""

    path: str
    size: int
    sha256: str | None = None
    source: Path | None = None


@dataclass(frozen=True)
class ImportLimits:
    max_files: int = 10_000
    max_file_bytes: int = 1 << 40


def create_import(db: Session, actor: Actor, target: str, files: list[FileDeclaration],
                  duplicates: DuplicatePolicy, limits: ImportLimits) -> Job:
    """Validate and record an import into ``target``, a Dataset (images) or a Screen (plates
    of high-content screening files); committed.

    The job is ``uploading`` until every file's bytes are in (immediately ``queued`` when all
    files are already on the server); the caller enqueues queued jobs.
    """
    container = fetch(db, actor, target, "target", TARGET_KINDS)
    require(actor, Action.LINK, container, target, "target")
    declared = _validated(files, limits)
    dataset = container.kind == "Dataset"
    job = Job(job_kind="import", owner_id=actor.user_id, group_id=container.group_id,
              state=JobState.UPLOADING.value, progress=0.0,
              params={"target": format_id(container.kind, container.id),
                      "dataset_id" if dataset else "screen_id": container.id,
                      "duplicates": duplicates.value})
    db.add(job)
    db.flush()
    known = (_known_checksums(db, actor, container.group_id, declared)
             if duplicates is DuplicatePolicy.SKIP else {})
    for index, (path, item) in enumerate(declared):
        row = ImportFile(job_id=job.id, index=index, path=path, size=item.size,
                         sha256=item.sha256, owner_id=actor.user_id,
                         group_id=container.group_id,
                         source=str(item.source) if item.source else None)
        if item.sha256 in known:
            row.state, row.original_file_id = ImportFileState.DUPLICATE.value, known[item.sha256]
        elif item.source is not None or item.size == 0:
            row.state, row.received = ImportFileState.RECEIVED.value, item.size
        db.add(row)
    db.flush()
    refresh_state(db, job)
    db.commit()
    return job


def _validated(files: list[FileDeclaration], limits: ImportLimits
               ) -> list[tuple[str, FileDeclaration]]:
    if not files:
        raise Invalid("an import needs at least one file", "files")
    if len(files) > limits.max_files:
        raise Invalid(f"at most {limits.max_files} files per import", "files")
    seen: set[str] = set()
    declared = []
    for index, item in enumerate(files):
        field = f"files.{index}"
        try:
            path = str(safe_relative_path(item.path))
        except UnsafeName as exc:
            raise Invalid(f"unusable file path: {exc}", f"{field}.path") from None
        if path in seen:
            raise Invalid(f"{path} is declared twice", f"{field}.path")
        seen.add(path)
        if not 0 <= item.size <= limits.max_file_bytes:
            raise Invalid(f"sizes range from 0 to {limits.max_file_bytes} bytes",
                          f"{field}.size")
        if item.sha256 is not None and not _SHA256.fullmatch(item.sha256):
            raise Invalid("sha256 is 64 lower-case hexadecimal digits", f"{field}.sha256")
        declared.append((path, item))
    return declared


def _known_checksums(db: Session, actor: Actor, group_id: int,
                     declared: list[tuple[str, FileDeclaration]]) -> dict[str, int]:
    """Declared checksums already stored in the target's group and visible to the user."""
    sums = {item.sha256 for _, item in declared if item.sha256}
    if not sums:
        return {}
    rows = db.execute(
        select(OriginalFile.sha256, OriginalFile.id)
        .where(OriginalFile.sha256.in_(sums), OriginalFile.group_id == group_id,
               read_filter(OriginalFile, actor))
        .order_by(OriginalFile.id)
    ).all()
    known: dict[str, int] = {}
    for sha, pk in rows:
        known.setdefault(sha, pk)
    return known


def refresh_state(db: Session, job: Job) -> None:
    """Move an uploading job to queued once no file is waiting for bytes; a job whose every
    file is a skipped duplicate is done at once."""
    if job.state != JobState.UPLOADING.value:
        return
    states = set(db.scalars(select(ImportFile.state).where(ImportFile.job_id == job.id)))
    waiting = {ImportFileState.PENDING.value, ImportFileState.UPLOADING.value}
    if states & waiting:
        return
    if states == {ImportFileState.DUPLICATE.value}:
        job.state, job.finished, job.progress = JobState.DONE.value, utcnow(), 1.0
        job.message = "every file was imported before; nothing new to import"
        job.result = {"image_ids": [], "skipped_duplicates": True}
    else:
        job.state = JobState.QUEUED.value


def own_job(db: Session, actor: Actor, job_id: int, field: str = "id") -> Job:
    """A job the actor may act on: their own; admins any. Others' jobs are NotFound."""
    job = db.get(Job, job_id)
    if job is None or not can(actor, Action.VIEW, job.owner_id, job.group_id):
        raise NotFound(f"{format_id('Job', job_id)} not found", field)
    if job.owner_id != actor.user_id and not actor.is_admin:
        raise PermissionDenied("only its owner or an administrator may change a job", field)
    return job


def cancel_job(db: Session, actor: Actor, job_id: int) -> Job:
    """Cancel a job that has not finished. A running job stops at its next step and undoes
    its work; others end at once."""
    job = own_job(db, actor, job_id)
    if job.state in (JobState.DONE.value, JobState.FAILED.value, JobState.CANCELLED.value,
                     JobState.TIMED_OUT.value):
        raise Conflict(f"the job has already ended ({job.state})", "id")
    job.cancel_requested = True
    if job.state != JobState.RUNNING.value:
        job.state, job.finished, job.message = JobState.CANCELLED.value, utcnow(), "cancelled"
    db.commit()
    return job
