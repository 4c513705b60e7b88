"""Job transports: an in-process thread pool (embedded default) or RQ over Redis.

Either way only a job id travels; the worker claims the row (resolvers.jobs.lease), so a
duplicate delivery is harmless.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Protocol

log = logging.getLogger("omegraph.jobs")

#: RQ queue per job kind: imports and pixel work do not wait behind each other.
QUEUE_OF_KIND = {"import": "imports", "pyramid": "pixels", "rebuild_pixels": "pixels"}
RQ_FUNCTION = "resolvers.jobs.worker.perform"


class JobQueue(Protocol):
    def enqueue(self, job_id: int, kind: str) -> None: ...


class InProcessQueue:
    """Daemon threads that run ``perform(job_id)`` for each enqueued id, in order."""

    def __init__(self, perform: Callable[[int], None], threads: int = 2) -> None:
        self._perform = perform
        self._ids: queue.Queue[int | None] = queue.Queue()
        self._threads = [threading.Thread(target=self._loop, name=f"omegraph-job-{n}",
                                          daemon=True) for n in range(threads)]
        self._started = False

    def start(self) -> None:
        if not self._started:
            self._started = True
            for thread in self._threads:
                thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        if not self._started:
            return
        for _ in self._threads:
            self._ids.put(None)
        for thread in self._threads:
            thread.join(timeout)
        self._started = False

    def enqueue(self, job_id: int, kind: str) -> None:
        self._ids.put(job_id)

    def join(self) -> None:
        """Wait until every id enqueued so far has been performed (tests, the CLI)."""
        self._ids.join()

    def _loop(self) -> None:
        while True:
            job_id = self._ids.get()
            try:
                if job_id is None:
                    return
                self._perform(job_id)
            except Exception:  # a handler bug must not kill the thread serving all jobs
                log.exception("job %s crashed its runner", job_id)
            finally:
                self._ids.task_done()


class RqQueue:
    """Enqueue on Redis for ``omegraph worker`` processes (RQ)."""

    def __init__(self, redis_url: str, job_timeout: int = 24 * 3600) -> None:
        from redis import Redis
        from rq import Queue

        self.connection = Redis.from_url(redis_url)
        self._queues = {name: Queue(name, connection=self.connection)
                        for name in set(QUEUE_OF_KIND.values())}
        self._timeout = job_timeout

    def enqueue(self, job_id: int, kind: str) -> None:
        target = self._queues[QUEUE_OF_KIND.get(kind, "imports")]
        # The RQ job id is derived from ours so a redelivery replaces rather than piles up.
        target.enqueue(RQ_FUNCTION, job_id, job_id=f"omegraph-{job_id}-{kind}",
                       job_timeout=self._timeout, result_ttl=3600, failure_ttl=7 * 24 * 3600)
