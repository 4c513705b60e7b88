"""Engine and session creation, with the same behaviour on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

IMMEDIATE = "omegraph_sqlite_immediate"


def create_db_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine; SQLite gets foreign keys, WAL and real transactional savepoints."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        kwargs.setdefault("pool_pre_ping", True)
        return create_engine(url, **kwargs)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    # Requests reach the database from worker threads (asyncio.to_thread), one at a time per
    # session, so the sqlite3 same-thread check is relaxed.
    kwargs.setdefault("connect_args", {}).update(check_same_thread=False, timeout=30)
    engine = create_engine(url, **kwargs)
    _configure_sqlite(engine)
    return engine


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin, so that
        # SAVEPOINTs (nested transactions) behave as on PostgreSQL.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Writers take the write lock at BEGIN: a deferred transaction that read first and
        # then writes after another connection committed fails at once with "database is
        # locked" (SQLITE_BUSY_SNAPSHOT), without waiting; an immediate one waits its turn.
        immediate = connection.get_execution_options().get(IMMEDIATE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def writer_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions for background writers (jobs): on SQLite their transactions begin
    IMMEDIATE, so concurrent jobs queue for the write lock instead of failing."""
    return sessionmaker(engine.execution_options(**{IMMEDIATE: True}), expire_on_commit=False)


def is_lock_conflict(error: BaseException) -> bool:
    """SQLite's "database is locked": the transaction lost a race for the write lock and
    can only succeed when run again from its start."""
    return (isinstance(error, OperationalError)
            and "database is locked" in str(getattr(error, "orig", error)))
