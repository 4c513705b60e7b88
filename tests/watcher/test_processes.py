"""``omegraph watch`` as a real process, and the watcher inside ``omegraph serve``'s app."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import select
from starlette.testclient import TestClient

from omegraph.app import create_app
from omegraph.settings import load_settings
from store.db import create_db_engine, session_factory
from store.models import DropboxFile
from tests.omegraph.test_cli import omegraph
from tests.watcher.conftest import wait_for
from tests.watcher.files import drop, tiff_bytes


def _states(data_dir: Path) -> dict[str, str]:
    engine = create_db_engine(f"sqlite:///{data_dir / 'omegraph.db'}")
    try:
        with session_factory(engine)() as db:
            return {r.path: r.state for r in db.scalars(select(DropboxFile))}
    finally:
        engine.dispose()


def _data_dir_with_user(tmp_path: Path) -> Path:
    assert omegraph(tmp_path, "db", "upgrade").returncode == 0
    assert omegraph(tmp_path, "group", "add", "lab").returncode == 0
    added = omegraph(tmp_path, "user", "add", "ann", "--group", "lab", "--password-stdin",
                     stdin="correct horse battery\n")
    assert added.returncode == 0, added.stderr
    return tmp_path


def test_omegraph_watch_imports_and_stops_on_sigterm(tmp_path: Path) -> None:
    data_dir = _data_dir_with_user(tmp_path)
    env = {**os.environ, "OMEGRAPH_DATA_DIR": str(data_dir),
           "OMEGRAPH_DROPBOX_QUIET_SECONDS": "0.3"}
    env.pop("OMEGRAPH_DATABASE_URL", None)
    drop(data_dir / "dropbox" / "ann" / "before.tif", tiff_bytes(tmp_path, 1))  # catch-up
    process = subprocess.Popen([sys.executable, "-m", "omegraph.cli", "watch", "--poll"],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    try:
        drop(data_dir / "dropbox" / "ann" / "d" / "after.tif", tiff_bytes(tmp_path, 2))
        wait_for(lambda: _states(data_dir) == {"ann/before.tif": "imported",
                                               "ann/d/after.tif": "imported"},
                 timeout=60, what="both files imported")
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "watching" in err and "polling" in err


def test_the_server_runs_the_watcher_when_jobs_run_in_it(tmp_path: Path) -> None:
    data_dir = _data_dir_with_user(tmp_path)
    settings = load_settings({}, data_dir=data_dir, dropbox_quiet_seconds=0.3, job_threads=1)
    with TestClient(create_app(settings)):
        drop(data_dir / "dropbox" / "ann" / "served.tif", tiff_bytes(tmp_path, 3))
        wait_for(lambda: _states(data_dir) == {"ann/served.tif": "imported"}, timeout=60,
                 what="the file imported by the server's watcher")
    quiet = load_settings({}, data_dir=data_dir, watch_in_server=False)
    with TestClient(create_app(quiet)):
        drop(data_dir / "dropbox" / "ann" / "ignored.tif", tiff_bytes(tmp_path, 4))
        time.sleep(1.0)  # nothing to wait for: the file must stay unrecorded
    assert "ann/ignored.tif" not in _states(data_dir)
