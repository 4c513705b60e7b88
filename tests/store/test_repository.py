"""The binary repository: client names are never trusted, writes are atomic and leave nothing
behind on failure, reads never leave the originals tree."""

from __future__ import annotations

import datetime as dt
import errno
import hashlib
import os
import stat
import unicodedata
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

import pytest

from store.repository import (
    DEFAULT_TEMPLATE,
    InvalidTemplate,
    Repository,
    TooLarge,
    UnsafeName,
    UnsafePath,
    safe_name,
    safe_relative_path,
    validate_template,
)
from store.repository import storage as repo_module

WHEN = dt.datetime(2024, 5, 7, 23, 30, tzinfo=dt.UTC)
FILESET = PurePosixPath("originals/alice_3/2024-05/07/12")


@pytest.fixture
def repo(tmp_path: Path) -> Repository:
    return Repository(tmp_path / "repository")


def _files(repo: Repository) -> list[str]:
    return sorted(str(p.relative_to(repo.root)) for p in repo.root.rglob("*") if p.is_file())


# -- names -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("client", "expected"), [
    ("cells.tif", "cells.tif"),
    ("../../etc/passwd", "passwd"),
    ("..\\..\\boot.ini", "boot.ini"),
    ("/abs", "abs"),
    ("C:\\x", "x"),
    ("\\\\server\\share", "share"),
    ("C:x", "C_x"),
    ("a\x00b\nc\x7fd\x85e", "a_b_c_d_e"),
    ("name. . ", "name"),
    ("  lead.txt", "lead.txt"),
    ("what?<>|*\".txt", "what______.txt"),
])
def test_safe_name(client: str, expected: str) -> None:
    assert safe_name(client) == expected


@pytest.mark.parametrize("client", ["", ".", "..", "a/..", "a\\.", "...", " . ", "dir/", "\\"])
def test_safe_name_refuses_what_has_no_name(client: str) -> None:
    with pytest.raises(UnsafeName, match="no usable file name"):
        safe_name(client)


@pytest.mark.parametrize("device", ["CON", "con", "Prn", "aux.txt", "NUL.tar.gz", "com1",
                                    "COM9.log", "lpt1", "LPT9.x", "con .txt", "CONIN$"])
def test_device_names_are_defused(device: str) -> None:
    assert safe_name(device) == "_" + device


@pytest.mark.parametrize("name", ["CONSOLE", "com10", "lpt", "nulls.txt", "xcon"])
def test_names_that_merely_resemble_devices_are_kept(name: str) -> None:
    assert safe_name(name) == name


def test_unicode_is_normalised_to_nfc() -> None:
    nfd = unicodedata.normalize("NFD", "Zellkern_Größe_é.tif")
    assert nfd != "Zellkern_Größe_é.tif"
    assert safe_name(nfd) == "Zellkern_Größe_é.tif"


def test_long_names_are_truncated_keeping_the_extension() -> None:
    name = safe_name("é" * 300 + ".ome.tiff")
    assert len(name.encode()) <= 255
    assert name.endswith("é.tiff")
    assert safe_name("x" * 1000).encode() == b"x" * 255
    # An absurd "extension" is not kept whole.
    assert len(safe_name("a." + "b" * 400).encode()) == 255


def test_safe_relative_path() -> None:
    assert safe_relative_path("plate/A1//./img 1.tif") == PurePosixPath("plate/A1/img 1.tif")
    assert safe_relative_path("plate\\A1\\con.tif") == PurePosixPath("plate/A1/_con.tif")
    nfd = unicodedata.normalize("NFD", "é/ü.tif")
    assert str(safe_relative_path(nfd)) == "é/ü.tif"


@pytest.mark.parametrize("client", ["../../etc/passwd", "..\\..\\boot.ini", "/abs", "C:\\x",
                                    "c:x", "\\\\server\\share", "a/../../b", "a/..", "", "./"])
def test_safe_relative_path_refuses_escapes(client: str) -> None:
    with pytest.raises(UnsafeName):
        safe_relative_path(client)


# -- templates ---------------------------------------------------------------------------------

def test_default_fileset_dir(repo: Repository) -> None:
    assert repo.fileset_dir("alice", 3, 12, WHEN) == FILESET
    later = dt.datetime(2024, 5, 8, 1, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert repo.fileset_dir("alice", 3, 12, later) == FILESET  # dated in UTC
    assert not repo.root.exists()  # nothing created


def test_fileset_dir_sanitises_the_user_name(repo: Repository) -> None:
    assert repo.fileset_dir("../root", 0, 1, WHEN).parts[1] == "root_0"
    assert repo.fileset_dir("con", 0, 1, WHEN).parts[1] == "_con_0"
    assert repo.fileset_dir("x", 0, 1, WHEN, "{fileset}") == PurePosixPath("originals/1")


@pytest.mark.parametrize(("template", "message"), [
    ("{user}/{nope}/{fileset}", "unknown template field"),
    ("{user!r}/{fileset}", "unknown template field"),
    ("{user:>300}/{fileset}", "unknown template field"),
    ("{user}/{yyyy}", "must contain"),
    ("/{fileset}", "relative path"),
    ("{user}\\{fileset}", "relative path"),
    ("../{fileset}", "expands unsafely"),
    ("{user}/../../{fileset}", "expands unsafely"),
    ("{user}/con/{fileset}", "expands unsafely"),
    ("{user}/a\x00/{fileset}", "expands unsafely"),
    ("{user/{fileset}", "malformed"),
])
def test_template_validation(repo: Repository, template: str, message: str) -> None:
    with pytest.raises(InvalidTemplate, match=message):
        validate_template(template)
    with pytest.raises(InvalidTemplate, match=message):
        repo.fileset_dir("alice", 3, 12, WHEN, template)


def test_fileset_dir_refuses_naive_dates_and_bad_ids(repo: Repository) -> None:
    validate_template(DEFAULT_TEMPLATE)
    with pytest.raises(ValueError, match="naive"):
        repo.fileset_dir("alice", 3, 12, dt.datetime(2024, 5, 7))
    with pytest.raises(ValueError, match="non-negative"):
        repo.fileset_dir("alice", -3, 12, WHEN)


# -- writing -----------------------------------------------------------------------------------

def test_write_stream_is_hashed_sized_and_private(repo: Repository) -> None:
    chunks = [b"abc" * 1000, b"", b"\x00" * 70_000]
    stored = repo.write_stream(FILESET, "../cells.tif", iter(chunks), max_bytes=10**6)
    data = b"".join(chunks)
    assert stored.path == FILESET / "cells.tif"
    assert stored.size == len(data)
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    on_disk = repo.root / stored.path
    assert on_disk.read_bytes() == data
    assert stat.S_IMODE(on_disk.stat().st_mode) == 0o640
    assert _files(repo) == [str(stored.path)]


def test_write_stream_never_overwrites(repo: Repository) -> None:
    first = repo.write_stream(FILESET, "a.tif", [b"one"], max_bytes=100)
    second = repo.write_stream(FILESET, "a.tif", [b"two"], max_bytes=100)
    third = repo.write_stream(FILESET, "a.tif", [b"three"], max_bytes=100)
    noext = [repo.write_stream(FILESET, "README", [b"x"], max_bytes=100) for _ in range(2)]
    assert [s.path.name for s in (first, second, third, *noext)] == [
        "a.tif", "a (2).tif", "a (3).tif", "README", "README (2)"]
    assert (repo.root / first.path).read_bytes() == b"one"
    assert (repo.root / third.path).read_bytes() == b"three"


def test_write_stream_without_hard_links_still_never_overwrites(
        repo: Repository, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_link(*args: object, **kwargs: object) -> None:
        raise OSError(errno.EPERM, "hard links not supported")

    monkeypatch.setattr(os, "link", no_link)
    first = repo.write_stream(FILESET, "a.tif", [b"one"], max_bytes=100)
    second = repo.write_stream(FILESET, "a.tif", [b"two"], max_bytes=100)
    assert (first.path.name, second.path.name) == ("a.tif", "a (2).tif")
    assert _files(repo) == sorted([str(first.path), str(second.path)])


def test_too_large_leaves_nothing(repo: Repository) -> None:
    with pytest.raises(TooLarge, match="10 bytes"):
        repo.write_stream(FILESET, "big.bin", [b"12345", b"678901"], max_bytes=10)
    assert _files(repo) == []
    exact = repo.write_stream(FILESET, "ok.bin", [b"12345", b"67890"], max_bytes=10)
    assert exact.size == 10


def test_failing_iterator_leaves_nothing(repo: Repository) -> None:
    def chunks() -> Iterator[bytes]:
        yield b"partial data"
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        repo.write_stream(FILESET, "a.tif", chunks(), max_bytes=10**6)
    assert _files(repo) == []


def test_disk_full_leaves_nothing(repo: Repository, monkeypatch: pytest.MonkeyPatch) -> None:
    real_write = os.write
    calls = []

    def full(fd: int, data: bytes | memoryview) -> int:
        calls.append(len(data))
        if len(calls) > 1:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", full)
    with pytest.raises(OSError, match="No space") as caught:
        repo.write_stream(FILESET, "a.tif", [b"x" * 10, b"y" * 10], max_bytes=100)
    assert caught.value.errno == errno.ENOSPC
    assert _files(repo) == []


def test_failure_after_publishing_removes_the_file(
        repo: Repository, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(directory: Path) -> None:
        raise OSError(errno.EIO, "I/O error")

    repo.write_stream(FILESET, "keep.tif", [b"kept"], max_bytes=100)
    monkeypatch.setattr(repo_module, "_fsync_dir", broken)
    with pytest.raises(OSError, match="I/O error"):
        repo.write_stream(FILESET, "a.tif", [b"data"], max_bytes=100)
    assert _files(repo) == [str(FILESET / "keep.tif")]


def test_partial_writes_are_completed(repo: Repository, monkeypatch: pytest.MonkeyPatch) -> None:
    real_write = os.write

    def short(fd: int, data: bytes | memoryview) -> int:
        return real_write(fd, bytes(data[:3]))

    monkeypatch.setattr(os, "write", short)
    stored = repo.write_stream(FILESET, "a.bin", [b"0123456789"], max_bytes=100)
    assert (repo.root / stored.path).read_bytes() == b"0123456789"


@pytest.mark.parametrize("relative_dir", ["../outside", "/abs/originals/x", "originals",
                                          "derived/x", "originals/../x", "originals\\x",
                                          "originals/con", "x/originals"])
def test_write_stream_refuses_bad_directories(repo: Repository, relative_dir: str) -> None:
    with pytest.raises(UnsafePath):
        repo.write_stream(relative_dir, "a.tif", [b"x"], max_bytes=100)
    assert _files(repo) == []


def test_write_stream_refuses_a_symlinked_directory(repo: Repository, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (repo.originals).mkdir(parents=True)
    (repo.originals / "alice_3").symlink_to(outside)
    with pytest.raises(UnsafePath, match="symlink"):
        repo.write_stream(FILESET, "a.tif", [b"x"], max_bytes=100)
    assert list(outside.iterdir()) == []


# -- reading, derived data, rollback -----------------------------------------------------------

def test_open_original(repo: Repository) -> None:
    stored = repo.write_stream(FILESET, "a.tif", [b"pixels"], max_bytes=100)
    with repo.open_original(stored.path) as f:
        assert f.read() == b"pixels"
    with repo.open_original(str(stored.path)) as f:
        assert f.read() == b"pixels"


def test_open_original_refuses_symlink_escapes(repo: Repository, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("secret")
    repo.write_stream(FILESET, "a.tif", [b"x"], max_bytes=100)
    fileset = repo.root / FILESET
    (fileset / "evil.tif").symlink_to(secret)
    (fileset / "evildir").symlink_to(tmp_path)
    (fileset / "derived.tif").symlink_to(repo.root / "derived.tif")
    (repo.root / "derived.tif").write_bytes(b"not an original")
    for name in ("evil.tif", "evildir/secret.txt", "derived.tif"):
        with pytest.raises(UnsafePath, match="outside"):
            repo.open_original(FILESET / name)
    # A symlink that stays inside the originals tree is followed.
    (fileset / "alias.tif").symlink_to(fileset / "a.tif")
    with repo.open_original(FILESET / "alias.tif") as f:
        assert f.read() == b"x"


@pytest.mark.parametrize("path", ["../secret.txt", "/etc/passwd", "originals/../secret.txt",
                                  "derived/images/0/1/thumb.png", "originals"])
def test_open_original_refuses_paths_outside_originals(repo: Repository, path: str) -> None:
    with pytest.raises(UnsafePath):
        repo.open_original(path)


def test_open_original_refuses_directories_and_missing_files(repo: Repository) -> None:
    repo.write_stream(FILESET, "a.tif", [b"x"], max_bytes=100)
    with pytest.raises(UnsafePath, match="regular file"):
        repo.open_original(FILESET)
    with pytest.raises(FileNotFoundError):
        repo.open_original(FILESET / "missing.tif")


def test_derived_dir(repo: Repository) -> None:
    path = repo.derived_dir(123_456)
    assert path == repo.root / "derived/images/123/123456"
    assert not path.exists()
    assert repo.derived_dir(7, create=True).is_dir()
    with pytest.raises(ValueError, match="non-negative"):
        repo.derived_dir(-1)


def test_remove_fileset(repo: Repository) -> None:
    other = repo.write_stream(FILESET.parent / "13", "b.tif", [b"b"], max_bytes=100)
    repo.write_stream(FILESET, "a.tif", [b"a"], max_bytes=100)
    repo.write_stream(FILESET / "sub", "c.tif", [b"c"], max_bytes=100)
    repo.remove_fileset(FILESET)
    assert _files(repo) == [str(other.path)]
    repo.remove_fileset(other.path.parent)
    assert list(repo.originals.iterdir()) == []  # empty parents pruned
    repo.remove_fileset(FILESET)  # idempotent


def test_remove_fileset_refuses_escapes(repo: Repository, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep").write_text("keep")
    repo.originals.mkdir(parents=True)
    (repo.originals / "link").symlink_to(outside)
    for bad in ("originals/link", "../outside", "originals", "originals/../../outside"):
        with pytest.raises(UnsafePath):
            repo.remove_fileset(bad)
    assert (outside / "keep").exists()


def test_duplicate_names_stay_within_the_length_limit(repo: Repository) -> None:
    long = "n" * 260 + ".tif"
    paths = [repo.write_stream(FILESET, long, [b"x"], max_bytes=10).path for _ in range(3)]
    assert len({p.name for p in paths}) == 3
    assert all(len(p.name.encode()) <= 255 for p in paths)
    assert paths[2].name.endswith(" (3).tif")


# -- storing files already on the server -----------------------------------------------------

def test_copy_file_stores_a_hashed_private_copy(repo: Repository, tmp_path: Path) -> None:
    source = tmp_path / "scan.tif"
    data = os.urandom(3 * (1 << 20) + 17)
    source.write_bytes(data)
    stored = repo.copy_file(FILESET, "scan.tif", source, max_bytes=len(data))
    on_disk = repo.root / stored.path
    assert (stored.size, stored.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    assert on_disk.read_bytes() == data and on_disk.stat().st_ino != source.stat().st_ino
    assert stat.S_IMODE(on_disk.stat().st_mode) == 0o640
    with pytest.raises(TooLarge):
        repo.copy_file(FILESET, "again.tif", source, max_bytes=len(data) - 1)
    assert _files(repo) == [str(stored.path)]


def test_adopt_links_a_staged_upload_without_copying(repo: Repository) -> None:
    staged = repo.root / "staging" / "7" / "0"
    staged.parent.mkdir(parents=True)
    staged.write_bytes(b"uploaded bytes")
    stored = repo.adopt(FILESET, "../up.tif", staged, max_bytes=100)
    assert stored.path == FILESET / "up.tif"
    assert (repo.root / stored.path).stat().st_ino == staged.stat().st_ino
    assert stored.sha256 == hashlib.sha256(b"uploaded bytes").hexdigest()
    with pytest.raises(TooLarge):
        repo.adopt(FILESET, "small.tif", staged, max_bytes=3)
    assert str(FILESET / "small.tif") not in _files(repo)


def test_adopt_copies_when_the_staging_area_is_on_another_filesystem(
        repo: Repository, monkeypatch: pytest.MonkeyPatch) -> None:
    staged = repo.root / "staging" / "8" / "0"
    staged.parent.mkdir(parents=True)
    staged.write_bytes(b"across devices")
    real_link = os.link

    def cross_device(src: object, dst: object, **kwargs: object) -> None:
        if "staging" in str(src):
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        real_link(src, dst, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "link", cross_device)
    stored = repo.adopt(FILESET, "x.tif", staged, max_bytes=100)
    assert (repo.root / stored.path).read_bytes() == b"across devices"
    assert (repo.root / stored.path).stat().st_ino != staged.stat().st_ino
