"""Real PostgreSQL and SQLite databases for the test run.

PostgreSQL is the server on this machine (``OMEGRAPH_TEST_POSTGRES_URL``). With ``CI=true`` a
missing server fails the run; elsewhere its tests are skipped with the reason.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from store.db import create_db_engine
from store.migrate import upgrade

POSTGRES_URL = os.environ.get(
    "OMEGRAPH_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
IN_CI = os.environ.get("CI", "").lower() == "true"


def service_missing(what: str, error: Exception) -> None:
    message = f"{what} is not reachable ({error.__class__.__name__}: {error})"
    if IN_CI:
        pytest.fail(f"{message}; CI requires it", pytrace=False)
    pytest.skip(f"{message}; start it to run these tests")


@contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh, migrated database on the real server; dropped afterwards."""
    admin_url = make_url(POSTGRES_URL)
    name = f"omegraph_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        admin.dispose()
        service_missing(f"PostgreSQL at {admin_url.render_as_string(hide_password=True)}", exc)
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def migrated_engine(url: str) -> Engine:
    engine = create_db_engine(url)
    upgrade(engine)
    return engine


def sqlite_url(directory: Path) -> str:
    return f"sqlite:///{directory / 'omegraph-test.db'}"
