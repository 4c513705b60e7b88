"""Running one job: claim it, keep its lease alive, record progress and the outcome."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from omegraph.settings import Settings
from resolvers.jobs.lease import LEASE, claim, renew
from store.base import utcnow
from store.jobs import Job, JobState
from store.repository import Repository

log = logging.getLogger("omegraph.jobs")
PROGRESS_INTERVAL = 0.25  # seconds


class JobFailed(Exception):
    """An expected failure: its message is the reason the user reads."""


class JobCancelled(Exception):
    pass


class LeaseLost(Exception):
    """Another worker (or the reaper) owns the job now; stop without touching it."""


@dataclass(frozen=True)
class JobEnv:
    """What every job handler may use; built once per worker process (or server)."""

    settings: Settings
    factory: sessionmaker[Session]
    repository: Repository
    enqueue: Callable[[int, str], None]
    worker: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")


@dataclass
class JobRun:
    """Handed to a handler: the claimed job's id and params, and ways to report progress."""

    env: JobEnv
    job_id: int
    kind: str
    owner_id: int
    group_id: int
    params: dict[str, object]
    attempts: int
    worker: str
    _lost: threading.Event = field(default_factory=threading.Event)
    _written: float = 0.0

    def progress(self, step: str | None, fraction: float, message: str | None = None) -> None:
        """Record the current step and overall progress (0..1); raises JobCancelled when the
        user cancelled, LeaseLost when the job was taken from this worker.

        Written at most every PROGRESS_INTERVAL seconds: a small import is over before
        anyone could see its steps, and each write is a commit."""
        if self._lost.is_set():
            raise LeaseLost(self.job_id)
        now = time.monotonic()
        if now - self._written < PROGRESS_INTERVAL:
            return
        self._written = now
        with self.env.factory() as db:
            result = db.execute(
                update(Job).where(Job.id == self.job_id, Job.worker == self.worker,
                                  Job.state == JobState.RUNNING.value)
                .values(step=step, progress=min(max(fraction, 0.0), 1.0), message=message,
                        updated=utcnow())
                .returning(Job.cancel_requested)
            ).first()
            db.commit()
        if result is None:
            raise LeaseLost(self.job_id)
        if result[0]:
            raise JobCancelled(self.job_id)


Handler = Callable[[JobRun], dict[str, object] | None]


def handler_for(kind: str) -> Handler:
    # Imported here: handlers pull in the engine, which a plain API process may never need.
    if kind == "import":
        from resolvers.imports.run import run_import

        return run_import
    if kind in ("pyramid", "rebuild_pixels"):
        from resolvers.imports.derive import run_pixels_job

        return run_pixels_job
    raise JobFailed(f"unknown job kind {kind!r}")


def run_job(env: JobEnv, job_id: int) -> str | None:
    """Claim and run one job; returns its final state, or None when it was not claimable."""
    with env.factory() as db:
        job = claim(db, job_id, env.worker)
        if job is None:
            return None
        run = JobRun(env, job.id, job.job_kind, job.owner_id, job.group_id, dict(job.params),
                     job.attempts, env.worker, _written=time.monotonic())
    stop = threading.Event()
    beat = threading.Thread(target=_heartbeat, args=(run, stop), daemon=True,
                            name=f"omegraph-lease-{job_id}")
    beat.start()
    try:
        result = handler_for(run.kind)(run)
    except LeaseLost:
        log.warning("job %s: lease lost; leaving it to its new owner", job_id)
        return None
    except JobCancelled:
        return _finish(env, run, JobState.CANCELLED, message="cancelled")
    except JobFailed as exc:
        return _finish(env, run, JobState.FAILED, error=str(exc))
    except Exception as exc:
        log.exception("job %s (%s) failed unexpectedly", job_id, run.kind)
        return _finish(env, run, JobState.FAILED,
                       error=f"internal error ({type(exc).__name__}); see the server log")
    finally:
        stop.set()
        beat.join()
    message = result.get("message") if result else None
    return _finish(env, run, JobState.DONE, result=result,
                   message=message if isinstance(message, str) else None)


def _heartbeat(run: JobRun, stop: threading.Event) -> None:
    interval = LEASE.total_seconds() / 4
    while not stop.wait(interval):
        try:
            with run.env.factory() as db:
                if not renew(db, run.job_id, run.worker):
                    run._lost.set()
                    return
        except Exception:  # a database hiccup: try again next beat, the lease still runs
            log.warning("job %s: lease renewal failed", run.job_id, exc_info=True)


def _finish(env: JobEnv, run: JobRun, state: JobState, *, error: str | None = None,
            message: str | None = None, result: dict[str, object] | None = None) -> str:
    values: dict[str, object] = {"state": state.value, "finished": utcnow(), "worker": None,
                                 "lease_until": None, "error": error, "updated": utcnow()}
    if state is JobState.DONE:
        values.update(progress=1.0, step=None)
    if message is not None:
        values["message"] = message
    if result is not None:
        values["result"] = result
    with env.factory() as db:
        db.execute(update(Job).where(Job.id == run.job_id, Job.worker == run.worker)
                   .values(**values))
        db.commit()
    return state.value
