"""The import job: originals into the repository, metadata into rows, then derived pixels.

Steps (``Job.step``): uploading (store originals, checksums, duplicates) -> parsing (the
engine reads the files) -> rows committed in one transaction -> pixels (statistics,
pyramid decision) -> thumbnails. Until the job is done, any failure undoes everything of
this import: rows, originals, derived files. A retried job (after a crash) first undoes what
the interrupted attempt left, unless that attempt had already committed its rows; then it
resumes at the pixel steps, which are idempotent.
"""

from __future__ import annotations

import errno
import logging
import mimetypes
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import CorruptFile, ImageTooLarge, UnsupportedFormat
from engine.metadata import ImageMetadata, PlateInfo
from engine.readers import open_fileset
from resolvers.actor import Actor
from resolvers.imports import derive, undo
from resolvers.imports.parallel import in_parallel
from resolvers.imports.plates import add_plates, plate_series
from resolvers.imports.requests import DuplicatePolicy
from resolvers.imports.rows import Owner, add_image, image_name
from resolvers.jobs.runner import JobCancelled, JobFailed, JobRun, LeaseLost
from resolvers.permissions import Action, can, read_filter
from resolvers.sessions import load_actor
from store.accounts import Experimenter
from store.base import Owned
from store.containers import Dataset, Fileset, Screen
from store.imports import ImportFile, ImportFileState
from store.pixels import OriginalFile, PyramidState
from store.repository import StoredFile, TooLarge, UnsafePath
from store.repository.staging import Staging

log = logging.getLogger("omegraph.imports")
ENGINE_ERRORS = (CorruptFile, UnsupportedFormat, ImageTooLarge)
CHUNK = 1 << 20


@dataclass(frozen=True)
class Prepared:
    dataset_id: int | None  # the target: a dataset for images,
    screen_id: int | None  # or a screen for the plates of screening files
    owner: Owner
    actor: Actor
    fileset_id: int
    fileset_dir: PurePosixPath
    slots: list[ImportFile]


@dataclass(frozen=True)
class Parsed:
    images: list[ImageMetadata]
    origins: list[int]  # index into the stored files of the file naming each image
    plates: list[PlateInfo]


@dataclass(frozen=True)
class Stored:
    slot: ImportFile
    name: str  # the client's file name, without folders
    file: StoredFile


def run_import(run: JobRun) -> dict[str, Any]:
    previous = undo.recorded(run)
    if previous.get("committed"):
        result = previous
    else:
        if previous:  # an interrupted attempt left something behind
            undo.undo_import(run.env, run.job_id, previous)
        result = _guarded(run, lambda: _store_and_parse(run))
    _guarded(run, lambda: derive.derive_images(run, list(result["image_ids"])))
    Staging(run.env.repository.root).remove(run.job_id)
    for image_id in result.get("pyramids", []):
        derive.enqueue_pyramid(run, image_id)
    return result


def _guarded(run: JobRun, step: Any) -> Any:
    """Run ``step``; on any failure but a lost lease, undo the import and report why."""
    try:
        return step()
    except LeaseLost:
        raise  # the job is another worker's now: touch nothing
    except BaseException as exc:
        undo.undo_import(run.env, run.job_id, undo.recorded(run))
        if isinstance(exc, JobCancelled | JobFailed):
            raise
        if isinstance(exc, ENGINE_ERRORS):
            raise JobFailed(str(exc)) from exc
        if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
            raise JobFailed("the repository's disk is full") from exc
        raise


def _store_and_parse(run: JobRun) -> dict[str, Any]:
    prepared = _prepare(run)
    run.progress("uploading", 0.02)
    stored = _store_files(run, prepared)
    if not stored:
        undo.undo_import(run.env, run.job_id, undo.recorded(run))
        return {"image_ids": [], "duplicates": _duplicates(run), "committed": True,
                "message": "every file was imported before; nothing new to import"}
    run.progress("parsing", 0.3)
    parsed = _parse(run, stored)
    if prepared.screen_id is not None and not parsed.plates:
        raise JobFailed("these files hold no plate (no OME Plate metadata); import them into "
                        "a dataset instead of a screen")
    run.progress("parsing", 0.4)
    return _commit_rows(run, prepared, stored, parsed)


def _prepare(run: JobRun) -> Prepared:
    """Check the target again (permissions may have changed) and record the fileset first,
    so that an interrupted attempt can always be undone."""
    env = run.env
    with env.factory() as db:
        user = db.get(Experimenter, run.owner_id)
        kind = "Dataset" if "dataset_id" in run.params else "Screen"
        target: Owned | None = db.get(Dataset if kind == "Dataset" else Screen,  # type: ignore[assignment]
                                      int(str(run.params[f"{kind.lower()}_id"])))
        if user is None or target is None:
            raise JobFailed(f"the target {kind.lower()} or its importer is gone")
        actor = load_actor(db, user)
        if not can(actor, Action.LINK, target.owner_id, target.group_id):
            raise JobFailed(f"you may no longer import into the target {kind.lower()}")
        owner = Owner(user.id, target.group_id)
        fileset = Fileset(owner_id=owner.user_id, group_id=owner.group_id)
        db.add(fileset)
        db.flush()
        fileset_dir = env.repository.fileset_dir(user.username, user.id, fileset.id,
                                                 fileset.created, env.settings.path_template)
        fileset.template_prefix = str(fileset_dir)
        undo.record(db, run.job_id, {"fileset_id": fileset.id, "fileset_dir": str(fileset_dir)})
        slots = list(db.scalars(select(ImportFile).where(ImportFile.job_id == run.job_id)
                                .order_by(ImportFile.index)))
        db.expunge_all()
    dataset_id, screen_id = (target.id, None) if kind == "Dataset" else (None, target.id)
    return Prepared(dataset_id, screen_id, owner, actor, fileset.id, fileset_dir, slots)


def _store_files(run: JobRun, prepared: Prepared) -> list[Stored]:
    """Every file into the repository, a few at a time (copying waits on the disk while
    hashing keeps a core busy); duplicates dropped by the policy."""
    staging = Staging(run.env.repository.root)
    policy = DuplicatePolicy(str(run.params.get("duplicates", "skip")))
    todo = [slot for slot in prepared.slots if slot.state != ImportFileState.DUPLICATE.value]
    total = sum(slot.size for slot in todo) or 1

    def store(slot: ImportFile) -> Stored | None:
        client = PurePosixPath(slot.path)
        rel_dir = prepared.fileset_dir.joinpath(*client.parts[:-1])
        file = _store_one(run, staging, slot, rel_dir, client.name)
        if policy is DuplicatePolicy.SKIP and _mark_if_duplicate(run, slot, file, prepared):
            (run.env.repository.root / file.path).unlink()
            return None
        return Stored(slot, client.name, file)

    stored, done = [], 0
    for slot, item in in_parallel(store, todo, run.env.settings.job_threads):
        if item is not None:
            stored.append(item)
        done += slot.size
        run.progress("uploading", 0.02 + 0.28 * done / total)
    return stored


def _store_one(run: JobRun, staging: Staging, slot: ImportFile, rel_dir: PurePosixPath,
               name: str) -> StoredFile:
    repository = run.env.repository
    try:
        if slot.source is not None:
            file = repository.copy_file(rel_dir, name, Path(slot.source), slot.size)
        else:
            file = repository.adopt(rel_dir, name, staging.path(run.job_id, slot.index),
                                    slot.size)
    except FileNotFoundError as exc:
        raise JobFailed(f"{slot.path}: the file vanished before it was stored") from exc
    except (TooLarge, UnsafePath) as exc:
        raise JobFailed(f"{slot.path}: {exc}") from exc
    if file.size != slot.size:
        (repository.root / file.path).unlink()
        raise JobFailed(f"{slot.path}: {file.size} bytes arrived, {slot.size} were declared "
                        "(the file changed or was cut short)")
    if slot.sha256 is not None and slot.sha256 != file.sha256:
        (repository.root / file.path).unlink()
        raise JobFailed(f"{slot.path}: the bytes received do not match the declared sha256")
    return file


def _mark_if_duplicate(run: JobRun, slot: ImportFile, file: StoredFile,
                       prepared: Prepared) -> bool:
    """Whether the same bytes were imported before into this group (and are visible to the
    user); if so the slot is marked with the earlier original file."""
    with run.env.factory() as db:
        earlier = db.scalar(
            select(OriginalFile.id)
            .where(OriginalFile.sha256 == file.sha256,
                   OriginalFile.group_id == prepared.owner.group_id,
                   OriginalFile.fileset_id != prepared.fileset_id,
                   read_filter(OriginalFile, prepared.actor))
            .order_by(OriginalFile.id).limit(1))
        if earlier is None:
            return False
        row = db.get(ImportFile, slot.id)
        assert row is not None
        row.state, row.original_file_id, row.sha256 = (
            ImportFileState.DUPLICATE.value, earlier, file.sha256)
        db.commit()
    return True


def _duplicates(run: JobRun) -> list[dict[str, Any]]:
    with run.env.factory() as db:
        rows = db.execute(select(ImportFile.path, ImportFile.original_file_id).where(
            ImportFile.job_id == run.job_id,
            ImportFile.state == ImportFileState.DUPLICATE.value).order_by(ImportFile.index))
        return [{"path": path, "original_file_id": ofid} for path, ofid in rows]


def _parse(run: JobRun, stored: list[Stored]) -> Parsed:
    paths = [run.env.repository.root / item.file.path for item in stored]
    source = open_fileset(paths, derive.reader_limits(run.env.settings))
    try:
        images = list(source.images)
        position = {path: index for index, path in enumerate(paths)}
        return Parsed(images, [position[source.file_of(n)] for n in range(len(images))],
                      source.plates)
    finally:
        source.close()


def _commit_rows(run: JobRun, prepared: Prepared, stored: list[Stored],
                 parsed: Parsed) -> dict[str, Any]:
    """Everything the user will see, in one transaction with the job's record of it."""
    owner, origins = prepared.owner, parsed.origins
    in_plates = plate_series(parsed.plates)
    with run.env.factory() as db:
        files = [_original_file(db, prepared, item) for item in stored]
        series_in_file = {origin: origins.count(origin) for origin in set(origins)}
        image_ids, pyramids = [], []
        for series, (meta, origin) in enumerate(zip(parsed.images, origins, strict=True)):
            name = image_name(stored[origin].name, meta, series_in_file[origin])
            pyramid = derive.pyramid_state_for(meta, run.env.settings)
            dataset_id = None if series in in_plates else prepared.dataset_id
            image = add_image(db, owner, meta, name, prepared.fileset_id, series, dataset_id,
                              pyramid)
            image_ids.append(image.id)
            if pyramid is PyramidState.PENDING:
                pyramids.append(image.id)
        plate_ids = add_plates(db, owner, parsed.plates, image_ids, prepared.screen_id,
                               stored[0].name)
        result = {"fileset_id": prepared.fileset_id, "fileset_dir": str(prepared.fileset_dir),
                  "image_ids": image_ids, "plate_ids": plate_ids, "pyramids": pyramids,
                  "committed": True, "original_file_ids": [row.id for row in files]}
        undo.record(db, run.job_id, result)  # commits
    result["duplicates"] = _duplicates(run)
    run.progress("pixels", 0.5)
    return result


def _original_file(db: Session, prepared: Prepared, item: Stored) -> OriginalFile:
    owner = prepared.owner
    row = OriginalFile(fileset_id=prepared.fileset_id, name=item.name[:255],
                       path=str(item.file.path), size=item.file.size, sha256=item.file.sha256,
                       mimetype=mimetypes.guess_type(item.name)[0] or "application/octet-stream",
                       owner_id=owner.user_id, group_id=owner.group_id)
    db.add(row)
    db.flush()
    slot = db.get(ImportFile, item.slot.id)
    assert slot is not None
    slot.state, slot.original_file_id, slot.sha256 = (
        ImportFileState.STORED.value, row.id, item.file.sha256)
    return row
