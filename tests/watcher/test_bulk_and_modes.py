"""A bulk copy, polling for network shares, moving files after import, one watcher per box."""

from __future__ import annotations

import shutil

from sqlalchemy import func, select

from store.models import Image, Job
from tests.watcher.conftest import Box, wait_for
from tests.watcher.files import drop, tiff_bytes
from watcher.loop import Watcher


def test_a_bulk_copy_imports_every_file_once(box: Box) -> None:
    box.user("ann", "lab")
    box.start()
    staging = box.tmp_path / "staging" / "bulk"
    body = tiff_bytes(box.tmp_path, 1, (8, 8))
    for n in range(300):
        drop(staging / f"s{n:03}.tif", body[:-4] + n.to_bytes(4, "little"))
    drop(staging / "big.tif", tiff_bytes(box.tmp_path, 2, (600, 800)))
    shutil.copytree(staging, box.root / "ann" / "bulk")  # as a bulk copy onto the share
    rows = box.settled(301, timeout=240)
    assert len(rows) == 301
    assert {r.state for r in rows} == {"imported"}, {r.path: r.error for r in rows
                                                     if r.state != "imported"}
    with box.readers() as db:
        assert db.scalar(select(func.count()).select_from(Image)) == 301
        assert db.scalar(select(func.count()).select_from(Job)) == 301


def test_polling_mode_sees_files(box: Box) -> None:
    box.settings = box.settings.__class__(**{**box.settings.__dict__, "dropbox_poll": True,
                                            "dropbox_poll_interval": 0.1})
    box.user("ann", "lab")
    box.start()
    drop(box.root / "ann" / "polled.tif", tiff_bytes(box.tmp_path, 3))
    box.wait_state("ann/polled.tif", "imported")


def test_files_can_be_moved_away_after_import(box: Box) -> None:
    box.settings = box.settings.__class__(**{**box.settings.__dict__,
                                            "dropbox_after_import": "move"})
    box.user("ann", "lab")
    box.start()
    drop(box.root / "ann" / "d" / "away.tif", tiff_bytes(box.tmp_path, 4))
    wait_for(lambda: (box.root / "ann" / ".imported" / "d" / "away.tif").exists(),
             what="the file moved")
    row = box.wait_state("ann/d/away.tif", "imported")
    assert not (box.root / "ann" / "d" / "away.tif").exists()
    assert "moved to ann/.imported/d/away.tif" in (row.message or "")


def test_a_second_watcher_stands_by(box: Box) -> None:
    box.user("ann", "lab")
    first = box.start()
    second = Watcher(box.settings, box.writers, lambda job, kind: None)
    second.start()
    try:
        drop(box.root / "ann" / "x.tif", tiff_bytes(box.tmp_path, 5))
        box.wait_state("ann/x.tif", "imported")
        assert first.ready.is_set() and not second.ready.is_set()
    finally:
        second.stop()
