"""The job machinery of one process: the queue, the environment handlers run in, and the
reaper that recovers jobs whose worker died."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from omegraph.settings import Settings
from resolvers.jobs.lease import LEASE, ready_queued, reap
from resolvers.jobs.queue import QUEUE_OF_KIND, InProcessQueue, JobQueue, RqQueue
from resolvers.jobs.runner import JobEnv, run_job
from store.repository import Repository

log = logging.getLogger("omegraph.jobs")


class InlineQueue:
    """Runs each job at once in the caller's thread: for tests and one-shot CLI imports."""

    def __init__(self, perform: Callable[[int], None]) -> None:
        self._perform = perform

    def enqueue(self, job_id: int, kind: str) -> None:
        self._perform(job_id)


class JobService:
    """``mode``: "rq" (Redis; ``omegraph worker`` processes run the jobs), "threads" (the
    embedded default: jobs run in this process) or "inline"."""

    def __init__(self, settings: Settings, factory: sessionmaker[Session], mode: str) -> None:
        self.settings = settings
        self.factory = factory
        self.mode = mode
        self.queue: JobQueue
        if mode == "rq":
            assert settings.redis_url, "rq mode needs OMEGRAPH_REDIS_URL"
            self.queue = RqQueue(settings.redis_url)
        elif mode == "threads":
            self.queue = InProcessQueue(self.perform, settings.job_threads)
        elif mode == "inline":
            self.queue = InlineQueue(self.perform)
        else:
            raise ValueError(f"unknown job mode {mode!r}")
        self.env = JobEnv(settings=settings, factory=factory,
                          repository=Repository(settings.repository_dir),
                          enqueue=self.queue.enqueue)
        self._stop = threading.Event()
        self._reaper: threading.Thread | None = None

    @classmethod
    def for_server(cls, settings: Settings, factory: sessionmaker[Session]) -> JobService:
        return cls(settings, factory, "rq" if settings.redis_url else "threads")

    def perform(self, job_id: int) -> None:
        run_job(self.env, job_id)

    def enqueue(self, job_id: int, kind: str) -> None:
        self.queue.enqueue(job_id, kind)

    def start(self, reaper_interval: float | None = None) -> None:
        """Start the threads (if any), recover interrupted jobs and watch for more."""
        if isinstance(self.queue, InProcessQueue):
            self.queue.start()
        self.recover()
        interval = reaper_interval or LEASE.total_seconds() / 2
        self._reaper = threading.Thread(target=self._reap_loop, args=(interval,), daemon=True,
                                        name="omegraph-reaper")
        self._reaper.start()

    def stop(self) -> None:
        self._stop.set()
        if self._reaper is not None:
            self._reaper.join(5)
        if isinstance(self.queue, InProcessQueue):
            self.queue.stop()

    def recover(self) -> int:
        """Requeue jobs whose lease ran out and (re)deliver queued ones; returns how many.

        Queued jobs are delivered again because an in-process queue forgets them with its
        process (and Redis may have been flushed); a second delivery of a job is harmless.
        """
        with self.factory() as db:
            jobs = reap(db, self.settings.job_max_attempts)
            if self.mode != "rq" or not jobs:
                jobs += [job for job in ready_queued(db, tuple(QUEUE_OF_KIND))
                         if job not in jobs]
            pending = [(job.id, job.job_kind) for job in jobs]
        for job_id, kind in pending:
            self.enqueue(job_id, kind)
        return len(pending)

    def _reap_loop(self, interval: float) -> None:
        while not self._stop.wait(interval):
            try:
                with self.factory() as db:
                    jobs = [(job.id, job.job_kind)
                            for job in reap(db, self.settings.job_max_attempts)]
                for job_id, kind in jobs:
                    log.warning("job %s: its worker stopped; queued again", job_id)
                    self.enqueue(job_id, kind)
            except Exception:
                log.exception("reaping interrupted jobs failed; trying again later")
