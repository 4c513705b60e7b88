"""``omegraph worker`` against the real Redis: jobs queued on RQ run in a forked work horse
on a real SQLite file database, and jobs whose worker died are recovered at start."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import tifffile
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy import select
from sqlalchemy.orm import Session

from omegraph import cli
from omegraph.bootstrap import ensure_root
from omegraph.settings import Settings, load_settings
from resolvers.containers import create_container
from resolvers.imports.requests import (
    DuplicatePolicy,
    FileDeclaration,
    ImportLimits,
    create_import,
)
from resolvers.jobs.queue import RqQueue
from resolvers.sessions import load_actor
from store.base import utcnow
from store.db import create_db_engine, session_factory
from store.jobs import Job, JobState
from store.migrate import upgrade
from store.models import Experimenter, Image
from tests.services import service_missing

REDIS_URL = os.environ.get("OMEGRAPH_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
def redis_url() -> Iterator[str]:
    """A dedicated Redis database, flushed before and after the test."""
    connection = Redis.from_url(REDIS_URL)
    try:
        connection.ping()
    except RedisConnectionError as exc:
        connection.close()
        service_missing(f"Redis at {REDIS_URL}", exc)
    connection.flushdb()
    yield REDIS_URL
    connection.flushdb()
    connection.close()


@pytest.fixture
def settings(tmp_path: Path, redis_url: str) -> Settings:
    return load_settings({}, data_dir=tmp_path / "data", redis_url=redis_url)


@pytest.fixture
def db(settings: Settings) -> Iterator[Session]:
    engine = create_db_engine(settings.db_url)
    upgrade(engine)
    with session_factory(engine)() as session:
        ensure_root(session, "root-password-123")
        yield session
    engine.dispose()


def omegraph(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OMEGRAPH_DATA_DIR": str(settings.data_dir),
           "OMEGRAPH_REDIS_URL": str(settings.redis_url)}
    env.pop("OMEGRAPH_DATABASE_URL", None)
    return subprocess.run([sys.executable, "-m", "omegraph.cli", *args], env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def import_job(db: Session, files: list[Path]) -> int:
    """An import of files already on this machine, queued but not delivered anywhere."""
    root = db.scalar(select(Experimenter).where(Experimenter.username == "root"))
    assert root is not None
    actor = load_actor(db, root)
    dataset = create_container(db, actor, "Dataset", "worker test", None, None)
    declared = [FileDeclaration(path.name, path.stat().st_size, source=path) for path in files]
    job = create_import(db, actor, f"Dataset:{dataset.id}", declared, DuplicatePolicy.IMPORT,
                        ImportLimits())
    assert job.state == JobState.QUEUED.value
    return job.id


def write_tiff(path: Path, shape: tuple[int, ...], seed: int) -> Path:
    data = np.random.default_rng(seed).integers(0, 4000, shape).astype("uint16")
    tifffile.imwrite(path, data, photometric="minisblack")
    return path


def test_a_burst_worker_runs_queued_and_interrupted_imports(
        settings: Settings, db: Session, tmp_path: Path) -> None:
    queued = import_job(db, [write_tiff(tmp_path / "a.tif", (2, 40, 30), seed=1),
                             write_tiff(tmp_path / "b.tif", (20, 20), seed=2)])
    RqQueue(str(settings.redis_url)).enqueue(queued, "import")
    # A job whose worker died mid-run: not on Redis, its lease run out. The worker's start
    # finds it and queues it again.
    interrupted = import_job(db, [write_tiff(tmp_path / "c.tif", (16, 24), seed=3)])
    job = db.get(Job, interrupted)
    assert job is not None
    job.state, job.worker, job.attempts = JobState.RUNNING.value, "gone:1", 1
    job.lease_until = utcnow() - dt.timedelta(minutes=5)
    db.commit()

    result = omegraph(settings, "worker", "--burst")
    assert result.returncode == 0, result.stderr

    db.expire_all()
    for job_id, count in ((queued, 2), (interrupted, 1)):
        done = db.get(Job, job_id)
        assert done is not None and done.state == JobState.DONE.value, (done and done.error,
                                                                       result.stderr)
        image_ids = (done.result or {})["image_ids"]
        assert len(image_ids) == count
        assert all(db.get(Image, image_id) is not None for image_id in image_ids)


def test_the_worker_needs_redis_and_known_queues(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OMEGRAPH_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("OMEGRAPH_REDIS_URL", raising=False)
    assert cli.main(["worker", "--burst"]) == 1
    assert "needs Redis: set OMEGRAPH_REDIS_URL" in capsys.readouterr().err
    monkeypatch.setenv("OMEGRAPH_REDIS_URL", REDIS_URL)
    assert cli.main(["worker", "--queues", "imports,videos"]) == 1
    assert "unknown queue videos" in capsys.readouterr().err
