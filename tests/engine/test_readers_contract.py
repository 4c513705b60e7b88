"""Every reader through the same contract: sizes and types right, regions equal what was written."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import imagecodecs
import numpy as np
import pytest
import tifffile
from PIL import Image

from engine.metadata import Quantity, rgba_to_int
from engine.readers import ImageSource, Region, open_fileset, open_image_file
from tests.engine.test_readers_fileset import write_per_channel


@dataclass(frozen=True)
class Case:
    """A written file and the planes expected: expected[(series, level)] is (T, C, Z, Y, X)."""

    path: Path
    expected: dict[tuple[int, int], np.ndarray]
    pixel_type: str
    tolerance: float = 0
    companions: tuple[Path, ...] = ()  # other files of a multi-file fileset

    def open(self) -> ImageSource:
        if self.companions:
            return open_fileset([self.path, *self.companions])
        return open_image_file(self.path)


RNG = np.random.default_rng(7)


def _random(shape: tuple[int, ...], dtype: str) -> np.ndarray:
    if np.dtype(dtype).kind == "f":
        return RNG.random(shape).astype(dtype)
    info = np.iinfo(dtype)
    return RNG.integers(info.min, info.max, shape, dtype=dtype, endpoint=True)


def _tczyx(data: np.ndarray, axes: str) -> np.ndarray:
    for letter in "TCZYX":
        if letter not in axes:
            data, axes = data[np.newaxis], letter + axes
    return np.transpose(data, [axes.index(a) for a in "TCZYX"])


def _tiff(
    tmp: Path, name: str, shape: tuple[int, ...], axes: str, dtype: str, **kw: object
) -> Case:
    data = _random(shape, dtype)
    path = tmp / name
    kw.setdefault("photometric", "minisblack")
    tifffile.imwrite(path, data, **kw)  # type: ignore[arg-type]
    pixel = {"float32": "float", "float64": "double"}.get(dtype, dtype)
    return Case(path, {(0, 0): _tczyx(data, axes)}, pixel)


def strips(tmp: Path) -> Case:
    return _tiff(tmp, "s.tif", (37, 53), "YX", "uint16", rowsperstrip=5)


def tiled_deflate(tmp: Path) -> Case:
    return _tiff(tmp, "t.tif", (70, 90), "YX", "uint8", tile=(32, 16), compression="zlib")


def lzw_stack(tmp: Path) -> Case:
    return _tiff(tmp, "l.tif", (4, 33, 41), "ZYX", "int16", compression="lzw")


def zstd_bigtiff_float(tmp: Path) -> Case:
    kw = {"bigtiff": True, "compression": "zstd", "tile": (16, 16)}
    return _tiff(tmp, "b.tif", (40, 35), "YX", "float32", **kw)


def rgb_planar(tmp: Path) -> Case:
    kw = {"photometric": "rgb", "planarconfig": "separate", "compression": "zlib"}
    return _tiff(tmp, "p.tif", (3, 30, 20), "CYX", "uint8", **kw)


def rgb_contig_tiled(tmp: Path) -> Case:
    data = _random((40, 50, 3), "uint8")
    path = tmp / "rgb.tif"
    tifffile.imwrite(path, data, photometric="rgb", tile=(16, 32))
    return Case(path, {(0, 0): _tczyx(np.moveaxis(data, 2, 0), "CYX")}, "uint8")


def jpeg_tiff(tmp: Path) -> Case:
    data = np.tile(np.linspace(0, 255, 64, dtype=np.uint8), (48, 1))
    path = tmp / "j.tif"
    tifffile.imwrite(path, data, compression="jpeg", tile=(16, 16))
    return Case(path, {(0, 0): _tczyx(data, "YX")}, "uint8", tolerance=8)


def ome(tmp: Path) -> Case:
    kw = {"ome": True, "metadata": {"axes": "TCZYX"}, "compression": "zlib"}
    return _tiff(tmp, "o.ome.tif", (2, 3, 4, 21, 19), "TCZYX", "uint16", **kw)


def imagej(tmp: Path) -> Case:
    kw = {"imagej": True, "metadata": {"axes": "TZCYX"}}
    return _tiff(tmp, "ij.tif", (2, 3, 2, 17, 23), "TZCYX", "uint8", **kw)


def ome_multi_series_pyramid(tmp: Path) -> Case:
    path = tmp / "m.ome.tif"
    first = _random((2, 64, 48), "uint16")
    second = _random((30, 20), "uint8")
    with tifffile.TiffWriter(path, ome=True) as tif:
        tif.write(
            first, subifds=1, photometric="minisblack", tile=(16, 16), metadata={"axes": "CYX"}
        )
        tif.write(first[:, ::2, ::2], subfiletype=1, photometric="minisblack", tile=(16, 16))
        tif.write(second, metadata={"axes": "YX"})
    expected = {
        (0, 0): _tczyx(first, "CYX"),
        (0, 1): _tczyx(first[:, ::2, ::2], "CYX"),
        (1, 0): _tczyx(second, "YX"),
    }
    return Case(path, expected, "uint16")


def jpeg_rgb_tiled(tmp: Path) -> Case:
    ramp = np.tile(np.linspace(0, 255, 64, dtype=np.uint8), (48, 1))
    data = np.stack([ramp, ramp[:, ::-1], ramp.T[:48, :48].repeat(2, 1)[:, :64]], axis=2)
    path = tmp / "jrgb.tif"
    tifffile.imwrite(path, data, photometric="rgb", compression="jpeg", tile=(16, 16))
    return Case(path, {(0, 0): _tczyx(np.moveaxis(data, 2, 0), "CYX")}, "uint8", tolerance=8)


def jpeg2000_tiff(tmp: Path) -> Case:
    try:
        imagecodecs.jpeg2k_encode(np.zeros((8, 8), np.uint16), level=0)
    except Exception as exc:  # noqa: BLE001 - any failure means this build cannot encode
        pytest.skip(f"installed imagecodecs cannot encode JPEG 2000: {exc}")
    kw = {"compression": "jpeg2000", "compressionargs": {"level": 0}, "tile": (16, 16)}
    return _tiff(tmp, "j2k.tif", (37, 45), "YX", "uint16", **kw)


def rgba16_contig(tmp: Path) -> Case:
    data = _random((21, 26, 4), "uint16")
    path = tmp / "rgba16.tif"
    tifffile.imwrite(path, data, photometric="rgb", extrasamples=["unassalpha"],
                     compression="zlib")
    return Case(path, {(0, 0): _tczyx(np.moveaxis(data, 2, 0), "CYX")}, "uint16")


def rgb16_planar(tmp: Path) -> Case:
    kw = {"photometric": "rgb", "planarconfig": "separate", "rowsperstrip": 4}
    return _tiff(tmp, "rgb16.tif", (3, 19, 23), "CYX", "uint16", **kw)


def rgba8_planar_tiled(tmp: Path) -> Case:
    kw = {"photometric": "rgb", "planarconfig": "separate", "tile": (16, 16),
          "compression": "lzw"}  # fmt: skip
    return _tiff(tmp, "rgba8.tif", (4, 35, 33), "CYX", "uint8", **kw)


def big_endian_tiled(tmp: Path) -> Case:
    kw = {"byteorder": ">", "tile": (16, 16), "compression": "zlib"}
    return _tiff(tmp, "be.tif", (2, 37, 41), "ZYX", "int32", **kw)


def int8_strips(tmp: Path) -> Case:
    return _tiff(tmp, "i8.tif", (3, 22, 17), "ZYX", "int8", rowsperstrip=7)


def uint32_big_endian(tmp: Path) -> Case:
    return _tiff(tmp, "u32.tif", (19, 23), "YX", "uint32", byteorder=">")


def float64_bigtiff_lzw(tmp: Path) -> Case:
    kw = {"bigtiff": True, "compression": "lzw", "predictor": True}
    return _tiff(tmp, "f64.tif", (2, 18, 21), "ZYX", "float64", **kw)


def ome_multi_file_pyramid(tmp: Path) -> Case:
    paths, data = write_per_channel(tmp, channels=2, pyramid=True)
    expected = {
        (0, 0): _tczyx(data, "CZYX"),
        (0, 1): _tczyx(data[..., ::2, ::2], "CZYX"),
    }
    return Case(paths[0], expected, "uint16", companions=tuple(paths[1:]))


def _pillow(tmp: Path, name: str, data: np.ndarray, fmt: str, tolerance: float = 0) -> Case:
    path = tmp / name
    Image.fromarray(data).save(path, format=fmt)
    planes = np.moveaxis(data, 2, 0) if data.ndim == 3 else data
    return Case(
        path, {(0, 0): _tczyx(planes, "CYX" if data.ndim == 3 else "YX")}, "uint8", tolerance
    )


def png_rgba(tmp: Path) -> Case:
    return _pillow(tmp, "a.png", _random((25, 31, 4), "uint8"), "PNG")


def _png16(tmp: Path, name: str, data: np.ndarray) -> Case:
    path = tmp / name
    path.write_bytes(imagecodecs.png_encode(data))
    planes, axes = (np.moveaxis(data, 2, 0), "CYX") if data.ndim == 3 else (data, "YX")
    return Case(path, {(0, 0): _tczyx(planes, axes)}, "uint16")


def png16_rgba(tmp: Path) -> Case:
    return _png16(tmp, "a16.png", _random((17, 29, 4), "uint16"))


def png16_rgb(tmp: Path) -> Case:
    return _png16(tmp, "c16.png", _random((17, 29, 3), "uint16"))


def png16_gray_alpha(tmp: Path) -> Case:
    return _png16(tmp, "ga16.png", _random((17, 29, 2), "uint16"))


def png16_gray(tmp: Path) -> Case:
    return _png16(tmp, "g16.png", _random((17, 29), "uint16"))


def png_rgb(tmp: Path) -> Case:
    return _pillow(tmp, "c.png", _random((25, 31, 3), "uint8"), "PNG")


def bmp_rgb(tmp: Path) -> Case:
    return _pillow(tmp, "b.bmp", _random((25, 31, 3), "uint8"), "BMP")


def gif_gray(tmp: Path) -> Case:
    data = _random((12, 14, 3), "uint8") // 128 * 255
    case = _pillow(tmp, "g.gif", data, "GIF")
    return case


def jpeg_gray(tmp: Path) -> Case:
    data = np.tile(np.linspace(0, 255, 40, dtype=np.uint8), (30, 1))
    return _pillow(tmp, "j.dat", data, "JPEG", tolerance=8)


CASES: list[Callable[[Path], Case]] = [
    strips, tiled_deflate, lzw_stack, zstd_bigtiff_float, rgb_planar, rgb_contig_tiled,
    jpeg_tiff, ome, imagej, ome_multi_series_pyramid, png_rgba, bmp_rgb, gif_gray, jpeg_gray,
    jpeg_rgb_tiled, jpeg2000_tiff, rgba16_contig, rgb16_planar, rgba8_planar_tiled,
    big_endian_tiled, int8_strips, uint32_big_endian, float64_bigtiff_lzw, png16_rgba,
    png16_rgb, png16_gray, png_rgb, ome_multi_file_pyramid, png16_gray_alpha,
]  # fmt: skip


@pytest.fixture(params=CASES, ids=[c.__name__ for c in CASES])
def case(request: pytest.FixtureRequest, tmp_path: Path) -> Case:
    factory: Callable[[Path], Case] = request.param
    return factory(tmp_path)


def _close(actual: np.ndarray, expected: np.ndarray, tolerance: float) -> None:
    if tolerance:
        diff = np.abs(actual.astype(np.float64) - expected.astype(np.float64))
        assert diff.mean() <= tolerance
    else:
        np.testing.assert_array_equal(actual, expected)


def test_metadata_matches_what_was_written(case: Case) -> None:
    source = case.open()
    try:
        series = sorted({s for s, _ in case.expected})
        assert len(source.images) == len(series)
        for (s, level), expected in case.expected.items():
            meta = source.images[s]
            _, size_c, _, size_y, size_x = expected.shape
            if level == 0:
                sizes = (meta.size_t, meta.size_c, meta.size_z, meta.size_y, meta.size_x)
                assert sizes == expected.shape
                assert len(meta.channels) == size_c
                assert meta.series == s
            assert meta.resolution_levels[level] == (size_x, size_y)
        assert source.images[0].pixel_type == case.pixel_type
    finally:
        source.close()


def test_full_planes_equal_what_was_written(case: Case) -> None:
    source = case.open()
    try:
        for (s, level), expected in case.expected.items():
            size_t, size_c, size_z, size_y, size_x = expected.shape
            for t in range(size_t):
                for c in range(size_c):
                    for z in range(size_z):
                        plane = source.read_region(Region(s, level, z, c, t, 0, 0, size_x, size_y))
                        assert plane.shape == (size_y, size_x)
                        _close(plane, expected[t, c, z], case.tolerance)
    finally:
        source.close()


def test_regions_at_edges_and_into_buffers(case: Case) -> None:
    source = case.open()
    try:
        (s, level), expected = next(iter(case.expected.items()))
        size_t, size_c, size_z, size_y, size_x = expected.shape
        t, c, z = size_t - 1, size_c - 1, size_z - 1
        w, h = min(7, size_x), min(5, size_y)
        for x, y in ((0, 0), (size_x - w, size_y - h), (size_x // 3, size_y // 2)):
            out = np.empty((h, w), expected.dtype)
            region = source.read_region(Region(s, level, z, c, t, x, y, w, h), out=out)
            assert region is out
            _close(region, expected[t, c, z, y : y + h, x : x + w], case.tolerance)
        with pytest.raises(IndexError):
            source.read_region(Region(s, level, z, c, t, size_x - w + 1, 0, w, h))
        with pytest.raises(IndexError):
            source.read_region(Region(s, level, z, size_c, t, 0, 0, w, h))
    finally:
        source.close()


def test_ome_metadata_is_parsed(tmp_path: Path) -> None:
    path = tmp_path / "meta.ome.tif"
    metadata = {
        "axes": "CZYX",
        "Name": "cells",
        "PhysicalSizeX": 0.65,
        "PhysicalSizeXUnit": "µm",
        "PhysicalSizeY": 0.7,
        "PhysicalSizeZ": 2.0,
        "PhysicalSizeZUnit": "nm",
        "Channel": {
            "Name": ["DAPI", "GFP"],
            "Color": [rgba_to_int(0, 0, 255), rgba_to_int(0, 255, 0)],
            "ExcitationWavelength": [405.0, 488.0],
            "EmissionWavelength": [450.0, 510.0],
            "Fluor": ["DAPI", "GFP"],
        },
    }
    data = np.zeros((2, 3, 8, 8), np.uint8)
    tifffile.imwrite(path, data, ome=True, photometric="minisblack", metadata=metadata)
    source = open_image_file(path)
    meta = source.images[0]
    source.close()
    assert meta.name == "cells"
    assert meta.physical_size_x == Quantity(0.65, "µm")
    assert meta.physical_size_y == Quantity(0.7, "µm")
    assert meta.physical_size_z == Quantity(2.0, "nm")
    assert [ch.name for ch in meta.channels] == ["DAPI", "GFP"]
    assert meta.channels[0].color == rgba_to_int(0, 0, 255)
    assert meta.channels[1].excitation_wavelength == Quantity(488.0, "nm")
    assert meta.channels[1].emission_wavelength == Quantity(510.0, "nm")
    assert meta.channels[1].fluor == "GFP"


def test_imagej_spacing_and_unit(tmp_path: Path) -> None:
    path = tmp_path / "ij.tif"
    data = np.zeros((3, 8, 8), np.uint16)
    metadata = {"axes": "ZYX", "spacing": 1.5, "unit": "um", "finterval": 2.0}
    tifffile.imwrite(path, data, imagej=True, resolution=(4.0, 4.0), metadata=metadata)
    source = open_image_file(path)
    meta = source.images[0]
    source.close()
    assert meta.physical_size_x == Quantity(0.25, "µm")
    assert meta.physical_size_z == Quantity(1.5, "µm")
    assert meta.size_z == 3


def test_rgb_channels_have_colours(tmp_path: Path) -> None:
    path = tmp_path / "rgb.png"
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(path)
    source = open_image_file(path)
    colors = [ch.color for ch in source.images[0].channels]
    source.close()
    assert colors == [rgba_to_int(255, 0, 0), rgba_to_int(0, 255, 0), rgba_to_int(0, 0, 255)]
