"""Alembic migrations driven from code: upgrade, and the check the server runs at start."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


class DatabaseNotMigrated(RuntimeError):
    """The database schema is older than (or unknown to) this version of OMEGraph."""


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # env.py takes the live engine from here, so URLs with passwords never pass through ini files.
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    command.upgrade(alembic_config(engine), revision)


def head_revision() -> str:
    script = ScriptDirectory(str(MIGRATIONS_DIR))
    head = script.get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def check_migrated(engine: Engine) -> None:
    """Raise DatabaseNotMigrated with an actionable message unless the schema is at head."""
    current, head = current_revision(engine), head_revision()
    if current != head:
        state = "empty (never migrated)" if current is None else f"at revision {current}"
        raise DatabaseNotMigrated(
            f"The database is {state}; this OMEGraph needs revision {head}. "
            "Run `omegraph db upgrade` first."
        )
