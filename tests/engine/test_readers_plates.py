"""Plates in OME-XML: wells and fields come out with the series they point at."""

from __future__ import annotations

from pathlib import Path

from engine.metadata import Quantity
from engine.readers import Region, open_fileset
from tests.engine.plates import write_plate


def test_a_plate_lists_its_wells_and_fields_as_series(tmp_path: Path) -> None:
    data = write_plate(tmp_path / "plate.ome.tif", rows=2, columns=3, fields=2)
    source = open_fileset([tmp_path / "plate.ome.tif"])
    try:
        assert len(source.images) == 12
        (plate,) = source.plates
        assert (plate.name, plate.rows, plate.columns) == ("Assay plate 1", 2, 3)
        assert (plate.row_naming, plate.column_naming) == ("letter", "number")
        assert [(w.row, w.column) for w in plate.wells] == [
            (0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)]
        last = plate.wells[-1].samples[1]
        assert last.series == 11 and last.position_x == Quantity(100.0, "µm")
        plane = source.read_region(Region(last.series, 0, 0, 0, 0, 0, 0, 32, 24))
        assert (plane == data[11]).all()
    finally:
        source.close()


def test_plate_series_are_renumbered_after_other_files(tmp_path: Path) -> None:
    import numpy as np
    import tifffile

    tifffile.imwrite(tmp_path / "a.tif", np.zeros((4, 4), np.uint8))
    write_plate(tmp_path / "plate.ome.tif", rows=1, columns=1, fields=2)
    source = open_fileset([tmp_path / "a.tif", tmp_path / "plate.ome.tif"])
    try:
        assert [s.series for s in source.plates[0].wells[0].samples] == [1, 2]
    finally:
        source.close()
