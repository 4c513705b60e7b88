"""What to do with a file whose quiet period is over: wait for companions, skip what was
imported before, recognise moves, or create its import job."""

from __future__ import annotations

import datetime as dt
import logging
import os
import posixpath
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import EngineError
from engine.readers import companion_files
from omegraph.settings import Settings
from resolvers.errors import DomainError
from resolvers.imports.requests import DuplicatePolicy, FileDeclaration, ImportLimits, create_import
from store.base import utcnow
from store.dropbox import DropboxFile, DropboxState
from watcher.disk import open_for_writing, sha256_of, stat_file
from watcher.ledger import LIVE, current_rows, forget_vanished
from watcher.targets import Unplaceable, destination

log = logging.getLogger("omegraph.watcher")
DONE_STATES = (DropboxState.IMPORTED.value, DropboxState.IMPORTING.value)


@dataclass(frozen=True)
class Rules:
    root: Path
    settings: Settings

    @property
    def quiet(self) -> dt.timedelta:
        return dt.timedelta(seconds=self.settings.dropbox_quiet_seconds)


def process(db: Session, rules: Rules, rows: list[DropboxFile], budget: int,
            enqueue: Callable[[int, str], None]) -> int:
    """Decide each due row, enqueueing each import job as soon as it is committed; returns
    how many jobs were created.

    One file's failure is recorded on its row alone; the others go on.
    """
    writing = open_for_writing({str(rules.root / row.path) for row in rows})
    jobs = 0
    for row_id in [row.id for row in rows]:
        if budget <= jobs:
            break
        row = db.get(DropboxFile, row_id)
        if row is None or not row.current or row.state not in LIVE:
            continue  # forgotten, or taken by a fileset decided just before
        try:
            job_id = _decide(db, rules, row, writing)
        except Exception as exc:  # an unexpected failure stays with this file
            log.exception("dropbox: %s could not be imported", row.path)
            db.rollback()
            _fail(db, [row_id], f"unexpected error: {exc}")
            continue
        if job_id is not None:
            enqueue(job_id, "import")
            jobs += 1
    return jobs


def _fail(db: Session, row_ids: list[int], reason: str) -> None:
    for pk in row_ids:
        row = db.get(DropboxFile, pk)
        if row is not None:
            row.state, row.error, row.job_id = DropboxState.FAILED.value, reason, None
    db.commit()


def _decide(db: Session, rules: Rules, row: DropboxFile, writing: set[str]) -> int | None:
    now = utcnow()
    seen = stat_file(rules.root, row.path)
    if seen is None:
        forget_vanished(db, row, "vanished")
        db.commit()
        return None
    if (seen.size, seen.mtime_ns) != (row.size, row.mtime_ns) or str(
            rules.root / row.path) in writing:
        row.size, row.mtime_ns, row.changed_at = seen.size, seen.mtime_ns, now
        row.state = DropboxState.PENDING.value
        db.commit()
        return None
    members = _fileset(db, rules, row, now)
    if members is None:
        db.commit()  # waiting for companions
        return None
    for member in members:
        try:
            member.sha256 = sha256_of(rules.root / member.path)
        except FileNotFoundError:
            forget_vanished(db, member, "vanished")
            db.commit()
            return None
        except PermissionError:
            # Often a copy that is not finished yet, or permissions being fixed: try again
            # after another quiet period rather than fail for good.
            row.changed_at, row.state = now, DropboxState.PENDING.value
            row.message = f"cannot read {posixpath.basename(member.path)} (permission " \
                          "denied); trying again"
            db.commit()
            return None
    if (_imported_before(db, rules, row) if len(members) == 1
            else _fileset_moved(db, rules, members)):
        db.commit()
        return None
    return _start_import(db, rules, members)


def _fileset(db: Session, rules: Rules, row: DropboxFile, now: dt.datetime
             ) -> list[DropboxFile] | None:
    """The rows imported together with ``row`` (itself alone for most files), or None while
    companion files are missing or still changing."""
    try:
        names = companion_files(rules.root / row.path)
    except (EngineError, OSError):
        names = []  # not an image, or a broken one: the import will say why
    if not names:
        return [row]
    folder = posixpath.dirname(row.path)
    paths = [posixpath.join(folder, name) for name in names]
    rows = current_rows(db, paths)
    quiet_since = now - rules.quiet
    missing = [name for name, path in zip(names, paths, strict=True)
               if path not in rows or rows[path].state not in LIVE
               or rows[path].changed_at > quiet_since
               or stat_file(rules.root, path) is None]
    if missing:
        row.state, row.companions = DropboxState.WAITING.value, missing
        row.message = f"waiting for companion files: {', '.join(missing)}"
        return None
    return sorted([row, *rows.values()], key=lambda r: r.path)


def _imported_before(db: Session, rules: Rules, row: DropboxFile) -> bool:
    """Exactly once: the same path and checksum, or the same bytes moved here from a path
    that no longer exists, are not imported again; a changed file only if the settings say
    so. Records the outcome on the rows and returns True when no import is needed."""
    same = db.scalar(select(DropboxFile).where(
        DropboxFile.path == row.path, DropboxFile.sha256 == row.sha256,
        DropboxFile.state.in_(DONE_STATES), DropboxFile.id != row.id).limit(1))
    if same is not None:
        same.size, same.mtime_ns, same.current = row.size, row.mtime_ns, True
        db.delete(row)
        return True
    moved = _moved_from(db, rules, row, in_fileset=False)
    if moved is not None:
        _take_over(row, moved)
        return True
    if rules.settings.dropbox_reimport_changed:
        return False
    earlier = db.scalar(select(DropboxFile).where(
        DropboxFile.path == row.path, DropboxFile.id != row.id,
        DropboxFile.state == DropboxState.IMPORTED.value).order_by(DropboxFile.id.desc()))
    if earlier is None:
        return False
    row.state = DropboxState.CHANGED.value
    row.message = ("changed after it was imported; not imported again "
                   "(dropbox_reimport_changed imports new versions)")
    return True


def _moved_from(db: Session, rules: Rules, row: DropboxFile, in_fileset: bool
                ) -> DropboxFile | None:
    """An imported row of the same owner with the same bytes at a path that is gone now:
    the file ``row`` is that file, moved or renamed."""
    for earlier in db.scalars(select(DropboxFile).where(
            DropboxFile.owner_id == row.owner_id, DropboxFile.sha256 == row.sha256,
            DropboxFile.state == DropboxState.IMPORTED.value, DropboxFile.path != row.path,
            DropboxFile.current.is_(True),
            DropboxFile.fileset_head.is_not(None) if in_fileset
            else DropboxFile.fileset_head.is_(None)).order_by(DropboxFile.id).limit(20)):
        if stat_file(rules.root, earlier.path) is None:
            return earlier
    return None


def _take_over(row: DropboxFile, earlier: DropboxFile) -> None:
    row.state, row.job_id, row.image_ids = earlier.state, earlier.job_id, earlier.image_ids
    row.imported_at, row.group_id = earlier.imported_at, earlier.group_id
    row.message = f"moved from {earlier.path}; not imported again"
    earlier.current = False


def _fileset_moved(db: Session, rules: Rules, members: list[DropboxFile]) -> bool:
    """A multi-file fileset whose every file is an imported file of one earlier fileset,
    moved here (the old paths gone), is that fileset: recorded, not imported again."""
    earlier = [_moved_from(db, rules, member, in_fileset=True) for member in members]
    if any(e is None for e in earlier) or len({e.job_id for e in earlier if e}) != 1:
        return False
    for member, old in zip(members, earlier, strict=True):
        assert old is not None
        _take_over(member, old)
        member.fileset_head = members[0].path
    return True


def _start_import(db: Session, rules: Rules, members: list[DropboxFile]) -> int | None:
    head = members[0]  # sorted by path: the fileset's name, whatever order files came in
    settings = rules.settings
    ids = [m.id for m in members]
    try:
        where = destination(db, head.owner_id, head.path, settings.dropbox_default_dataset,
                            settings.dropbox_group)
    except Unplaceable as exc:
        db.rollback()
        _fail(db, ids, str(exc))
        return None
    folder = posixpath.dirname(where.name)
    declared = [FileDeclaration(
        posixpath.join(folder, posixpath.basename(m.path)), m.size, m.sha256,
        Path(os.path.join(rules.root, m.path))) for m in members]
    for member in members:
        member.state, member.group_id = DropboxState.IMPORTING.value, where.group_id
        member.companions, member.message, member.error = None, None, None
        member.fileset_head = head.path if len(members) > 1 else None
    limits = ImportLimits(settings.max_import_files, settings.max_upload_bytes)
    try:
        # Commits the rows' new state together with the job.
        job = create_import(db, where.actor, where.target, declared, DuplicatePolicy.IMPORT,
                            limits)
    except DomainError as exc:
        db.rollback()
        _fail(db, ids, f"cannot import into {where.target}: {exc}")
        return None
    for member in members:
        member.job_id = job.id
    db.commit()
    return job.id


def move_imported(root: Path, rows: list[DropboxFile]) -> None:
    """``dropbox_after_import = move``: imported files go to ``<user>/.imported/...`` (a
    hidden folder the watcher ignores), never overwriting anything there."""
    for row in rows:
        user, _, rest = row.path.partition("/")
        source = root / row.path
        target = root / user / ".imported" / rest
        n = 1
        while target.exists():
            target = target.with_name(f"{Path(rest).stem} ({n}){Path(rest).suffix}")
            n += 1
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.rename(source, target)
        except OSError as exc:
            log.warning("dropbox: could not move imported %s: %s", row.path, exc)
            continue
        row.message = f"moved to {user}/.imported/{target.relative_to(root / user / '.imported')}"
