"""Derived pixels of stored images: channel statistics, thumbnails, pyramids.

All of it can be rebuilt from the originals at any time (``omegraph admin rebuild-pixels``):
derived files are written under a temporary name and renamed, rows updated in place.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.metadata import ImageMetadata
from engine.pyramid import build_pyramid, has_cheap_random_access
from engine.readers import ImageSource, Limits
from engine.scan import scan_channel
from engine.thumbnail import encode_png, overview_side, render_thumbnail
from omegraph.settings import Settings
from resolvers.imports.parallel import in_parallel
from resolvers.imports.source import SourceCache, open_image
from resolvers.jobs.runner import JobFailed, JobRun
from store.base import utcnow
from store.containers import Image
from store.jobs import Job, JobState
from store.pixels import Channel, Pixels, PyramidState
from store.repository import Repository

PYRAMID_FILE = "pyramid.ome.tif"


def reader_limits(settings: Settings) -> Limits:
    return Limits(max_image_pixels=settings.max_image_pixels)


def pyramid_state_for(meta: ImageMetadata, settings: Settings) -> PyramidState:
    """PENDING when the image needs a pyramid the file does not have."""
    if has_cheap_random_access(meta, settings.pyramid_threshold):
        return PyramidState.NONE
    return PyramidState.PENDING


def thumbnail_name(size: int) -> str:
    return f"thumbnail-{size}.png"


def derive_images(run: JobRun, image_ids: list[int]) -> None:
    """Statistics and thumbnail of each image, reporting progress from 0.5 to 1."""
    count = len(image_ids) or 1
    sources = SourceCache(run.env.repository, reader_limits(run.env.settings))

    def derive(image_id: int) -> None:
        with run.env.factory() as db:
            derive_image(db, run.env.repository, run.env.settings, image_id, stats=True,
                         sources=sources)

    try:
        run.progress("pixels", 0.5)
        for number, _ in enumerate(in_parallel(derive, image_ids,
                                               run.env.settings.job_threads)):
            run.progress("thumbnails", 0.5 + 0.5 * (number + 1) / count)
    finally:
        sources.close()


def derive_image(db: Session, repository: Repository, settings: Settings, image_id: int, *,
                 stats: bool,
                 sources: SourceCache | None = None) -> None:
    """(Re)compute an image's channel statistics (if ``stats``) and its thumbnail; committed.
    ``sources`` shares opened files between the images of one job."""
    image = db.get(Image, image_id)
    pixels = db.scalar(select(Pixels).where(Pixels.image_id == image_id))
    if image is None or pixels is None:
        raise JobFailed(f"image {image_id} is gone")
    cache = sources or SourceCache(repository, reader_limits(settings))
    source, series = cache.get(db, image)
    try:
        channels = list(db.scalars(select(Channel).where(Channel.pixels_id == pixels.id)
                                   .order_by(Channel.index)))
        # End the transaction before the pixel work: jobs begin IMMEDIATE on SQLite, and a
        # transaction held open while pixels are read would hold every other job's writes.
        db.commit()
        size = settings.thumbnail_size
        overviews = None
        if stats or any(ch.stats_low is None for ch in channels):
            # One read of each sampled plane gives both the statistics and the
            # thumbnail's overview (engine.scan), instead of reading the pixels twice.
            scans = [scan_channel(source, series, ch.index, max_side=overview_side(size))
                     for ch in channels]
            for channel, scan in zip(channels, scans, strict=True):
                found = scan.stats
                channel.stats_min, channel.stats_max = found.min, found.max
                channel.stats_low, channel.stats_high = found.low, found.high
            overviews = [scan.overview for scan in scans]
        db.commit()
        windows = [(ch.stats_low or 0.0, ch.stats_high or 0.0) for ch in channels]
        rgb = render_thumbnail(source, series, size=size, windows=windows,
                               overviews=overviews)
    finally:
        if sources is None:
            cache.close()
    directory = repository.derived_dir(image_id, create=True)
    name = thumbnail_name(settings.thumbnail_size)
    write_atomic(directory / name, encode_png(rgb))
    pixels.thumbnail_path = str((directory / name).relative_to(repository.root))
    db.commit()


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same directory and a rename."""
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise


def enqueue_pyramid(run: JobRun, image_id: int) -> int | None:
    """Queue a pyramid build for ``image_id`` as its own job (the image is usable before)."""
    with run.env.factory() as db:
        pending = db.scalar(select(Job.id).where(
            Job.job_kind == "pyramid", Job.state.in_(("queued", "running")),
            Job.params["image_id"].as_integer() == image_id))
        built = db.scalar(select(Pixels.pyramid_state).where(Pixels.image_id == image_id))
        if pending is not None or built == PyramidState.READY.value:
            return pending  # a retried import asked already, or it is built

        job = Job(job_kind="pyramid", owner_id=run.owner_id, group_id=run.group_id,
                  state=JobState.QUEUED.value, progress=0.0, params={"image_id": image_id})
        db.add(job)
        db.commit()
        job_id = job.id
    run.env.enqueue(job_id, "pyramid")
    return job_id


def run_pixels_job(run: JobRun) -> dict[str, Any]:
    """``pyramid``: build an image's pyramid. ``rebuild_pixels``: statistics, thumbnail and
    (when needed) pyramid again from the originals."""
    image_id = int(str(run.params["image_id"]))
    env = run.env
    rebuild = run.kind == "rebuild_pixels"
    with env.factory() as db:
        image = db.get(Image, image_id)
        pixels = db.scalar(select(Pixels).where(Pixels.image_id == image_id))
        if image is None or pixels is None:
            raise JobFailed(f"image {image_id} is gone")
        if rebuild:
            run.progress("pixels", 0.05)
            pixels.pyramid_state = PyramidState.NONE.value  # read the originals from now on
            db.commit()
            derive_image(db, env.repository, env.settings, image_id, stats=True)
        source, series = open_image(db, env.repository, image, reader_limits(env.settings),
                                    originals=True)
        try:
            meta = source.images[series]
            if has_cheap_random_access(meta, env.settings.pyramid_threshold):
                pixels.pyramid_state, pixels.pyramid_path = PyramidState.NONE.value, None
                db.commit()
                return {"image_id": image_id, "pyramid": False}
            pixels.pyramid_state = PyramidState.PENDING.value
            db.commit()
            return _build(run, db, pixels, source, series)
        finally:
            source.close()


def _build(run: JobRun, db: Session, pixels: Pixels, source: ImageSource,
           series: int) -> dict[str, Any]:
    env = run.env
    directory = env.repository.derived_dir(pixels.image_id, create=True)
    try:
        info = build_pyramid(source, series, directory / PYRAMID_FILE,
                             progress=lambda fraction: run.progress("pixels", fraction))
    except BaseException:
        pixels.pyramid_state = PyramidState.FAILED.value
        db.commit()
        raise
    pixels.pyramid_state = PyramidState.READY.value
    pixels.pyramid_path = str((directory / PYRAMID_FILE).relative_to(env.repository.root))
    pixels.levels = [list(level) for level in info.levels]
    pixels.updated = utcnow()
    db.commit()
    return {"image_id": pixels.image_id, "pyramid": True, "levels": pixels.levels}
