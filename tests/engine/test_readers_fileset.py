"""Multi-file OME-TIFF filesets: planes come from the right file, names in XML are vetted."""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

from engine.errors import CorruptFile
from engine.metadata import Quantity
from engine.readers import Region, companion_files, open_fileset, open_image_file

NS = "http://www.openmicroscopy.org/Schemas/OME/2016-06"


def _ome_xml(own: str, files: dict[str, str], size: tuple[int, int], names: list[str]) -> str:
    """One image XYZCT of 3 z and len(files) channels, one file per channel of 3 pages."""
    width, height = size
    tiffdata = "".join(
        f'<TiffData FirstC="{c}" FirstZ="0" IFD="0" PlaneCount="3">'
        f'<UUID FileName="{name}">urn:uuid:{files[name]}</UUID></TiffData>'
        for c, name in enumerate(names)
    )
    planes = "".join(
        f'<Plane TheZ="{z}" TheC="{c}" TheT="0" PositionX="{10 + z}" PositionXUnit="mm" '
        f'PositionY="2.5" PositionZ="{z * 0.5}" PositionZUnit="&#181;m" DeltaT="{c}.5" '
        f'ExposureTime="20" ExposureTimeUnit="ms"/>'
        for c in range(len(names))
        for z in range(3)
    )
    channels = "".join(
        f'<Channel ID="Channel:0:{c}" Name="ch{c}" SamplesPerPixel="1"/>' for c in range(len(names))
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><OME xmlns="{NS}" UUID="urn:uuid:{own}">'
        f'<Image ID="Image:0" Name="joined"><Pixels ID="Pixels:0" DimensionOrder="XYZCT" '
        f'Type="uint16" SizeX="{width}" SizeY="{height}" SizeZ="3" SizeC="{len(names)}" '
        f'SizeT="1" PhysicalSizeX="0.5" PhysicalSizeY="0.5">{channels}{tiffdata}{planes}'
        f"</Pixels></Image></OME>"
    )


def write_per_channel(
    folder: Path, channels: int = 2, pyramid: bool = False, names: list[str] | None = None
) -> tuple[list[Path], np.ndarray]:
    """Files c0.ome.tif, c1.ome.tif, ... each holding the 3 z planes of one channel."""
    data = np.random.default_rng(3).integers(0, 60000, (channels, 3, 40, 52), np.uint16)
    files = [f"c{c}.ome.tif" for c in range(channels)]
    ids = {name: str(uuid.uuid4()) for name in [*files, *(names or [])]}
    paths = []
    for c, name in enumerate(files):
        xml = _ome_xml(ids[name], ids, (52, 40), names or files)
        path = folder / name
        with tifffile.TiffWriter(path, ome=False) as tif:
            for z in range(3):
                tif.write(
                    data[c, z],
                    photometric="minisblack",
                    tile=(16, 16),
                    metadata=None,
                    description=xml if z == 0 else None,
                    subifds=1 if pyramid else None,
                )
                if pyramid:
                    tif.write(
                        data[c, z, ::2, ::2],
                        photometric="minisblack",
                        tile=(16, 16),
                        subfiletype=1,
                        metadata=None,
                    )
        paths.append(path)
    return paths, data


def test_one_image_spans_the_files(tmp_path: Path) -> None:
    paths, data = write_per_channel(tmp_path, channels=3)
    source = open_fileset(list(reversed(paths)))
    try:
        assert len(source.images) == 1
        meta = source.images[0]
        assert (meta.size_z, meta.size_c, meta.size_t) == (3, 3, 1)
        assert meta.name == "joined"
        assert [ch.name for ch in meta.channels] == ["ch0", "ch1", "ch2"]
        assert meta.physical_size_x == Quantity(0.5, "µm")
        assert source.file_of(0) == paths[2]
        assert sorted(source.files) == sorted(paths)
        assert sorted(source.files_of(0)) == sorted(paths)
        for c in range(3):
            for z in range(3):
                plane = source.read_region(Region(0, 0, z, c, 0, 0, 0, 52, 40))
                np.testing.assert_array_equal(plane, data[c, z])
        region = source.read_region(Region(0, 0, 2, 1, 0, 13, 9, 30, 20))
        np.testing.assert_array_equal(region, data[1, 2, 9:29, 13:43])
    finally:
        source.close()


def test_plane_positions_come_from_the_xml(tmp_path: Path) -> None:
    paths, _ = write_per_channel(tmp_path)
    source = open_fileset(paths)
    planes = source.images[0].planes
    source.close()
    assert len(planes) == 6
    plane = next(p for p in planes if (p.z, p.c, p.t) == (2, 1, 0))
    assert plane.position_x == Quantity(12.0, "mm")
    assert plane.position_y == Quantity(2.5, "reference frame")
    assert plane.position_z == Quantity(1.0, "µm")
    assert plane.delta_t == Quantity(1.5, "s")
    assert plane.exposure_time == Quantity(20.0, "ms")


def test_pyramid_levels_span_the_files(tmp_path: Path) -> None:
    paths, data = write_per_channel(tmp_path, pyramid=True)
    source = open_fileset(paths)
    try:
        meta = source.images[0]
        assert meta.resolution_levels == ((52, 40), (26, 20))
        level = source.read_region(Region(0, 1, 1, 1, 0, 5, 3, 20, 15))
        np.testing.assert_array_equal(level, data[1, 1, ::2, ::2][3:18, 5:25])
    finally:
        source.close()


def test_companion_files_lists_the_others(tmp_path: Path) -> None:
    paths, _ = write_per_channel(tmp_path, channels=3)
    assert companion_files(paths[1]) == ["c0.ome.tif", "c2.ome.tif"]
    png = tmp_path / "plain.png"
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(png)
    assert companion_files(png) == []


def test_missing_companion_is_named(tmp_path: Path) -> None:
    paths, _ = write_per_channel(tmp_path, channels=3)
    with pytest.raises(CorruptFile, match=r"c1\.ome\.tif"):
        open_fileset([paths[0], paths[2]])


@pytest.mark.parametrize("bad", ["../c1.ome.tif", "/etc/passwd", "sub/c1.ome.tif", "..\\c1"])
def test_paths_in_xml_are_refused(tmp_path: Path, bad: str) -> None:
    paths, _ = write_per_channel(tmp_path, names=["c0.ome.tif", bad])
    with pytest.raises(CorruptFile, match="outside its folder"):
        companion_files(paths[0])
    with pytest.raises(CorruptFile):
        open_fileset(paths)


def test_other_files_stand_alone_and_series_are_renumbered(tmp_path: Path) -> None:
    paths, data = write_per_channel(tmp_path / "", channels=2)
    png = tmp_path / "plain.png"
    pixels = np.arange(12, dtype=np.uint8).reshape(3, 4)
    Image.fromarray(pixels).save(png)
    source = open_fileset([png, *paths])
    try:
        assert [m.series for m in source.images] == [0, 1]
        assert source.file_of(0) == png
        assert source.file_of(1) == paths[0]
        assert source.images[1].size_c == 2
        np.testing.assert_array_equal(source.read_region(Region(0, width=4, height=3)), pixels)
        plane = source.read_region(Region(1, 0, 1, 1, 0, 0, 0, 52, 40))
        np.testing.assert_array_equal(plane, data[1, 1])
        with pytest.raises(IndexError):
            source.read_region(Region(2, width=1, height=1))
    finally:
        source.close()


def test_a_member_opened_alone_reads_only_its_own_pages(tmp_path: Path) -> None:
    paths, data = write_per_channel(tmp_path, channels=2)
    source = open_image_file(paths[1])
    try:
        meta = source.images[0]
        assert meta.size_x == 52
        assert meta.plane_count == 3
        assert meta.planes == ()
        z = 2 if meta.size_z == 3 else 0
        plane = source.read_region(Region(0, 0, z, 0, 2 - z, 0, 0, 52, 40))
        np.testing.assert_array_equal(plane, data[1, 2])
    finally:
        source.close()


def test_a_companion_of_another_size_is_corrupt(tmp_path: Path) -> None:
    paths, _ = write_per_channel(tmp_path, channels=2)
    with tifffile.TiffFile(paths[1]) as tif:
        xml = tif.pages.first.description
    small = np.zeros((3, 20, 20), np.uint16)
    tifffile.imwrite(
        paths[1], small, photometric="minisblack", metadata=None, ome=False, description=xml
    )
    source = open_fileset(paths)
    try:
        with pytest.raises(CorruptFile, match="expected 52x40"):
            source.read_region(Region(0, 0, 0, 1, 0, 0, 0, 10, 10))
    finally:
        source.close()
