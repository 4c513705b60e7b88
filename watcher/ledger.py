"""The DropboxFile rows: recording what is seen on disk, and what import jobs made of it."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from store.base import utcnow
from store.dropbox import DropboxFile, DropboxState
from store.imports import ImportFile
from store.jobs import Job, JobState
from watcher.disk import Seen
from watcher.targets import user_ids

log = logging.getLogger("omegraph.watcher")

LIVE = (DropboxState.PENDING.value, DropboxState.WAITING.value)
ENDED_BADLY = {JobState.FAILED.value, JobState.CANCELLED.value, JobState.TIMED_OUT.value}
_MAX_UNKNOWN_LOGGED = 1000


class UnknownFolders:
    """Folder names that are no user: logged once each (a bounded set)."""

    def __init__(self) -> None:
        self._logged: set[str] = set()

    def note(self, name: str) -> None:
        if name not in self._logged and len(self._logged) < _MAX_UNKNOWN_LOGGED:
            self._logged.add(name)
            log.warning("dropbox: folder %r names no user; its files are ignored", name)


def current_rows(db: Session, paths: Iterable[str]) -> dict[str, DropboxFile]:
    wanted = list(paths)
    if not wanted:
        return {}
    rows = db.scalars(select(DropboxFile).where(DropboxFile.path.in_(wanted),
                                                DropboxFile.current.is_(True)))
    return {row.path: row for row in rows}


def observe(db: Session, seen: Sequence[Seen], unknown: UnknownFolders,
            now: dt.datetime | None = None) -> int:
    """Record files as seen on disk (one chunk); returns how many rows changed. Committed."""
    now = now or utcnow()
    seen = list({item.relative: item for item in seen}.values())  # a folder and its file
    owners = user_ids(db, {item.relative.split("/", 1)[0] for item in seen})
    rows = current_rows(db, (item.relative for item in seen))
    changed = 0
    for item in seen:
        username = item.relative.split("/", 1)[0]
        owner = owners.get(username)
        if owner is None:
            unknown.note(username)
            continue
        row = rows.get(item.relative)
        if row is None:
            db.add(_new_row(owner, item, now))
        elif (row.size, row.mtime_ns) == (item.size, item.mtime_ns):
            continue
        elif row.state == DropboxState.IMPORTING.value:
            continue  # the job fails if its bytes change under it; seen again afterwards
        elif row.state == DropboxState.IMPORTED.value:
            # A new version: the imported row keeps its history.
            row.current = False
            db.add(_new_row(owner, item, now))
        else:  # pending, waiting, failed, changed: start its quiet period again
            row.size, row.mtime_ns, row.changed_at = item.size, item.mtime_ns, now
            row.state, row.error, row.message = DropboxState.PENDING.value, None, None
            row.sha256 = None
        changed += 1
    db.commit()
    return changed


def _new_row(owner: int, item: Seen, now: dt.datetime) -> DropboxFile:
    return DropboxFile(owner_id=owner, path=item.relative, size=item.size,
                       mtime_ns=item.mtime_ns, state=DropboxState.PENDING.value,
                       changed_at=now, current=True)


def due(db: Session, quiet: dt.timedelta, limit: int) -> list[DropboxFile]:
    """Live rows whose quiet period is over, oldest change first."""
    return list(db.scalars(
        select(DropboxFile).where(DropboxFile.current.is_(True), DropboxFile.state.in_(LIVE),
                                  DropboxFile.changed_at <= utcnow() - quiet)
        .order_by(DropboxFile.changed_at, DropboxFile.id).limit(limit)))


def importing_count(db: Session) -> int:
    """Jobs the dropbox has queued or running (a fileset counts once)."""
    return len(set(db.scalars(select(DropboxFile.job_id).where(
        DropboxFile.state == DropboxState.IMPORTING.value))))


def settle(db: Session, limit: int = 500) -> list[DropboxFile]:
    """Rows whose import job ended get its outcome; returns the newly imported rows."""
    rows = db.execute(
        select(DropboxFile, Job).outerjoin(Job, Job.id == DropboxFile.job_id)
        .where(DropboxFile.state == DropboxState.IMPORTING.value)
        .order_by(DropboxFile.id).limit(limit)).all()
    imported = []
    for row, job in rows:
        if job is None and row.job_id is None:
            job_id = _orphan_job(db, row)
            if job_id is not None:
                row.job_id = job_id
                continue
        if job is None:
            row.state, row.error = DropboxState.FAILED.value, "its import job was deleted"
        elif job.state == JobState.DONE.value:
            result = job.result or {}
            row.state, row.imported_at = DropboxState.IMPORTED.value, job.finished or utcnow()
            row.image_ids = [int(pk) for pk in result.get("image_ids") or []]
            imported.append(row)
        elif job.state in ENDED_BADLY:
            row.state = DropboxState.FAILED.value
            row.error = job.error or f"the import was {job.state.replace('_', ' ')}"
    db.commit()
    return imported


def _orphan_job(db: Session, row: DropboxFile) -> int | None:
    """The job of a row marked importing by a watcher that stopped before it recorded the
    job's id (the job and the mark were committed together)."""
    return db.scalar(select(ImportFile.job_id).where(
        ImportFile.source.endswith("/" + row.path, autoescape=True),
        ImportFile.owner_id == row.owner_id)
        .order_by(ImportFile.job_id.desc()).limit(1))


def queued_jobs(db: Session) -> list[int]:
    """Jobs of importing rows still waiting in the queue: delivered again after a restart or
    a rescan, in case their delivery was lost (a second delivery of a job is harmless)."""
    return list(db.scalars(select(Job.id).join(DropboxFile, DropboxFile.job_id == Job.id)
                           .where(DropboxFile.state == DropboxState.IMPORTING.value,
                                  Job.state == JobState.QUEUED.value).distinct()))


def forget_vanished(db: Session, row: DropboxFile, why: str) -> None:
    """A live row whose file is gone before its import: nothing to report but a log line."""
    log.info("dropbox: %s %s before it was imported; forgotten", row.path, why)
    db.delete(row)
