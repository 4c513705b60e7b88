"""Regions anywhere in any level decode only the segments they touch, edges included."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tifffile

from engine.metadata import Quantity
from engine.readers import Region, open_image_file

RNG = np.random.default_rng(11)


def _pyramid(path: Path, levels: int = 3) -> list[np.ndarray]:
    """An OME-TIFF pyramid of odd sizes (75x53 down), so every level has partial tiles."""
    base = RNG.integers(0, 65535, (2, 53, 75), np.uint16)
    planes = [base[:, :: 2**n, :: 2**n] for n in range(levels)]
    with tifffile.TiffWriter(path, ome=True, byteorder=">") as tif:
        tif.write(
            planes[0],
            subifds=levels - 1,
            tile=(16, 16),
            compression="zlib",
            photometric="minisblack",
            metadata={"axes": "CYX"},
        )
        for level in planes[1:]:
            tif.write(
                level, subfiletype=1, tile=(16, 16), compression="zlib", photometric="minisblack"
            )
    return planes


def test_regions_across_tile_boundaries_at_every_level(tmp_path: Path) -> None:
    planes = _pyramid(tmp_path / "p.ome.tif")
    source = open_image_file(tmp_path / "p.ome.tif")
    try:
        meta = source.images[0]
        assert meta.resolution_levels == ((75, 53), (38, 27), (19, 14))
        for level, expected in enumerate(planes):
            _, height, width = expected.shape
            corner = min(15, height - 2)
            boxes = ((0, 0, width, height), (15, corner, 2, 2), (width - 3, height - 2, 3, 2),
                     (1, 3, width - 1, height - 4), (14, 0, 3, height))  # fmt: skip
            for x, y, w, h in boxes:
                region = source.read_region(Region(0, level, 0, 1, 0, x, y, w, h))
                np.testing.assert_array_equal(region, expected[1, y : y + h, x : x + w])
    finally:
        source.close()


def test_a_small_region_reads_only_the_tiles_it_touches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "big.tif"
    data = RNG.integers(0, 255, (1024, 1024), np.uint8)
    tifffile.imwrite(path, data, tile=(64, 64), photometric="minisblack")
    source = open_image_file(path)
    counted: list[int] = []
    original = tifffile.FileHandle.read

    def counting_read(self: tifffile.FileHandle, size: int = -1) -> bytes:
        counted.append(size)
        return original(self, size)

    monkeypatch.setattr(tifffile.FileHandle, "read", counting_read)
    region = source.read_region(Region(x=60, y=60, width=10, height=10))
    source.close()
    np.testing.assert_array_equal(region, data[60:70, 60:70])
    assert sum(counted) == 4 * 64 * 64


def test_ome_plane_positions_and_acquisition_date(tmp_path: Path) -> None:
    path = tmp_path / "planes.ome.tif"
    metadata = {
        "axes": "TZYX",
        "AcquisitionDate": "2024-05-01T10:30:00",
        "Plane": {
            "PositionX": [1.0, 2.0, 3.0, 4.0],
            "PositionXUnit": ["mm"] * 4,
            "PositionY": [5.0] * 4,
            "DeltaT": [0.0, 0.0, 1.5, 1.5],
            "ExposureTime": [10.0] * 4,
            "ExposureTimeUnit": ["ms"] * 4,
        },
    }
    data = np.zeros((2, 2, 8, 8), np.uint8)
    tifffile.imwrite(path, data, ome=True, photometric="minisblack", metadata=metadata)
    source = open_image_file(path)
    meta = source.images[0]
    source.close()
    assert (meta.size_t, meta.size_z) == (2, 2)
    assert meta.acquisition_date is not None
    assert meta.acquisition_date.isoformat() == "2024-05-01T10:30:00"
    assert [p.position_x for p in meta.planes] == [Quantity(v, "mm") for v in (1, 2, 3, 4)]
    assert [(p.z, p.t) for p in meta.planes] == [(0, 0), (1, 0), (0, 1), (1, 1)]
    assert meta.planes[3].delta_t == Quantity(1.5, "s")
    assert meta.planes[0].exposure_time == Quantity(10.0, "ms")
    assert meta.planes[0].position_z is None


def test_imagej_hyperstack_axes_spacing_units_and_interval(tmp_path: Path) -> None:
    path = tmp_path / "hyper.tif"
    data = np.zeros((3, 4, 2, 6, 5), np.uint16)
    metadata = {"axes": "TZCYX", "spacing": 0.8, "unit": "nm", "finterval": 0.25}
    tifffile.imwrite(path, data, imagej=True, resolution=(10.0, 20.0), metadata=metadata)
    source = open_image_file(path)
    meta = source.images[0]
    source.close()
    assert (meta.size_t, meta.size_z, meta.size_c) == (3, 4, 2)
    assert meta.physical_size_x == Quantity(0.1, "nm")
    assert meta.physical_size_y == Quantity(0.05, "nm")
    assert meta.physical_size_z == Quantity(0.8, "nm")
    assert meta.time_increment == Quantity(0.25, "s")
