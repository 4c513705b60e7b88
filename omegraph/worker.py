"""``omegraph worker``: an RQ worker that runs jobs (imports, pixels) from Redis."""

from __future__ import annotations

import importlib
import logging

from omegraph.cli import CliError
from omegraph.settings import Settings
from resolvers.jobs import worker as job_worker
from resolvers.jobs.queue import QUEUE_OF_KIND, RqQueue
from resolvers.jobs.service import JobService
from store.db import create_db_engine, writer_factory
from store.migrate import check_migrated

log = logging.getLogger("omegraph.worker")
# The job handlers; they import the engine (numpy, tifffile, imagecodecs) in turn.
HANDLER_MODULES = ("resolvers.imports.run", "resolvers.imports.derive")
QUEUES = tuple(sorted(set(QUEUE_OF_KIND.values())))


def parse_queues(text: str) -> list[str]:
    """Comma-separated queue names, each one of ours."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = sorted(set(names) - set(QUEUES))
    if not names or unknown:
        raise CliError(f"--queues: unknown queue {', '.join(unknown) or '(none)'}; "
                       f"known: {', '.join(QUEUES)}")
    return names


def preload() -> None:
    """Import the job handlers and the engine once, before RQ forks a work horse per job,
    so that each job does not pay for them again."""
    for name in HANDLER_MODULES:
        importlib.import_module(name)
    # Compiled numba kernels (loaded from their on-disk cache, or compiled once here).
    importlib.import_module("engine.scan").warm_up()


def run_worker(settings: Settings, queues: list[str], burst: bool) -> int:
    """Serve ``queues`` until stopped (or, with ``burst``, until they are empty)."""
    from rq import Queue, Worker

    if not settings.redis_url:
        raise CliError("omegraph worker needs Redis: set OMEGRAPH_REDIS_URL "
                       "(e.g. redis://127.0.0.1:6379/0) here and on the API servers")
    engine = create_db_engine(settings.db_url)
    try:
        check_migrated(engine)
        service = JobService(settings, writer_factory(engine), "rq")
        job_worker.configure(service)
        recovered = service.recover()
        if recovered:
            log.info("queued %d interrupted job(s) again", recovered)
        preload()
        assert isinstance(service.queue, RqQueue)
        connection = service.queue.connection
        # The pool's connections belong to this process; forked work horses open their own
        # (resolvers.jobs.worker.perform), so none are shared across a fork.
        engine.dispose()
        worker = Worker([Queue(name, connection=connection) for name in queues],
                        connection=connection)
        worker.work(burst=burst, logging_level=settings.log_level)
    finally:
        engine.dispose()
    return 0
