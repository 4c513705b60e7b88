"""Migrations produce exactly the models' schema on both backends; start-up checks them."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine

from store.db import create_db_engine
from store.migrate import DatabaseNotMigrated, check_migrated, head_revision, upgrade
from store.models import Base
from tests.services import postgres_database, sqlite_url


def _schema_diff(engine: Engine) -> list[object]:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_fresh_database_is_refused_then_migrated_to_the_models(backend: str,
                                                               tmp_path: Path) -> None:
    def check(url: str) -> None:
        engine = create_db_engine(url)
        try:
            with pytest.raises(DatabaseNotMigrated, match="omegraph db upgrade"):
                check_migrated(engine)
            upgrade(engine)
            check_migrated(engine)
            assert _schema_diff(engine) == []
            upgrade(engine)  # running it again is harmless
        finally:
            engine.dispose()

    if backend == "sqlite":
        check(sqlite_url(tmp_path))
    else:
        with postgres_database() as url:
            check(url)


def test_head_revision_is_known() -> None:
    assert head_revision()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_existing_rows_survive_every_upgrade(backend: str, tmp_path: Path) -> None:
    from sqlalchemy import text

    def check(url: str) -> None:
        engine = create_db_engine(url)
        try:
            upgrade(engine, "0001")
            with engine.begin() as connection:
                connection.execute(text(
                    "INSERT INTO experimenter (username, first_name, last_name, is_admin, "
                    "active, created, updated) VALUES ('old', 'Old', 'User', false, true, "
                    "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))
            upgrade(engine)
            with engine.connect() as connection:
                row = connection.execute(text(
                    "SELECT username, privileges, auth_source FROM experimenter")).one()
            assert row.username == "old"
            assert row.privileges in ([], "[]")
            assert row.auth_source == "local"
        finally:
            engine.dispose()

    if backend == "sqlite":
        check(sqlite_url(tmp_path))
    else:
        with postgres_database() as url:
            check(url)
