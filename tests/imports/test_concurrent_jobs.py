"""Jobs in parallel threads on the embedded SQLite database, beside API writes."""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from omegraph.settings import load_settings
from resolvers.imports.requests import DuplicatePolicy, FileDeclaration, ImportLimits, create_import
from resolvers.jobs.queue import InProcessQueue
from resolvers.jobs.service import JobService
from resolvers.sessions import load_actor
from resolvers.unit import RequestDb
from store.db import create_db_engine, is_lock_conflict, session_factory, writer_factory
from store.migrate import upgrade
from store.models import Dataset, Job, Project
from tests.imports.conftest import write_tiff
from tests.world import World, gid


def test_parallel_imports_and_api_writes_on_sqlite_never_hit_a_locked_database(
        tmp_path: Path) -> None:
    settings = load_settings({}, data_dir=tmp_path / "data", run_jobs_in_server=False,
                             job_threads=2)
    engine = create_db_engine(settings.db_url)
    upgrade(engine)
    readers, writers = session_factory(engine), writer_factory(engine)
    with readers() as db:
        world = World(db)
        group = world.group("lab", "rw----")
        user = world.user("ann", group)
        target = gid(world.add(Dataset, user, group, name="d"))
        actor = load_actor(db, user)
    service = JobService(settings, writers, "threads")
    queue = service.queue
    assert isinstance(queue, InProcessQueue)
    queue.start()
    ids = []
    for n in range(12):
        write_tiff(tmp_path / f"f{n}.tif", (64, 64), seed=n)
        with writers() as db:  # as the CLI and the DropBox create imports
            job = create_import(db, actor, target, [FileDeclaration(
                f"f{n}.tif", (tmp_path / f"f{n}.tif").stat().st_size,
                source=tmp_path / f"f{n}.tif")], DuplicatePolicy.IMPORT, ImportLimits())
            ids.append(job.id)
        service.enqueue(job.id, "import")
    # And one import of several files, whose files and images are done on two threads.
    for n in range(12, 17):
        write_tiff(tmp_path / f"f{n}.tif", (48, 40), seed=n)
    with writers() as db:
        job = create_import(db, actor, target, [FileDeclaration(
            f"many/f{n}.tif", (tmp_path / f"f{n}.tif").stat().st_size,
            source=tmp_path / f"f{n}.tif") for n in range(12, 17)],
            DuplicatePolicy.IMPORT, ImportLimits())
        ids.append(job.id)
    service.enqueue(job.id, "import")

    # Meanwhile an API request reads, then writes: the pattern SQLite refuses outright when
    # a job commits in between; RequestDb runs it again.
    import asyncio

    def read_then_write(db, n: int) -> None:  # type: ignore[no-untyped-def]
        db.scalars(select(Job)).all()
        db.add(Project(name=f"p{n}", owner_id=user.id, group_id=group.id))
        db.commit()

    async def api_writes() -> None:
        unit = RequestDb(readers)
        try:
            for n in range(30):
                await unit.run(read_then_write, n)
        finally:
            await unit.close()

    writer = threading.Thread(target=asyncio.run, args=(api_writes(),))
    writer.start()
    queue.join()
    writer.join()
    queue.stop()
    with readers() as db:
        states = db.scalars(select(Job.state).where(Job.id.in_(ids))).all()
        assert sorted(states) == ["done"] * 13, [j.error for j in db.scalars(select(Job))]
        many = db.get(Job, ids[-1])
        assert many is not None and len(many.result["image_ids"]) == 5
        assert len(db.scalars(select(Project)).all()) == 30
    engine.dispose()


def test_lock_conflicts_are_recognised() -> None:
    locked = OperationalError("UPDATE job", {}, Exception("database is locked"))
    assert is_lock_conflict(locked)
    assert not is_lock_conflict(OperationalError("x", {}, Exception("disk I/O error")))
    assert not is_lock_conflict(ValueError("database is locked"))
