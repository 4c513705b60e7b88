"""Which dropped names count and where each path goes."""

from __future__ import annotations

import pytest

from watcher.paths import Placement, is_ignored, place

GROUPS = frozenset({"lab", "other"})


@pytest.mark.parametrize(("path", "expected"), [
    ("ann/a.tif", Placement("ann", None, None, None, "a.tif")),
    ("ann/run 1/a.tif", Placement("ann", None, None, "run 1", "a.tif")),
    ("ann/p/d/a.tif", Placement("ann", None, "p", "d", "a.tif")),
    ("ann/p/d/deeper/a.tif", Placement("ann", None, "p", "d", "deeper/a.tif")),
    ("ann/lab/a.tif", Placement("ann", "lab", None, None, "a.tif")),
    ("ann/other/d/a.tif", Placement("ann", "other", None, "d", "a.tif")),
    ("ann/other/p/d/a.tif", Placement("ann", "other", "p", "d", "a.tif")),
    ("ann/elsewhere/a.tif", Placement("ann", None, None, "elsewhere", "a.tif")),
])
def test_placement(path: str, expected: Placement) -> None:
    assert place(path, GROUPS) == expected


@pytest.mark.parametrize("path", [
    "loose.tif", "ann/.x.tif", "ann/x.tif.part", "ann/x.TMP", "ann/x.crdownload", "ann/x~",
    "ann/~$x.docx", "ann/Thumbs.db", "ann/.DS_Store", "ann/.imported/x.tif", "ann/d/x.partial",
])
def test_ignored(path: str) -> None:
    assert is_ignored(path)


@pytest.mark.parametrize("path", ["ann/x.tif", "ann/d/x.ome.tiff", "ann/a b/\u00fc.png"])
def test_not_ignored(path: str) -> None:
    assert not is_ignored(path)
