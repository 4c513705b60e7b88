"""Claiming a queued job, renewing its lease, and reaping jobs whose worker went away."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from store.base import utcnow
from store.jobs import Job, JobState

LEASE = dt.timedelta(seconds=60)
FINISHED = (JobState.DONE.value, JobState.FAILED.value, JobState.CANCELLED.value,
            JobState.TIMED_OUT.value)


def claim(db: Session, job_id: int, worker: str, lease: dt.timedelta = LEASE) -> Job | None:
    """Take a queued job for ``worker``; None when it is not queued (done, taken, cancelled).

    One UPDATE ... WHERE state='queued' decides, so two workers handed the same id (a queue
    redelivery, a reaper re-enqueue) never both run it.
    """
    now = utcnow()
    result = db.execute(
        update(Job)
        .where(Job.id == job_id, Job.state == JobState.QUEUED.value,
               Job.cancel_requested.is_(False))
        .values(state=JobState.RUNNING.value, worker=worker, lease_until=now + lease,
                attempts=Job.attempts + 1, started=func.coalesce(Job.started, now),
                updated=now)
        .execution_options(synchronize_session=False)
    )
    db.commit()
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return None
    return db.get(Job, job_id, populate_existing=True)


def renew(db: Session, job_id: int, worker: str, lease: dt.timedelta = LEASE) -> bool:
    """Extend the lease; False when the job is no longer this worker's (reaped, cancelled)."""
    now = utcnow()
    result = db.execute(
        update(Job)
        .where(Job.id == job_id, Job.worker == worker, Job.state == JobState.RUNNING.value)
        .values(lease_until=now + lease)
        .execution_options(synchronize_session=False)
    )
    db.commit()
    return result.rowcount == 1  # type: ignore[attr-defined,no-any-return]


def reap(db: Session, max_attempts: int, now: dt.datetime | None = None) -> list[Job]:
    """Jobs whose lease ran out: queued again (returned, for the caller to enqueue) while
    attempts remain, failed otherwise. Runs at worker start and periodically."""
    now = now or utcnow()
    stale = db.scalars(
        select(Job).where(Job.state == JobState.RUNNING.value, Job.lease_until < now)
        .with_for_update(skip_locked=True)
    ).all()
    requeued = []
    for job in stale:
        job.worker, job.lease_until = None, None
        if job.cancel_requested:
            job.state, job.finished = JobState.CANCELLED.value, now
        elif job.attempts >= max_attempts:
            job.state, job.finished = JobState.FAILED.value, now
            job.error = (f"interrupted {job.attempts} times (its worker stopped); "
                         "giving up")
        else:
            job.state = JobState.QUEUED.value
            job.message = f"retrying after an interrupted attempt ({job.attempts})"
            requeued.append(job)
    db.commit()
    return requeued


def ready_queued(db: Session, kinds: tuple[str, ...]) -> list[Job]:
    """Queued jobs of these kinds, oldest first: for re-enqueueing at start-up, when an
    in-process queue lost its memory with the process that held it."""
    return list(db.scalars(
        select(Job).where(Job.state == JobState.QUEUED.value, Job.job_kind.in_(kinds),
                          Job.cancel_requested.is_(False))
        .order_by(Job.id)
    ))
