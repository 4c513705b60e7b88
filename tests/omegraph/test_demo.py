"""The demo: generated images go through the real import pipeline."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from omegraph.bootstrap import ensure_demo
from omegraph.demo import queue_demo_import
from omegraph.settings import load_settings
from resolvers.jobs.service import JobService
from store.db import create_db_engine, session_factory
from store.migrate import upgrade
from store.models import Channel, Image, Job, Pixels


def test_the_demo_imports_multichannel_images_and_builds_a_pyramid(tmp_path: Path) -> None:
    settings = load_settings({}, data_dir=tmp_path, run_jobs_in_server=False)
    engine = create_db_engine(settings.db_url)
    upgrade(engine)
    factory = session_factory(engine)
    with factory() as db:
        ensure_demo(db)
        job = queue_demo_import(db, settings.data_dir)
        assert job is not None and job.state == "queued"
        assert queue_demo_import(db, settings.data_dir) is None  # once only
    service = JobService(settings, factory, "inline")
    assert service.recover() == 1  # what the server does at start
    with factory() as db:
        job = db.get(Job, job.id)
        assert job is not None
        assert job.state == "done", job.error
        images = {i.name: i for i in db.scalars(select(Image))}
        assert set(images) == {"cells-zstack.ome.tif", "tissue-large.ome.tif",
                               "timelapse.tif", "brightfield.png"}
        pixels = {p.image_id: p for p in db.scalars(select(Pixels))}
        cells = pixels[images["cells-zstack.ome.tif"].id]
        assert (cells.size_c, cells.size_z, cells.physical_size_x) == (3, 5, 0.325)
        names = db.scalars(select(Channel.name).where(Channel.pixels_id == cells.id)
                           .order_by(Channel.index)).all()
        assert names == ["DAPI", "GFP", "mCherry"]
        large = pixels[images["tissue-large.ome.tif"].id]
        assert large.pyramid_state == "ready" and len(large.levels) >= 4
        assert pixels[images["timelapse.tif"].id].size_t == 8
        assert all(p.thumbnail_path and (settings.repository_dir / p.thumbnail_path).is_file()
                   for p in pixels.values())
    engine.dispose()
