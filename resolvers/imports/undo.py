"""What an import has made so far, recorded on its job, and how to take it all back."""

from __future__ import annotations

import contextlib
import logging
import shutil
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from resolvers.jobs.runner import JobEnv, JobRun
from store.containers import Fileset, Image, Plate
from store.imports import ImportFile, ImportFileState
from store.jobs import Job

log = logging.getLogger("omegraph.imports")


def recorded(run: JobRun) -> dict[str, Any]:
    with run.env.factory() as db:
        job = db.get(Job, run.job_id)
        return dict(job.result or {}) if job is not None else {}


def record(db: Session, job_id: int, values: dict[str, Any]) -> None:
    """Merge ``values`` into the job's result and commit with whatever ``db`` holds."""
    job = db.get(Job, job_id)
    assert job is not None
    job.result = {**(job.result or {}), **values}
    db.commit()


def undo_import(env: JobEnv, job_id: int, made: dict[str, Any]) -> None:
    """Delete the rows, originals and derived files an import made; safe to repeat.

    Rows first, in one transaction: if the database is unreachable the files stay and the
    record stays, so a later retry (or the reaper's) still knows what to remove.
    """
    fileset_id = made.get("fileset_id")
    with env.factory() as db:
        image_ids = set(made.get("image_ids") or ())
        if fileset_id is not None:
            image_ids |= set(db.scalars(select(Image.id).where(Image.fileset_id == fileset_id)))
            db.execute(delete(Image).where(Image.id.in_(image_ids)))
            db.execute(delete(Fileset).where(Fileset.id == fileset_id))
        if made.get("plate_ids"):  # wells, samples and screen links go with them
            db.execute(delete(Plate).where(Plate.id.in_(made["plate_ids"])))
        db.execute(update(ImportFile).where(ImportFile.job_id == job_id,
                                            ImportFile.state == ImportFileState.STORED.value)
                   .values(state=ImportFileState.RECEIVED.value, original_file_id=None))
        job = db.get(Job, job_id)
        if job is not None:
            job.result = None
        db.commit()
    for image_id in image_ids:
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(env.repository.derived_dir(image_id))
    if made.get("fileset_dir"):
        env.repository.remove_fileset(made["fileset_dir"])
