"""One database session per request, reached from async code through a worker thread."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import partial
from typing import Concatenate, ParamSpec, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from store.db import IMMEDIATE, is_lock_conflict

LOCK_RETRIES = 3
P = ParamSpec("P")
T = TypeVar("T")


class RequestDb:
    """Serialises a request's blocking database work onto threads, one call at a time.

    A Session is not thread-safe; dataloaders of one request may fire together, so calls are
    queued behind a lock and each runs whole in a thread (asyncio.to_thread), never blocking the
    event loop that serves other requests.
    """

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self._factory = factory
        self._session: Session | None = None
        self._lock = asyncio.Lock()
        self._at_close: list[Callable[[], object]] = []

    def at_close(self, callback: Callable[[], object]) -> None:
        """Call ``callback`` when the request ends, before the session closes."""
        self._at_close.append(callback)

    async def run(self, fn: Callable[Concatenate[Session, P], T], *args: P.args,
                  **kwargs: P.kwargs) -> T:
        async with self._lock:
            return await asyncio.to_thread(partial(self._call, fn, *args, **kwargs))

    def _call(self, fn: Callable[Concatenate[Session, P], T], *args: P.args,
              **kwargs: P.kwargs) -> T:
        if self._session is None:
            self._session = self._factory()
        for attempt in range(LOCK_RETRIES + 1):
            try:
                return fn(self._session, *args, **kwargs)
            except BaseException as exc:
                self._session.rollback()
                if attempt < LOCK_RETRIES and is_lock_conflict(exc):
                    # SQLite: a read-then-write transaction raced a background job's commit.
                    # Run again from the start in a transaction that takes the write lock at
                    # BEGIN, so it waits its turn instead of losing the race again.
                    self._session.connection(execution_options={IMMEDIATE: True})
                    continue
                raise
        raise AssertionError("unreachable")

    async def close(self) -> None:
        callbacks, self._at_close = self._at_close, []
        for callback in callbacks:
            callback()
        if self._session is not None:
            session, self._session = self._session, None
            await asyncio.to_thread(session.close)
