"""``omegraph import`` (local and remote) and ``omegraph admin rebuild-pixels``, run through
``cli.main`` against real SQLite data directories and a real server."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
import tifffile
from rich.console import Console
from sqlalchemy import select
from sqlalchemy.orm import Session

from omegraph import cli
from omegraph.bootstrap import ensure_root
from omegraph.importing import collect, with_checksums
from omegraph.remote_import import (
    connect,
    create_remote_import,
    graphql,
    remote_imports_dataset,
    upload_file,
    wait_for_job,
)
from omegraph.settings import Settings, load_settings
from resolvers.imports.requests import DuplicatePolicy
from store.db import create_db_engine, session_factory
from store.migrate import upgrade
from store.models import (
    Dataset,
    DatasetImageLink,
    Experimenter,
    ExperimenterGroup,
    GroupMembership,
    Image,
    Pixels,
)
from tests.web.conftest import admin_credentials, live_server_url

__all__ = ["admin_credentials", "live_server_url"]  # fixtures used here

LOGIN = """mutation($u: String!, $p: String!) { login(username: $u, password: $p) {
  ... on LoginPayload { token } ... on Error { message } } }"""
ORIGINALS = """query($id: ID!) { job(id: $id) { files { path originalFile { downloadUrl } } } }"""


def write_tiff(path: Path, shape: tuple[int, ...], seed: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = np.random.default_rng(seed).integers(0, 4000, shape).astype("uint16")
    tifffile.imwrite(path, data, photometric="minisblack")


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str], str]:
    """Exit status, stdout lines and stderr of one command."""
    status = cli.main(list(args))
    out, err = capsys.readouterr()
    return status, out.split(), err


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """A migrated data directory with root, which the commands find through the env."""
    data_dir = tmp_path / "data"
    monkeypatch.setenv("OMEGRAPH_DATA_DIR", str(data_dir))
    for name in ("OMEGRAPH_DATABASE_URL", "OMEGRAPH_REDIS_URL", "OMEGRAPH_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings()
    engine = create_db_engine(settings.db_url)
    upgrade(engine)
    with session_factory(engine)() as db:
        ensure_root(db, "root-password-123")
    engine.dispose()
    return settings


@pytest.fixture
def db(settings: Settings) -> Iterator[Session]:
    engine = create_db_engine(settings.db_url)
    with session_factory(engine)() as session:
        yield session
    engine.dispose()


@pytest.fixture
def run1(tmp_path: Path) -> Path:
    """A folder with two TIFFs, one in a subfolder, and hidden files to skip."""
    folder = tmp_path / "run1"
    write_tiff(folder / "a.tif", (2, 64, 48), seed=1)
    write_tiff(folder / "sub" / "b.tif", (32, 40), seed=2)
    (folder / ".DS_Store").write_bytes(b"junk")
    write_tiff(folder / ".cache" / "c.tif", (8, 8), seed=3)
    return folder


def test_collect_keeps_the_folder_name_and_skips_hidden_files(run1: Path) -> None:
    files = collect([run1])
    assert [f.path for f in files] == ["run1/a.tif", "run1/sub/b.tif"]
    assert files[0].source == (run1 / "a.tif").absolute()


def test_a_local_folder_import_prints_ids_into_a_new_imports_dataset(
        settings: Settings, db: Session, run1: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, ids, err = run_cli(capsys, "import", str(run1))
    assert status == 0, err
    assert len(ids) == 2 and all(i.startswith("Image:") for i in ids)
    images = {image.name: image for image in db.scalars(select(Image))}
    assert sorted(images) == ["a.tif", "b.tif"]
    sizes = {name: db.scalar(select(Pixels).where(Pixels.image_id == image.id))
             for name, image in images.items()}
    assert (sizes["a.tif"].size_x, sizes["a.tif"].size_y) == (48, 64)  # type: ignore[union-attr]
    assert (sizes["b.tif"].size_x, sizes["b.tif"].size_y) == (40, 32)  # type: ignore[union-attr]
    (dataset,) = db.scalars(select(Dataset))
    root = db.scalar(select(Experimenter).where(Experimenter.username == "root"))
    assert dataset.name == "Imports" and root is not None and dataset.owner_id == root.id
    linked = set(db.scalars(select(DatasetImageLink.child_id)
                            .where(DatasetImageLink.parent_id == dataset.id)))
    assert {f"Image:{n}" for n in linked} == set(ids)

    again, none, err = run_cli(capsys, "import", str(run1))
    assert again == 0 and none == []
    assert "skipped run1/a.tif" in err and len(list(db.scalars(select(Dataset)))) == 1


def test_importing_into_another_users_dataset_is_refused(
        settings: Settings, db: Session, run1: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lab = ExperimenterGroup(name="lab", permissions="rwr---")
    db.add(lab)
    db.flush()
    users = [Experimenter(username=name, default_group_id=lab.id) for name in ("alice", "bob")]
    db.add_all(users)
    db.flush()
    db.add_all([GroupMembership(experimenter_id=u.id, group_id=lab.id) for u in users])
    theirs = Dataset(name="bob's", owner_id=users[1].id, group_id=lab.id)
    db.add(theirs)
    db.commit()

    status, ids, err = run_cli(capsys, "import", str(run1), "--user", "alice",
                               "--dataset", str(theirs.id))
    assert status == 1 and ids == []
    assert err.startswith("omegraph: ") and "Traceback" not in err
    assert f"cannot import into Dataset:{theirs.id} as alice: you may not" in err, err


def test_a_corrupt_file_fails_the_import_with_the_reason(
        settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.tif"
    bad.write_bytes(b"II*\x00" + b"\xff" * 200)
    status, ids, err = run_cli(capsys, "import", str(bad))
    assert status == 1 and ids == []
    assert "import failed" in err and "bad.tif" in err, err


def test_errors_of_the_command_modules_are_one_line_from_python_m(tmp_path: Path) -> None:
    # Under ``python -m omegraph.cli`` the module runs as __main__; the CliError raised by
    # omegraph.importing must still be the one main() reports.
    env = {**os.environ, "OMEGRAPH_DATA_DIR": str(tmp_path)}
    result = subprocess.run([sys.executable, "-m", "omegraph.cli", "import",
                             str(tmp_path / "missing")], env=env, capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 1
    assert result.stderr == f"omegraph: {tmp_path / 'missing'}: no such file or folder\n"


def test_rebuild_pixels_writes_a_deleted_thumbnail_again(
        settings: Settings, db: Session, run1: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, ids, _ = run_cli(capsys, "import", str(run1 / "a.tif"))
    (image_id,) = ids
    pixels = db.scalar(select(Pixels).where(Pixels.image_id == int(image_id.split(":")[1])))
    assert pixels is not None and pixels.thumbnail_path
    thumbnail = settings.repository_dir / pixels.thumbnail_path
    thumbnail.unlink()

    status, words, err = run_cli(capsys, "admin", "rebuild-pixels", image_id)
    assert status == 0, err
    assert words[:2] == [f"{image_id}:", "rebuilt"]
    assert thumbnail.is_file() and thumbnail.read_bytes().startswith(b"\x89PNG")
    missing = cli.main(["admin", "rebuild-pixels", image_id, "Image:999"])
    out = capsys.readouterr().out
    assert missing == 1 and "Image:999: not found" in out


# --- Remote, against a real server ------------------------------------------------------

@pytest.fixture
def token(live_server_url: str, admin_credentials: tuple[str, str]) -> str:
    user, password = admin_credentials
    with httpx.Client(base_url=live_server_url) as client:
        result = graphql(client, LOGIN, u=user, p=password)["login"]
    return str(result["token"])


def test_a_remote_import_uploads_the_files_and_prints_the_ids(
        settings: Settings, live_server_url: str, token: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "remote"
    write_tiff(folder / "x.tif", (3, 50, 60), seed=11)
    write_tiff(folder / "deep" / "y.tif", (20, 30), seed=12)
    monkeypatch.setenv("OMEGRAPH_TOKEN", token)
    status, ids, err = run_cli(capsys, "import", str(folder), "--server", live_server_url)
    assert status == 0, err
    assert len(ids) == 2 and all(i.startswith("Image:") for i in ids)
    assert token not in err

    with connect(live_server_url, token) as client:
        dataset = remote_imports_dataset(client)
        found = graphql(client, "query($d: ID!) { images(filter: {parent: $d}) { nodes { id } } }",
                        d=dataset)
    assert set(ids) <= {node["id"] for node in found["images"]["nodes"]}


def test_an_interrupted_upload_resumes_from_the_servers_offset(
        live_server_url: str, token: str, tmp_path: Path) -> None:
    write_tiff(tmp_path / "big.tif", (400, 300), seed=21)
    (item,) = with_checksums(collect([tmp_path / "big.tif"]), Console(quiet=True))
    body = item.source.read_bytes()
    half = len(body) // 2
    with connect(live_server_url, token) as client:
        job = create_remote_import(client, remote_imports_dataset(client), [item],
                                   DuplicatePolicy.IMPORT)
        slot = job["files"][0]["uploadPath"]
        assert client.put(slot, content=body[:half]).status_code == 200  # then cut off

        counted: list[int] = []
        uploaded = upload_file(client, slot, item.source, item.size, advance=counted.append)
        assert uploaded.resumed_from == half and uploaded.sent == len(body) - half
        assert sum(counted) == len(body)

        ended = wait_for_job(client, job["id"], Console(quiet=True), interval=0.1)
        assert ended["status"] == "DONE", ended
        assert len(ended["images"]) == 1
        (stored,) = graphql(client, ORIGINALS, id=job["id"])["job"]["files"]
        assert client.get(stored["originalFile"]["downloadUrl"]).content == body


class FlakyNetwork(httpx.HTTPTransport):
    """The real network, except that the first PUT never connects and the second one's
    reply is lost after the server got every byte."""

    def __init__(self) -> None:
        super().__init__()
        self.puts = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method != "PUT":
            return super().handle_request(request)
        self.puts += 1
        if self.puts == 1:
            raise httpx.ConnectError("connection refused", request=request)
        response = super().handle_request(request)
        if self.puts == 2:
            response.read()
            raise httpx.ReadError("connection reset", request=request)
        return response


def test_uploads_retry_after_connection_errors(
        live_server_url: str, token: str, tmp_path: Path) -> None:
    write_tiff(tmp_path / "flaky.tif", (120, 90), seed=31)
    (item,) = with_checksums(collect([tmp_path / "flaky.tif"]), Console(quiet=True))
    network = FlakyNetwork()
    with httpx.Client(base_url=live_server_url, transport=network,
                      headers={"Authorization": f"Bearer {token}"}) as client:
        job = create_remote_import(client, remote_imports_dataset(client), [item],
                                   DuplicatePolicy.IMPORT)
        uploaded = upload_file(client, job["files"][0]["uploadPath"], item.source, item.size,
                               pause=0)
        assert network.puts == 2 and uploaded.resumed_from == 0
        ended = wait_for_job(client, job["id"], Console(quiet=True), interval=0.1)
    assert ended["status"] == "DONE" and len(ended["images"]) == 1, ended
