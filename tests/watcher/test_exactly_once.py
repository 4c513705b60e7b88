"""Exactly once: restarts, rescans, permission changes, edits, moves and renames."""

from __future__ import annotations

import os
import time

import pytest
from sqlalchemy import func, select

from store.models import Image, Job
from tests.watcher.conftest import QUIET, Box, wait_for
from tests.watcher.files import drop, per_channel_fileset, tiff_bytes


def image_count(box: Box) -> int:
    with box.readers() as db:
        return int(db.scalar(select(func.count()).select_from(Image)) or 0)


def job_count(box: Box) -> int:
    with box.readers() as db:
        return int(db.scalar(select(func.count()).select_from(Job)) or 0)


def test_restart_rescan_and_chmod_do_not_import_again(box: Box) -> None:
    box.user("ann", "lab")
    watcher = box.start()
    path = drop(box.root / "ann" / "once.tif", tiff_bytes(box.tmp_path, 1))
    box.wait_state("ann/once.tif", "imported")
    os.chmod(path, 0o600)
    os.chmod(path.parent, 0o700)
    watcher.scan_all()
    box.stop()
    os.utime(path)  # touched while no one watched: same bytes, new mtime
    box.start()
    time.sleep(QUIET * 3)
    box.settled(1)
    assert image_count(box) == 1 and job_count(box) == 1
    assert [r.state for r in box.rows()] == ["imported"]


@pytest.mark.parametrize("reimport", [False, True])
def test_a_file_changed_after_import(box: Box, reimport: bool) -> None:
    box.settings = box.settings.__class__(**{**box.settings.__dict__,
                                            "dropbox_reimport_changed": reimport})
    box.user("ann", "lab")
    box.start()
    path = drop(box.root / "ann" / "v.tif", tiff_bytes(box.tmp_path, 2))
    box.wait_state("ann/v.tif", "imported")
    drop(path, tiff_bytes(box.tmp_path, 3))
    if reimport:
        wait_for(lambda: len([r for r in box.rows("ann/v.tif")
                              if r.state == "imported"]) == 2, what="a second version")
        assert image_count(box) == 2
    else:
        row = box.wait_state("ann/v.tif", "changed")
        assert "changed after it was imported" in (row.message or "")
        assert image_count(box) == 1


def test_moves_and_renames_inside_the_dropbox_do_not_duplicate(box: Box) -> None:
    box.user("ann", "lab")
    box.start()
    path = drop(box.root / "ann" / "a" / "m.tif", tiff_bytes(box.tmp_path, 4))
    box.wait_state("ann/a/m.tif", "imported")
    (box.root / "ann" / "b").mkdir()
    os.rename(path, box.root / "ann" / "b" / "renamed.tif")
    row = box.wait_state("ann/b/renamed.tif", "imported")
    assert "moved from ann/a/m.tif" in (row.message or "")
    os.rename(box.root / "ann" / "b", box.root / "ann" / "c")  # a whole folder
    box.wait_state("ann/c/renamed.tif", "imported")
    assert image_count(box) == 1 and job_count(box) == 1


def test_a_second_copy_at_another_path_is_imported(box: Box) -> None:
    box.user("ann", "lab")
    box.start()
    body = tiff_bytes(box.tmp_path, 5)
    drop(box.root / "ann" / "one.tif", body)
    box.wait_state("ann/one.tif", "imported")
    drop(box.root / "ann" / "two.tif", body)
    box.wait_state("ann/two.tif", "imported")
    assert image_count(box) == 2


@pytest.mark.parametrize("order", [[0, 1, 2], [2, 0, 1], [1, 2, 0]])
def test_companion_files_in_any_order_make_one_fileset(box: Box, order: list[int]) -> None:
    box.user("ann", "lab")
    box.start()
    files = list(per_channel_fileset(box.tmp_path).items())
    folder = box.root / "ann" / "multi"
    drop(folder / files[order[0]][0], files[order[0]][1])
    row = box.wait_state(f"ann/multi/{files[order[0]][0]}", "waiting")
    assert "waiting for companion files" in (row.message or "")
    for index in order[1:]:
        time.sleep(QUIET)
        drop(folder / files[index][0], files[index][1])
    rows = box.settled(3)
    assert {r.state for r in rows} == {"imported"}
    assert len({r.job_id for r in rows}) == 1
    assert {r.fileset_head for r in rows} == {"ann/multi/c0.ome.tif"}
    assert image_count(box) == 1


def test_restart_in_the_middle_of_a_batch(box: Box) -> None:
    box.user("ann", "lab")
    box.start()
    names = [f"ann/batch/f{n:02}.tif" for n in range(30)]
    for n, name in enumerate(names[:15]):
        drop(box.root / name, tiff_bytes(box.tmp_path, 100 + n))
    wait_for(lambda: any(r.state in ("importing", "imported") for r in box.rows()),
             what="the first imports")
    box.stop()
    for n, name in enumerate(names[15:]):  # arrive while the watcher is down
        drop(box.root / name, tiff_bytes(box.tmp_path, 200 + n))
    box.start()
    rows = box.settled(30)
    assert sorted(r.path for r in rows) == names
    assert {r.state for r in rows} == {"imported"}
    assert image_count(box) == 30 and job_count(box) == 30


def test_a_file_seen_twice_in_one_batch_gets_one_row(box: Box) -> None:
    # A new folder's event and its file's event often arrive in the same batch.
    from watcher.disk import walk
    from watcher.ledger import UnknownFolders, observe

    box.user("ann", "lab")
    drop(box.root / "ann" / "new" / "f.tif", b"x")
    seen = list(walk(box.root, box.root / "ann" / "new"))
    with box.writers() as db:
        observe(db, seen + seen, UnknownFolders())
        observe(db, seen, UnknownFolders())
    assert [r.path for r in box.rows()] == ["ann/new/f.tif"]


def test_an_unreadable_file_waits_until_it_can_be_read(box: Box) -> None:
    if os.geteuid() == 0:
        pytest.skip("root reads files whatever their permissions")
    box.user("ann", "lab")
    box.start()
    path = drop(box.root / "ann" / "locked.tif", tiff_bytes(box.tmp_path, 6))
    os.chmod(path, 0)
    row = wait_for(lambda: (r := box.current("ann/locked.tif")) and r.message and r,
                   what="the permission message")
    assert "permission denied" in (row.message or "")
    os.chmod(path, 0o644)
    box.wait_state("ann/locked.tif", "imported")


def test_a_moved_multi_file_fileset_is_not_imported_again(box: Box) -> None:
    box.user("ann", "lab")
    box.start()
    folder = box.root / "ann" / "multi"
    for name, body in per_channel_fileset(box.tmp_path).items():
        drop(folder / name, body)
    rows = box.settled(3)
    assert {r.state for r in rows} == {"imported"}
    os.rename(folder, box.root / "ann" / "moved")  # the whole fileset, one rename
    for name in ("c0.ome.tif", "c1.ome.tif", "c2.ome.tif"):
        row = box.wait_state(f"ann/moved/{name}", "imported")
        assert "moved from ann/multi/" in (row.message or "")
    assert image_count(box) == 1 and job_count(box) == 1
