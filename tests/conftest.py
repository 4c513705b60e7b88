"""Shared fixtures: each DB test runs on SQLite and on the real PostgreSQL, inside an outer
transaction that is rolled back, so tests never see each other's rows."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

import omegraph.app
from omegraph.app import create_app
from omegraph.settings import Settings, load_settings
from resolvers.jobs.service import JobService
from tests.graphql_client import GraphQLClient
from tests.services import migrated_engine, postgres_database, sqlite_url
from tests.world import World

# Alembic announces every migration at INFO; keep test output for what matters.
logging.getLogger("alembic").setLevel(logging.WARNING)


# Building the schema is most of a test's setup, and it depends only on the settings (which
# differ between tests only in their temporary paths), so build it once per settings.
_SCHEMAS: dict[tuple[tuple[str, str], ...], Any] = {}
_PATH_SETTINGS = {"data_dir", "database_url", "repository_dir", "dropbox_dir", "config_file"}


@pytest.fixture(autouse=True)
def _one_schema(monkeypatch: pytest.MonkeyPatch) -> None:
    real = omegraph.app.build_schema

    def cached(settings: Settings) -> Any:
        key = tuple(sorted((k, v) for k, v in settings.masked().items()
                           if k not in _PATH_SETTINGS))
        if key not in _SCHEMAS:
            _SCHEMAS[key] = real(settings)
        return _SCHEMAS[key]

    monkeypatch.setattr(omegraph.app, "build_schema", cached)


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[Engine]:
    if request.param == "sqlite":
        engine = migrated_engine(sqlite_url(tmp_path_factory.mktemp("sqlite")))
        yield engine
        engine.dispose()
        return
    with postgres_database() as url:
        engine = migrated_engine(url)
        yield engine
        engine.dispose()


@pytest.fixture
def factory(engine: Engine) -> Iterator[sessionmaker[Session]]:
    """Sessions joined to one connection's outer transaction; their commits are savepoints."""
    connection = engine.connect()
    outer = connection.begin()
    yield sessionmaker(bind=connection, join_transaction_mode="create_savepoint",
                       expire_on_commit=False)
    outer.rollback()
    connection.close()


@pytest.fixture
def db(factory: sessionmaker[Session]) -> Iterator[Session]:
    with factory() as session:
        yield session


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # Jobs run inline in tests that share one connection (see ``client``), never in threads,
    # and each job on one thread: a connection is not shared between threads.
    return load_settings({}, data_dir=tmp_path / "data", run_jobs_in_server=False,
                         job_threads=1)


@pytest.fixture
def client(settings: Settings, engine: Engine, factory: sessionmaker[Session]
           ) -> Iterator[TestClient]:
    app = create_app(settings, engine=engine, factory=factory,
                     jobs=JobService(settings, factory, "inline"))
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def api(client: TestClient) -> GraphQLClient:
    return GraphQLClient(client)


@pytest.fixture
def world(db: Session) -> World:
    return World(db)
