"""``omegraph admin``: maintenance commands for administrators on the server machine."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from omegraph.cli import CliError
from omegraph.settings import Settings
from resolvers.ids import format_id
from resolvers.jobs.runner import run_job
from resolvers.jobs.service import JobService
from store.db import create_db_engine, writer_factory
from store.jobs import Job, JobState
from store.migrate import check_migrated
from store.models import Image

KIND = "rebuild_pixels"


def parse_image_id(text: str) -> int:
    """``Image:N`` or plain ``N``."""
    number = text.removeprefix("Image:")
    if not (number.isascii() and number.isdigit()) or int(number) <= 0:
        raise CliError(f"{text!r} is not an image id like Image:12")
    return int(number)


def rebuild_pixels(settings: Settings, images: list[str], every: bool, queue: bool) -> int:
    """Rebuild statistics, thumbnails and pyramids of images from their originals: each as a
    ``rebuild_pixels`` job, run here or (``queue``) by the workers. 1 if any failed."""
    if bool(images) == every:
        raise CliError("name the images to rebuild, or --all")
    if queue and not settings.redis_url:
        raise CliError("--queue needs OMEGRAPH_REDIS_URL (the workers' queue); "
                       "without Redis run the rebuild here, without --queue")
    ids = [parse_image_id(text) for text in images]
    engine = create_db_engine(settings.db_url)
    try:
        check_migrated(engine)
        factory = writer_factory(engine)
        service = JobService(settings, factory, "rq" if queue else "inline")
        with factory() as db:
            if every:
                ids = list(db.scalars(select(Image.id).order_by(Image.id)))
            jobs = [(image_id, _job_for(db, image_id)) for image_id in ids]
        failed = 0
        for image_id, job_id in jobs:
            line, ok = _perform(service, image_id, job_id, queue)
            print(line, flush=True)
            failed += not ok
    finally:
        engine.dispose()
    return 1 if failed else 0


def _job_for(db: Session, image_id: int) -> int | None:
    """A queued rebuild job for the image, owned as the image is; None if there is none."""
    image = db.get(Image, image_id)
    if image is None:
        return None
    job = Job(job_kind=KIND, owner_id=image.owner_id, group_id=image.group_id,
              state=JobState.QUEUED.value, progress=0.0, params={"image_id": image_id})
    db.add(job)
    db.commit()
    return job.id


def _perform(service: JobService, image_id: int, job_id: int | None,
             queue: bool) -> tuple[str, bool]:
    """Run or enqueue one job: the line to print and whether it went well."""
    name = format_id("Image", image_id)
    if job_id is None:
        return f"{name}: not found", False
    job_name = format_id("Job", job_id)
    if queue:
        service.enqueue(job_id, KIND)
        return f"{name}: queued as {job_name}", True
    run_job(service.env, job_id)
    with service.factory() as db:
        job = db.get(Job, job_id)
        assert job is not None
        if job.state != JobState.DONE.value:
            return f"{name}: {job.state}: {job.error or job.message or 'no reason given'}", False
        pyramid = " and pyramid" if (job.result or {}).get("pyramid") else ""
        return f"{name}: rebuilt statistics, thumbnail{pyramid} ({job_name})", True
