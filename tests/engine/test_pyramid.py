"""build_pyramid: levels read back through the readers equal a reference 2x2 mean, the
file is tiled with SubIFDs, memory-bounding paths (bands, disk scratch) give the same
pixels, and a failure leaves nothing behind."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import tifffile

from engine import pyramid
from engine.metadata import ImageMetadata
from engine.pyramid import (
    build_pyramid,
    has_cheap_random_access,
    needs_pyramid,
    pyramid_levels,
)
from engine.readers import Region
from engine.readers.base import ImageSource
from tests.engine.pixels import Opener, reference_mean


def make_data(shape: tuple[int, ...], dtype: str, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if np.dtype(dtype).kind == "f":
        return rng.random(shape, dtype=np.dtype(dtype))  # type: ignore[call-overload]
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, shape, dtype=dtype, endpoint=True)


def write_source(path: Path, data: np.ndarray, **metadata: Any) -> Path:
    """A plain (stripped, single-level) OME-TIFF with axes TCZYX."""
    tifffile.imwrite(path, data, ome=True, rowsperstrip=37, photometric="minisblack",
                     metadata={"axes": "TCZYX", **metadata})
    return path



def read_all(source: ImageSource, level: int) -> dict[tuple[int, int, int], np.ndarray]:
    meta = source.images[0]
    width, height = meta.resolution_levels[level]
    return {
        (z, c, t): source.read_region(Region(0, level, z, c, t, 0, 0, width, height))
        for t in range(meta.size_t) for c in range(meta.size_c) for z in range(meta.size_z)
    }


@pytest.mark.parametrize(("size", "dtype", "tile", "small_memory"), [
    ((1000, 700), "uint16", 64, False),
    # 16-row bands become 1-row bands four levels down: odd rows carried between bands.
    ((999, 701), "int8", 16, True),
    ((333, 517), "float32", 32, True),
])
def test_levels_read_back_equal_reference(
    tmp_path: Path, opened: Opener, monkeypatch: pytest.MonkeyPatch,
    size: tuple[int, int], dtype: str, tile: int, small_memory: bool,
) -> None:
    width, height = size
    data = make_data((1, 2, 2, height, width), dtype)
    src = opened(write_source(tmp_path / "src.ome.tif", data))
    if small_memory:
        # One 64-row band at a time and every lower level on disk: the bounded path.
        monkeypatch.setattr(pyramid, "SOURCE_BAND_BYTES", 1)
        monkeypatch.setattr(pyramid, "IN_MEMORY_LEVEL_BYTES", 0)
    info = build_pyramid(src, 0, tmp_path / "out.ome.tif", tile=tile, min_level_side=20)
    assert info.levels == pyramid_levels(width, height, 20)
    assert len(info.levels) >= 4
    out = opened(info.path)
    assert out.images[0].resolution_levels == info.levels
    assert out.images[0].pixel_type == src.images[0].pixel_type
    expected = read_all(src, 0)
    for level in range(len(info.levels)):
        got = read_all(out, level)
        for key, plane in expected.items():
            np.testing.assert_array_equal(got[key], plane, err_msg=f"level {level} {key}")
        expected = {key: reference_mean(plane) for key, plane in expected.items()}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.ome.tif", "src.ome.tif"]


def test_file_is_tiled_with_subifds_and_ome_metadata(tmp_path: Path, opened: Opener) -> None:
    data = make_data((2, 3, 1, 300, 400), "uint16")
    src = opened(write_source(
        tmp_path / "src.ome.tif", data, PhysicalSizeX=0.5, PhysicalSizeXUnit="µm",
        PhysicalSizeY=0.25, PhysicalSizeYUnit="µm", Channel={"Name": ["dapi", "gfp", "rfp"]},
    ))
    info = build_pyramid(src, 0, tmp_path / "out.ome.tif", tile=128, min_level_side=100)
    assert info.levels == ((400, 300), (200, 150), (100, 75))
    with tifffile.TiffFile(info.path) as tif:
        assert len(tif.pages) == 6
        for page in tif.pages:
            assert page.is_tiled and (page.tilewidth, page.tilelength) == (128, 128)
            assert page.compression == tifffile.COMPRESSION.ZSTD
            assert len(page.tags["SubIFDs"].value) == 2
    meta = opened(info.path).images[0]
    assert (meta.size_c, meta.size_t, meta.size_z) == (3, 2, 1)
    assert meta.physical_size_x is not None and meta.physical_size_x.value == 0.5
    assert meta.physical_size_y is not None and meta.physical_size_y.value == 0.25
    assert [ch.name for ch in meta.channels] == ["dapi", "gfp", "rfp"]
    # Planes keep their identity (t=1, c=2 is not some other plane).
    got = opened(info.path).read_region(Region(0, 0, 0, 2, 1, 0, 0, 400, 300))
    np.testing.assert_array_equal(got, data[1, 2, 0])


def test_small_image_has_single_level(tmp_path: Path, opened: Opener) -> None:
    data = make_data((1, 1, 1, 50, 70), "uint8")
    src = opened(write_source(tmp_path / "src.ome.tif", data))
    info = build_pyramid(src, 0, tmp_path / "out.ome.tif", compression=None)
    assert info.levels == ((70, 50),)
    out = opened(info.path)
    assert out.images[0].resolution_levels == ((70, 50),)
    np.testing.assert_array_equal(read_all(out, 0)[(0, 0, 0)], data[0, 0, 0])


def test_progress_rises_to_one(tmp_path: Path, opened: Opener) -> None:
    src = opened(write_source(tmp_path / "s.ome.tif",
                                       make_data((1, 1, 2, 200, 300), "uint8")))
    seen: list[float] = []
    build_pyramid(src, 0, tmp_path / "o.ome.tif", tile=64, min_level_side=64,
                  progress=seen.append)
    assert seen == sorted(seen) and seen[-1] == pytest.approx(1.0)


class FailingSource:
    """Delegates to a real source but raises on the n-th read."""

    def __init__(self, inner: ImageSource, fail_at: int) -> None:
        self._inner, self._left = inner, fail_at

    @property
    def images(self) -> list[ImageMetadata]:
        return self._inner.images

    def read_region(self, region: Region, out: Any = None) -> Any:
        self._left -= 1
        if self._left < 0:
            raise OSError("disk went away")
        return self._inner.read_region(region, out)

    def close(self) -> None:
        self._inner.close()


@pytest.mark.parametrize("existing", [False, True])
def test_failure_leaves_nothing_behind(
    tmp_path: Path, opened: Opener, monkeypatch: pytest.MonkeyPatch, existing: bool,
) -> None:
    monkeypatch.setattr(pyramid, "SOURCE_BAND_BYTES", 1)
    monkeypatch.setattr(pyramid, "IN_MEMORY_LEVEL_BYTES", 0)
    src = opened(write_source(tmp_path / "src.ome.tif",
                                       make_data((1, 1, 3, 256, 256), "uint16")))
    dest = tmp_path / "out.ome.tif"
    if existing:
        dest.write_bytes(b"old pyramid")
    with pytest.raises(OSError, match="disk went away"):
        build_pyramid(FailingSource(src, 7), 0, dest, tile=32, min_level_side=32)
    expected = ["out.ome.tif", "src.ome.tif"] if existing else ["src.ome.tif"]
    assert sorted(p.name for p in tmp_path.iterdir()) == expected
    if existing:
        assert dest.read_bytes() == b"old pyramid"


def test_rejects_bad_tile(tmp_path: Path, opened: Opener) -> None:
    src = opened(write_source(tmp_path / "s.ome.tif",
                                       make_data((1, 1, 1, 20, 20), "uint8")))
    with pytest.raises(ValueError, match="multiple of 16"):
        build_pyramid(src, 0, tmp_path / "o.tif", tile=100)


def _meta(width: int, height: int, levels: int = 1) -> ImageMetadata:
    return ImageMetadata(
        name="x", series=0, size_x=width, size_y=height, size_z=1, size_c=1, size_t=1,
        pixel_type="uint8",
        resolution_levels=tuple((width >> k, height >> k) for k in range(levels)),
    )


def test_pyramid_decisions() -> None:
    assert not needs_pyramid(_meta(3192, 3192))
    assert needs_pyramid(_meta(3193, 10))
    assert needs_pyramid(_meta(10, 4000))
    assert has_cheap_random_access(_meta(1000, 1000))
    assert not has_cheap_random_access(_meta(10000, 10000))
    assert has_cheap_random_access(_meta(10000, 10000, levels=3))


def test_pyramid_levels_halve_with_ceil() -> None:
    assert pyramid_levels(1001, 300, 256) == ((1001, 300), (501, 150), (251, 75))
    assert pyramid_levels(256, 10, 256) == ((256, 10),)
