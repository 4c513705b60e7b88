"""A real dropbox: a temporary folder, a database file (or a scratch PostgreSQL database),
the real watcher thread and in-process job threads. Nothing is mocked."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from omegraph.settings import Settings, load_settings
from resolvers.jobs.service import JobService
from store.db import session_factory, writer_factory
from store.models import DropboxFile, Experimenter, ExperimenterGroup, GroupMembership
from tests.services import migrated_engine, postgres_database, sqlite_url
from watcher.loop import Watcher

QUIET = 0.3


def wait_for(check: Callable[[], Any], timeout: float = 30.0, what: str = "") -> Any:
    """Poll ``check`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        time.sleep(0.05)


class Box:
    """The dropbox of one test, its database and its running watcher."""

    def __init__(self, engine: Engine, tmp_path: Path, **overrides: Any) -> None:
        self.engine = engine
        self.tmp_path = tmp_path
        self.settings: Settings = load_settings(
            {}, data_dir=tmp_path / "data", dropbox_dir=tmp_path / "dropbox",
            run_jobs_in_server=False, job_threads=2, dropbox_quiet_seconds=QUIET,
            dropbox_rescan_seconds=3600, **overrides)
        self.root = self.settings.dropbox_dir
        self.root.mkdir(parents=True, exist_ok=True)
        self.readers: sessionmaker[Session] = session_factory(engine)
        self.writers = writer_factory(engine)
        self.jobs: JobService | None = None
        self.watcher: Watcher | None = None

    def user(self, name: str, *groups: str, admin: bool = False) -> int:
        with self.writers() as db:
            ids = []
            for group in groups:
                found = db.scalar(select(ExperimenterGroup).where(
                    ExperimenterGroup.name == group))
                if found is None:
                    found = ExperimenterGroup(name=group, permissions="rw----")
                    db.add(found)
                    db.flush()
                ids.append(found.id)
            user = Experimenter(username=name, default_group_id=ids[0] if ids else None,
                                is_admin=admin)
            db.add(user)
            db.flush()
            for pk in ids:
                db.add(GroupMembership(experimenter_id=user.id, group_id=pk))
            db.commit()
            return user.id

    def start(self) -> Watcher:
        self.jobs = JobService(self.settings, self.writers, "threads")
        self.jobs.start()
        self.watcher = Watcher(self.settings, self.writers, self.jobs.enqueue)
        self.watcher.start()
        wait_for(self.watcher.ready.is_set, what="the start-up scan")
        return self.watcher

    def stop(self) -> None:
        if self.watcher is not None:
            self.watcher.stop()
            self.watcher = None
        if self.jobs is not None:
            self.jobs.stop()
            self.jobs = None

    def rows(self, path: str | None = None) -> list[DropboxFile]:
        with self.readers() as db:
            query = select(DropboxFile).order_by(DropboxFile.id)
            if path is not None:
                query = query.where(DropboxFile.path == path)
            return list(db.scalars(query))

    def current(self, path: str) -> DropboxFile | None:
        return next((r for r in self.rows(path) if r.current), None)

    def wait_state(self, path: str, state: str, timeout: float = 30.0) -> DropboxFile:
        def check() -> DropboxFile | None:
            row = self.current(path)
            return row if row is not None and row.state == state else None
        return wait_for(check, timeout, f"{path} to be {state}")  # type: ignore[no-any-return]

    def settled(self, count: int, timeout: float = 60.0) -> list[DropboxFile]:
        """Wait until ``count`` current rows exist and none is pending or importing."""
        def check() -> list[DropboxFile] | None:
            rows = [r for r in self.rows() if r.current]
            live = {"pending", "waiting", "importing"}
            if len(rows) >= count and not any(r.state in live for r in rows):
                return rows
            return None
        try:
            return wait_for(check, timeout, f"{count} files to settle")  # type: ignore[no-any-return]
        except AssertionError as exc:
            states = [(r.path, r.state, r.current, r.error, r.message) for r in self.rows()]
            raise AssertionError(f"{exc}: {states}") from None


@pytest.fixture(params=["sqlite"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def box(backend: str, tmp_path: Path) -> Iterator[Box]:
    with ExitStack() as stack:
        if backend == "sqlite":
            url = sqlite_url(tmp_path / "db")
            (tmp_path / "db").mkdir()
        else:
            url = stack.enter_context(postgres_database())
        engine = migrated_engine(url)
        stack.callback(engine.dispose)
        made = Box(engine, tmp_path, **({} if backend == "sqlite" else {"database_url": url}))
        stack.callback(made.stop)
        yield made
