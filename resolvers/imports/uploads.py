"""The database side of receiving a file's bytes: which file, how much is held, and when
the whole import is ready to run. The bytes themselves go to store.repository.staging."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from resolvers.actor import Actor
from resolvers.errors import Conflict, NotFound, PermissionDenied
from resolvers.imports.requests import refresh_state
from resolvers.permissions import Action, can
from store.base import utcnow
from store.imports import ImportFile, ImportFileState
from store.jobs import Job, JobState


def upload_slot(db: Session, actor: Actor, job_id: int, index: int) -> ImportFile:
    """The file ``index`` of import ``job_id``, if the actor may upload into it now."""
    job = db.get(Job, job_id)
    if job is None or job.job_kind != "import" \
            or not can(actor, Action.VIEW, job.owner_id, job.group_id):
        raise NotFound("no such import", "job")
    if job.owner_id != actor.user_id:
        raise PermissionDenied("only the user who started an import uploads its files", "job")
    slot = db.scalar(select(ImportFile).where(ImportFile.job_id == job_id,
                                              ImportFile.index == index))
    if slot is None:
        raise NotFound(f"the import has no file {index}", "file")
    if job.state != JobState.UPLOADING.value or job.cancel_requested:
        raise Conflict(f"the import is {job.state}; it takes no more bytes", "job")
    if slot.state not in (ImportFileState.PENDING.value, ImportFileState.UPLOADING.value):
        raise Conflict(f"file {index} is already complete ({slot.state})", "file")
    return slot


def slot_sizes(db: Session, actor: Actor, job_id: int, index: int) -> tuple[int, int]:
    """(bytes recorded, declared size) of an upload slot; ends the read transaction so that
    no transaction stays open while a long upload streams in."""
    try:
        slot = upload_slot(db, actor, job_id, index)
        return slot.received, slot.size
    finally:
        db.rollback()


def record_received(db: Session, actor: Actor, job_id: int, index: int, held: int) -> bool:
    """Record that ``held`` bytes of the file are staged; True when this made the whole
    import ready to run (the caller enqueues it)."""
    db.rollback()
    # Write to the job row first: it serialises concurrent uploads of one import (a row
    # lock on PostgreSQL, the write lock on SQLite) so that exactly one of them sees the
    # last file arrive and queues the job.
    db.execute(update(Job).where(Job.id == job_id).values(updated=utcnow()))
    slot = upload_slot(db, actor, job_id, index)
    slot.received = held
    complete = held == slot.size
    slot.state = (ImportFileState.RECEIVED if complete else ImportFileState.UPLOADING).value
    job = db.get(Job, job_id)
    assert job is not None
    refresh_state(db, job)
    db.commit()
    return job.state == JobState.QUEUED.value
