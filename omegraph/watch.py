"""``omegraph watch``: the DropBox watcher as its own process, and its start inside
``omegraph serve``. Imports run on this process's job threads, or on RQ workers with Redis."""

from __future__ import annotations

import dataclasses
import logging
import signal
import threading

from sqlalchemy.orm import Session, sessionmaker

from omegraph.settings import Settings
from resolvers.jobs.service import JobService
from store.db import create_db_engine, writer_factory
from store.migrate import check_migrated
from watcher.loop import Watcher

log = logging.getLogger("omegraph.watcher")


def start_watcher(settings: Settings, factory: sessionmaker[Session], jobs: JobService
                  ) -> Watcher | None:
    """The watcher of ``omegraph serve``, when ``watch_in_server`` and jobs run somewhere
    (threads here, or RQ workers); None otherwise. With several server processes one
    watches and the others stand by."""
    runs_jobs = bool(settings.redis_url) or settings.run_jobs_in_server
    if not settings.watch_in_server or jobs.mode == "inline" or not runs_jobs:
        return None
    watcher = Watcher(settings, factory, jobs.enqueue)
    watcher.start()
    return watcher


def run_watch(settings: Settings, poll: bool = False) -> int:
    """Watch until SIGINT or SIGTERM."""
    if poll:
        settings = dataclasses.replace(settings, dropbox_poll=True)
    engine = create_db_engine(settings.db_url)
    stop = threading.Event()
    try:
        check_migrated(engine)
        factory = writer_factory(engine)
        jobs = JobService.for_server(settings, factory)
        jobs.start()
        watcher = Watcher(settings, factory, jobs.enqueue)
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        watcher.start()
        stop.wait()
        log.info("dropbox: stopping")
        watcher.stop()
        jobs.stop()
    finally:
        engine.dispose()
    return 0
