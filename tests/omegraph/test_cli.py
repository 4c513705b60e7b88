"""The command line, run as a real process against a real SQLite data directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from store.db import create_db_engine, session_factory
from store.models import Experimenter, ExperimenterGroup, GroupMembership


def omegraph(data_dir: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OMEGRAPH_DATA_DIR": str(data_dir)}
    env.pop("OMEGRAPH_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "omegraph.cli", *args], input=stdin, env=env,
        capture_output=True, text=True, timeout=60, check=False,
    )


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    assert omegraph(tmp_path, "db", "upgrade").returncode == 0
    return tmp_path


def test_version() -> None:
    result = subprocess.run([sys.executable, "-m", "omegraph.cli", "--version"],
                            capture_output=True, text=True, check=True)
    assert result.stdout.startswith("omegraph ")


def test_commands_refuse_an_unmigrated_database(tmp_path: Path) -> None:
    result = omegraph(tmp_path, "group", "add", "lab")
    assert result.returncode == 1
    assert "omegraph db upgrade" in result.stderr


def test_group_and_user_commands(data_dir: Path) -> None:
    assert omegraph(data_dir, "group", "add", "lab", "--perms", "rwra--").returncode == 0
    added = omegraph(data_dir, "user", "add", "alice", "--group", "lab", "--password-stdin",
                     stdin="correct horse battery\n")
    assert added.returncode == 0, added.stderr
    assert "created user alice" in added.stdout

    engine = create_db_engine(f"sqlite:///{data_dir / 'omegraph.db'}")
    with session_factory(engine)() as db:
        group = db.scalar(select(ExperimenterGroup).where(ExperimenterGroup.name == "lab"))
        user = db.scalar(select(Experimenter).where(Experimenter.username == "alice"))
        assert group is not None and group.permissions == "rwra--"
        assert user is not None and user.default_group_id == group.id
        assert db.get(GroupMembership, (user.id, group.id)) is not None
        assert user.password_hash is not None and "correct horse" not in user.password_hash
    engine.dispose()


def test_cli_errors_are_one_clear_line(data_dir: Path) -> None:
    bad_perms = omegraph(data_dir, "group", "add", "lab", "--perms", "rwx---")
    assert bad_perms.returncode == 1
    assert "permissions must be one of" in bad_perms.stderr
    assert "Traceback" not in bad_perms.stderr

    short = omegraph(data_dir, "user", "add", "bob", "--password-stdin", stdin="short\n")
    assert short.returncode == 1 and "at least 8 characters" in short.stderr

    no_group = omegraph(data_dir, "user", "add", "bob", "--group", "nope", "--password-stdin",
                        stdin="long enough password\n")
    assert no_group.returncode == 1 and "no group named 'nope'" in no_group.stderr

    missing = omegraph(data_dir, "user", "passwd", "ghost", "--password-stdin",
                       stdin="long enough password\n")
    assert missing.returncode == 1 and "no user named 'ghost'" in missing.stderr


def test_config_show_masks_secrets(data_dir: Path) -> None:
    env_password = "do-not-print-me"
    env = {**os.environ, "OMEGRAPH_DATA_DIR": str(data_dir),
           "OMEGRAPH_ADMIN_PASSWORD": env_password}
    result = subprocess.run([sys.executable, "-m", "omegraph.cli", "config", "show"], env=env,
                            capture_output=True, text=True, check=True)
    assert "admin_password" in result.stdout
    assert env_password not in result.stdout
    assert str(data_dir) in result.stdout


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _serve_until_ready(data_dir: Path, *args: str) -> str:
    """Start `omegraph serve`, wait for uvicorn to listen, stop it; return its output."""
    env = {**os.environ, "OMEGRAPH_DATA_DIR": str(data_dir), "OMEGRAPH_PORT": str(_free_port())}
    env.pop("OMEGRAPH_ADMIN_PASSWORD", None)
    process = subprocess.Popen([sys.executable, "-m", "omegraph.cli", "serve", *args], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    lines = []
    try:
        for line in process.stdout:
            lines.append(line)
            if "Uvicorn running" in line or "Application startup failed" in line:
                break
    finally:
        process.terminate()
        rest, _ = process.communicate(timeout=30)
    return "".join(lines) + rest


def test_serve_refuses_an_unmigrated_database(tmp_path: Path) -> None:
    env = {**os.environ, "OMEGRAPH_DATA_DIR": str(tmp_path), "OMEGRAPH_PORT": str(_free_port())}
    result = subprocess.run([sys.executable, "-m", "omegraph.cli", "serve"], env=env,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 1
    assert "never migrated" in result.stderr and "omegraph db upgrade" in result.stderr


def test_serve_demo_prints_generated_passwords_only_on_first_start(data_dir: Path) -> None:
    first = _serve_until_ready(data_dir, "--demo")
    assert f"OMEGraph data directory: {data_dir}" in first
    assert "Created administrator 'root' with password: " in first
    assert "Created demo user 'demo' with password: " in first

    second = _serve_until_ready(data_dir, "--demo")
    assert "Uvicorn running" in second
    assert "password" not in second.lower()
