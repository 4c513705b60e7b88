"""Background jobs (imports, pyramid builds, scripts): their state lives in the database."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, Boolean, CheckConstraint, Float, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from store.base import Base, Owned


class JobState(enum.StrEnum):
    UPLOADING = "uploading"  # waiting for the client's bytes (imports)
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"
    TIMED_OUT = "timed_out"


class Job(Owned, Base):
    __tablename__ = "job"
    __table_args__ = (
        CheckConstraint("progress >= 0 AND progress <= 1", name="progress_range"),
    )
    kind = "Job"

    job_kind: Mapped[str] = mapped_column(String(32), index=True)
    state: Mapped[str] = mapped_column(String(16), default=JobState.QUEUED.value, index=True)
    # Finer-grained step within a state (an import is "parsing", "pixels", ...).
    step: Mapped[str | None] = mapped_column(String(32), default=None)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    message: Mapped[str | None] = mapped_column(Text, default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    started: Mapped[dt.datetime | None] = mapped_column(default=None)
    finished: Mapped[dt.datetime | None] = mapped_column(default=None)
    # A running job belongs to one worker until lease_until; workers renew the lease while
    # they work, so a job whose worker died is found (lease expired) and retried or failed.
    worker: Mapped[str | None] = mapped_column(String(128), default=None)
    lease_until: Mapped[dt.datetime | None] = mapped_column(default=None, index=True)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
