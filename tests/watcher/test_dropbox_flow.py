"""Files dropped into a real folder become images, through the real watcher."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from store.models import Dataset, DatasetImageLink, Image, Project, ProjectDatasetLink
from tests.watcher.conftest import QUIET, Box
from tests.watcher.files import drop, drop_via_temp, tiff_bytes


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_files_map_to_default_dataset_dataset_and_project(box: Box) -> None:
    ann = box.user("ann", "lab")
    box.start()
    drop(box.root / "ann" / "a.tif", tiff_bytes(box.tmp_path, 1))
    drop(box.root / "ann" / "run 1" / "b.tif", tiff_bytes(box.tmp_path, 2))
    drop(box.root / "ann" / "proj" / "ds" / "c.tif", tiff_bytes(box.tmp_path, 3))

    rows = box.settled(3)
    assert {r.path: r.state for r in rows} == {
        "ann/a.tif": "imported", "ann/run 1/b.tif": "imported",
        "ann/proj/ds/c.tif": "imported"}
    with box.readers() as db:
        def dataset_of(row_path: str) -> str:
            row = next(r for r in rows if r.path == row_path)
            assert row.image_ids and len(row.image_ids) == 1
            image = db.get(Image, row.image_ids[0])
            assert image is not None and image.owner_id == ann
            name = db.scalar(select(Dataset.name).join(
                DatasetImageLink, DatasetImageLink.parent_id == Dataset.id).where(
                DatasetImageLink.child_id == image.id))
            return str(name)

        assert dataset_of("ann/a.tif") == "DropBox"
        assert dataset_of("ann/run 1/b.tif") == "run 1"
        assert dataset_of("ann/proj/ds/c.tif") == "ds"
        project = db.scalar(select(Project.name).join(
            ProjectDatasetLink, ProjectDatasetLink.parent_id == Project.id).join(
            Dataset, Dataset.id == ProjectDatasetLink.child_id).where(Dataset.name == "ds"))
        assert project == "proj"


def test_a_group_folder_chooses_the_group(box: Box) -> None:
    box.user("ann", "lab", "other")
    box.start()
    drop(box.root / "ann" / "other" / "x" / "g.tif", tiff_bytes(box.tmp_path, 4))
    row = box.wait_state("ann/other/x/g.tif", "imported")
    with box.readers() as db:
        image = db.get(Image, (row.image_ids or [0])[0])
        assert image is not None
        group_name = db.scalar(select(Dataset.name).join(
            DatasetImageLink, DatasetImageLink.parent_id == Dataset.id).where(
            DatasetImageLink.child_id == image.id))
        assert group_name == "x"
        assert row.group_id == image.group_id
    from store.models import ExperimenterGroup
    with box.readers() as db:
        assert db.get(ExperimenterGroup, row.group_id).name == "other"  # type: ignore[union-attr]


def test_partial_writes_wait_for_the_quiet_period(box: Box) -> None:
    box.user("ann", "lab")
    box.start()
    body = tiff_bytes(box.tmp_path, 5)
    path = box.root / "ann" / "slow.tif"
    path.parent.mkdir()
    with path.open("wb") as handle:  # a writer that keeps the file open and pauses
        for start in range(0, len(body), 400):
            handle.write(body[start:start + 400])
            handle.flush()
            time.sleep(QUIET / 4)
        row = box.current("ann/slow.tif")
        assert row is None or row.state == "pending"
        time.sleep(QUIET * 2)  # quiet, but still open for writing
        row = box.current("ann/slow.tif")
        assert row is None or row.state == "pending"
    row = box.wait_state("ann/slow.tif", "imported")
    assert row.size == len(body)
    assert len(box.rows()) == 1


def test_temporary_names_are_ignored_until_renamed(box: Box) -> None:
    box.user("ann", "lab")
    box.start()
    for suffix in (".part", ".tmp", ".crdownload", "~"):
        drop(box.root / "ann" / f"keep{suffix}", b"not yet")
    drop(box.root / "ann" / ".hidden.tif", b"hidden")
    drop(box.root / "ann" / "Thumbs.db", b"x")
    drop(box.root / "ann" / ".DS_Store", b"x")
    drop_via_temp(box.root / "ann" / "done.tif", tiff_bytes(box.tmp_path, 6))
    box.wait_state("ann/done.tif", "imported")
    time.sleep(QUIET * 2)
    assert [r.path for r in box.rows()] == ["ann/done.tif"]


def test_unicode_and_spaces_in_names(box: Box) -> None:
    box.user("ann", "lab")
    box.start()
    name = "ann/Zellkultur \u00fc/Bild 1 \u2013 \u00b5m \u2713 \u65e5\u672c.tif"
    drop(box.root / name, tiff_bytes(box.tmp_path, 7))
    row = box.wait_state(name, "imported")
    with box.readers() as db:
        image = db.get(Image, (row.image_ids or [0])[0])
        assert image is not None and "Bild 1" in image.name


def test_a_folder_of_no_user_is_ignored_with_a_log_line(
        box: Box, caplog: pytest.LogCaptureFixture) -> None:
    box.user("ann", "lab")
    box.start()
    drop(box.root / "nobody" / "x.tif", tiff_bytes(box.tmp_path, 8))
    drop(box.root / "loose.tif", tiff_bytes(box.tmp_path, 9))
    drop(box.root / "ann" / "y.tif", tiff_bytes(box.tmp_path, 10))
    box.wait_state("ann/y.tif", "imported")
    assert [r.path for r in box.rows()] == ["ann/y.tif"]
    assert any("'nobody' names no user" in m for m in caplog.messages)


def test_a_file_that_vanishes_before_import_is_forgotten(box: Box) -> None:
    box.user("ann", "lab")
    box.start()
    path = drop(box.root / "ann" / "gone.tif", tiff_bytes(box.tmp_path, 11))
    path.unlink()
    drop(box.root / "ann" / "stays.tif", tiff_bytes(box.tmp_path, 12))
    box.wait_state("ann/stays.tif", "imported")
    from tests.watcher.conftest import wait_for
    wait_for(lambda: box.current("ann/gone.tif") is None, what="the vanished file forgotten")


def test_a_bad_file_fails_alone_with_a_reason(box: Box) -> None:
    box.user("ann", "lab")
    box.start()
    drop(box.root / "ann" / "broken.tif", b"II*\x00 this is not a tiff")
    drop(box.root / "ann" / "notes.txt", b"hello")
    drop(box.root / "ann" / "good.tif", tiff_bytes(box.tmp_path, 13))
    rows = {r.path: r for r in box.settled(3)}
    assert rows["ann/good.tif"].state == "imported"
    for name in ("ann/broken.tif", "ann/notes.txt"):
        assert rows[name].state == "failed"
        assert rows[name].error
