"""A real uvicorn server on a fresh SQLite database, for browser tests."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from omegraph.app import create_app
from omegraph.bootstrap import ensure_root
from omegraph.settings import load_settings
from store.db import create_db_engine, session_factory
from store.migrate import upgrade

ADMIN_PASSWORD = "browser-test-password"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def admin_credentials() -> tuple[str, str]:
    return "root", ADMIN_PASSWORD


@pytest.fixture(scope="session")
def live_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data_dir: Path = tmp_path_factory.mktemp("live")
    settings = load_settings({}, data_dir=data_dir, port=_free_port())
    engine = create_db_engine(settings.db_url)
    upgrade(engine)
    with session_factory(engine)() as db:
        ensure_root(db, ADMIN_PASSWORD)
    config = uvicorn.Config(create_app(settings, engine=engine), host="127.0.0.1",
                            port=settings.port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{settings.port}"
    server.should_exit = True
    thread.join(timeout=10)
    engine.dispose()
