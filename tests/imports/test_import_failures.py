"""Bad input ends in a failed import with a reason, and leaves nothing behind."""

from __future__ import annotations

import errno
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import tifffile
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from resolvers.imports import rows
from store.models import Fileset, Image, OriginalFile, Pixels
from store.repository import Repository
from tests.engine.test_readers_bad_files import png_claiming
from tests.imports.conftest import Importer, Member, write_tiff


def _counts(db: Session) -> tuple[int, int, int, int]:
    db.expire_all()
    return tuple(db.scalar(select(func.count()).select_from(model))  # type: ignore[return-value]
                 for model in (Image, Pixels, OriginalFile, Fileset))


def _tiff_bytes(tmp_path: Path, shape: tuple[int, ...] = (64, 64)) -> bytes:
    write_tiff(tmp_path / "ok.tif", shape)
    return (tmp_path / "ok.tif").read_bytes()


def _absurd_tiff() -> bytes:
    """A valid little-endian TIFF header declaring a 2^31 x 2^31 plane of 8 bits."""
    entries = [(256, 4, 1, 2**31 - 1), (257, 4, 1, 2**31 - 1), (258, 3, 1, 8),
               (259, 3, 1, 1), (262, 3, 1, 1), (273, 4, 1, 8), (277, 3, 1, 1),
               (278, 4, 1, 2**31 - 1), (279, 4, 1, 100)]
    ifd = struct.pack("<H", len(entries)) + b"".join(
        struct.pack("<HHII", tag, kind, count, value) for tag, kind, count, value in entries)
    return b"II*\x00" + struct.pack("<I", 8 + 0) + ifd + struct.pack("<I", 0)


BAD_FILES = {
    "random.tif": (np.random.default_rng(3).bytes(5000), "unrecognised"),
    "notes.txt": (b"hello, not an image\n" * 10, "unrecognised"),
    "empty.tif": (b"", "empty"),
    "absurd.tif": (_absurd_tiff(), "exceeds"),
    "bomb.png": (png_claiming(60_000, 60_000), "decompression bomb"),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_unreadable_files_fail_with_a_reason_and_leave_nothing(
        importer: Importer, alice: Member, db: Session, name: str, tmp_path: Path) -> None:
    body, reason = BAD_FILES[name]
    before = _counts(db)
    job = importer.run(alice, [(name, body)])
    assert job["status"] == "FAILED", job
    assert reason in job["error"].lower(), job["error"]
    assert job["images"] == [] and job["fileset"] is None
    assert _counts(db) == before
    assert importer.repository_files() == []
    # The server and its job runner carry on: the next import works.
    write_tiff(tmp_path / "fine.tif", (8, 8))
    assert importer.run(alice, [("fine.tif", (tmp_path / "fine.tif").read_bytes())])[
        "status"] == "DONE"


def test_a_truncated_tiff_fails_when_its_pixels_are_read(
        importer: Importer, alice: Member, db: Session, tmp_path: Path) -> None:
    body = _tiff_bytes(tmp_path, (3, 256, 256))
    before = _counts(db)
    job = importer.run(alice, [("cut.tif", body[: len(body) // 2])])
    assert job["status"] == "FAILED", job
    assert job["error"]
    assert _counts(db) == before and importer.repository_files() == []


def test_one_bad_file_fails_the_whole_import_atomically(
        importer: Importer, alice: Member, db: Session, tmp_path: Path) -> None:
    before = _counts(db)
    job = importer.run(alice, [("good.tif", _tiff_bytes(tmp_path)), ("bad.tif", b"garbage!")])
    assert job["status"] == "FAILED" and "bad.tif" in job["error"], job
    assert _counts(db) == before and importer.repository_files() == []


def test_a_declared_checksum_that_does_not_match_fails(
        importer: Importer, alice: Member, tmp_path: Path) -> None:
    body = _tiff_bytes(tmp_path)
    created = importer.declare(alice, [("x.tif", body)], declare_sha=True)
    changed = body[:-1] + bytes([body[-1] ^ 1])
    importer.upload(alice, created["job"]["files"][0]["uploadPath"], changed)
    job = importer.job(alice, created["job"]["id"])
    assert job["status"] == "FAILED" and "sha256" in job["error"], job
    assert importer.repository_files() == []


def test_a_database_error_mid_import_undoes_everything(
        importer: Importer, alice: Member, db: Session, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    real = rows.add_image
    calls = {"n": 0}

    def failing(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            raise OperationalError("INSERT INTO image", {}, Exception("connection lost"))
        return real(*args, **kwargs)

    monkeypatch.setattr("resolvers.imports.run.add_image", failing)
    before = _counts(db)
    path = tmp_path / "two.ome.tif"
    with tifffile.TiffWriter(path, ome=True) as tif:
        tif.write(np.zeros((8, 8), "uint8"))
        tif.write(np.zeros((8, 8), "uint8"))
    job = importer.run(alice, [("two.ome.tif", path.read_bytes())])
    assert job["status"] == "FAILED" and "internal error" in job["error"], job
    assert _counts(db) == before and importer.repository_files() == []


def test_a_full_disk_fails_the_import_with_that_reason(
        importer: Importer, alice: Member, db: Session, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    def full(*args: Any, **kwargs: Any) -> Any:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Repository, "adopt", full)
    job = importer.run(alice, [("x.tif", _tiff_bytes(tmp_path))])
    assert job["status"] == "FAILED" and "disk is full" in job["error"], job
    assert importer.repository_files() == []


def test_staged_bytes_that_vanish_before_the_import_fail_it(
        importer: Importer, alice: Member, tmp_path: Path) -> None:
    body = _tiff_bytes(tmp_path)
    created = importer.declare(alice, [("a.tif", body), ("b.tif", body[:10])])
    files = created["job"]["files"]
    importer.upload(alice, files[0]["uploadPath"], body)
    staged = importer.settings.repository_dir / "staging" / created["job"]["id"].split(":")[1]
    (staged / "0").unlink()
    importer.upload(alice, files[1]["uploadPath"], body[:10])
    job = importer.job(alice, created["job"]["id"])
    assert job["status"] == "FAILED" and "vanished" in job["error"], job
