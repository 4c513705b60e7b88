"""The RQ side: ``perform`` is what RQ calls with a job id, in an ``omegraph worker``."""

from __future__ import annotations

import os

from omegraph.settings import load_settings
from resolvers.jobs.service import JobService
from store.db import create_db_engine, writer_factory

_service: JobService | None = None
_pid = 0


def configure(service: JobService) -> None:
    """Use this service for jobs performed in this process (and its forked children)."""
    global _service, _pid
    _service, _pid = service, os.getpid()


def perform(job_id: int) -> None:
    global _service, _pid
    if _service is None:
        settings = load_settings()
        configure(JobService(settings, writer_factory(create_db_engine(settings.db_url)), "rq"))
    assert _service is not None
    if os.getpid() != _pid:
        # A forked work horse must not share the parent's database connections.
        bind = _service.factory.kw.get("bind")
        if bind is not None and hasattr(bind, "dispose"):
            bind.dispose(close=False)
        _pid = os.getpid()
    _service.perform(job_id)
