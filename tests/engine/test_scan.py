"""The one-pass scan equals the numpy routes it replaces: block_mean overviews, numpy
percentiles and extrema, channel_stats + read_overview, and the reading thumbnail path."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import tifffile

from engine.kernels.scan import finish_integer
from engine.overview import block_mean, read_overview
from engine.scan import _Grid, _Tally, scan_channel, warm_up
from engine.stats import ChannelStats, channel_stats
from engine.thumbnail import overview_side, render_thumbnail
from tests.engine.pixels import Opener

DTYPES = ["uint8", "int8", "uint16", "int16", "uint32", "int32", "float32", "float64"]



def random(rng: np.random.Generator, shape: tuple[int, ...], dtype: str) -> np.ndarray:
    if np.dtype(dtype).kind == "f":
        # Multiples of 1/8 in a bounded range: float64 block sums are exact whatever the
        # summation order, so overviews can be compared bit for bit.
        return (rng.integers(-8000, 8000, shape) / 8).astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, shape, dtype=dtype, endpoint=True)


def scan_in_bands(rng: np.random.Generator, plane: np.ndarray, tally: _Tally,
                  grids: tuple[_Grid, _Grid]) -> None:
    y = 0
    while y < plane.shape[0]:
        rows = int(rng.integers(1, 12))
        tally.scan(plane[y:y + rows], y, *grids)
        y += rows


def percentiles(values: np.ndarray) -> list[float]:
    # numpy computes integer percentiles in the integer type itself (int32 overflows).
    values = values if values.dtype.kind == "f" else values.astype(np.float64)
    return [float(v) for v in np.percentile(values, [0.1, 99.9])]


@pytest.mark.parametrize("dtype", DTYPES)
def test_kernel_matches_numpy(dtype: str) -> None:
    rng = np.random.default_rng(DTYPES.index(dtype))
    for _ in range(6):
        height, width = (int(n) for n in rng.integers(1, 50, 2))
        plane = random(rng, (height, width), dtype)
        if plane.dtype.kind == "f":
            plane.flat[rng.integers(0, plane.size, 3)] = [np.nan, np.inf, -np.inf]
        fa, fb = (int(n) for n in rng.integers(1, 8, 2))
        grids = (_Grid(width, height, fa, plane.dtype), _Grid(width, height, fb, plane.dtype))
        tally = _Tally(plane.dtype, keep=True)
        scan_in_bands(rng, plane, tally, grids)
        np.testing.assert_array_equal(grids[0].finish(), block_mean(plane, fa))
        np.testing.assert_array_equal(grids[1].finish(), block_mean(plane, fb))
        if plane.dtype.kind != "f":  # the int64-division route too (huge blocks only)
            out = np.empty_like(block_mean(plane, fa))
            finish_integer(grids[0].sums, height, width, fa, out, False,
                           np.zeros(0, np.int64), 0)
            np.testing.assert_array_equal(out, block_mean(plane, fa))
        finite = plane[np.isfinite(plane)] if plane.dtype.kind == "f" else plane.ravel()
        low, high, mean, count = tally.extrema_mean()
        assert (low, high, count) == (finite.min(), finite.max(), finite.size)
        assert mean == pytest.approx(finite.astype(np.float64).mean(), rel=1e-12)
        p_low, p_high, sampled = tally.percentiles()
        assert [p_low, p_high] == percentiles(finite) and sampled == finite.size


@pytest.mark.parametrize("dtype", ["int32", "uint32", "float64"])
def test_extreme_values_do_not_overflow(dtype: str) -> None:
    info = np.iinfo(dtype) if dtype != "float64" else np.finfo(dtype)
    plane = np.array([[info.min, info.max] * 3, [info.max, info.min] * 3], dtype)
    tally = _Tally(plane.dtype, keep=True)
    tally.scan(plane)
    low, high, mean, _ = tally.extrema_mean()
    assert (low, high) == (float(info.min), float(info.max))
    assert mean == pytest.approx((float(info.min) + float(info.max)) / 2, abs=1)
    assert list(tally.percentiles()[:2]) == percentiles(plane.ravel())


def test_overview_values_feed_the_histogram() -> None:
    plane = np.arange(35, dtype=np.int16).reshape(5, 7) - 20
    grid, tally = _Grid(7, 5, 3, plane.dtype), _Tally(plane.dtype, keep=True)
    _Tally(plane.dtype, keep=False).scan(plane, 0, grid)
    overview = grid.finish(tally)
    np.testing.assert_array_equal(overview, block_mean(plane, 3))
    assert list(tally.percentiles()) == [*percentiles(overview.ravel()), overview.size]


def test_no_finite_values() -> None:
    tally = _Tally(np.dtype(np.float32), keep=True)
    tally.scan(np.full((3, 3), np.nan, np.float32))
    assert tally.extrema_mean()[3] == 0 and tally.percentiles()[2] == 0
    assert math.isnan(tally.percentiles()[0])


def write(path: Path, data: np.ndarray, axes: str = "TCZYX") -> Path:
    tifffile.imwrite(path, data, ome=True, rowsperstrip=16, photometric="minisblack",
                     metadata={"axes": axes})
    return path


def assert_same(got: ChannelStats, want: ChannelStats) -> None:
    for name in ("min", "max", "low", "high", "sampled"):
        a, b = getattr(got, name), getattr(want, name)
        assert a == b or (math.isnan(a) and math.isnan(b)), name
    assert got.mean == pytest.approx(want.mean, rel=1e-12, nan_ok=True)


@pytest.mark.parametrize(("shape", "dtype", "max_pixels", "max_side"), [
    ((2, 2, 3, 60, 80), "uint16", 4_000_000, 30),   # exact, thumbnail from the same pass
    ((1, 3, 2, 70, 50), "int8", 4_000_000, 100),    # exact, factor 1
    ((1, 2, 2, 90, 130), "float32", 4_000, 40),     # sampled, single level
    ((5, 1, 4, 40, 30), "int32", 2_000, 16),        # sampled, thumbnail plane skipped
    ((1, 1, 1, 64, 64), "uint8", 1_000, 64),        # sampled, one shared factor
])
def test_scan_channel_equals_channel_stats_and_read_overview(
    tmp_path: Path, opened: Opener, shape: tuple[int, ...], dtype: str, max_pixels: int,
    max_side: int,
) -> None:
    data = random(np.random.default_rng(7), shape, dtype)
    if data.dtype.kind == "f":
        data[0, 0, 0, 3, 4], data[0, -1, -1, 5, 6] = np.nan, np.inf
    source = opened(write(tmp_path / "a.ome.tif", data))
    meta = source.images[0]
    for c in range(meta.size_c):
        plane = (meta.size_z // 2, meta.size_t - 1)
        got = scan_channel(source, 0, c, thumbnail_plane=plane, max_side=max_side,
                           max_pixels=max_pixels)
        assert_same(got.stats, channel_stats(source, 0, c, max_pixels=max_pixels))
        np.testing.assert_array_equal(
            got.overview, read_overview(source, 0, plane[0], c, plane[1], max_side))


def test_scan_channel_on_a_pyramid(tmp_path: Path, opened: Opener) -> None:
    rng = np.random.default_rng(5)
    full, half = random(rng, (300, 400), "uint16"), random(rng, (150, 200), "uint16")
    quarter = random(rng, (75, 100), "uint16")
    path = tmp_path / "p.ome.tif"
    with tifffile.TiffWriter(path, ome=True) as tif:
        tif.write(full, subifds=2, tile=(32, 32), metadata={"axes": "YX"})
        tif.write(half, subfiletype=1, tile=(32, 32))
        tif.write(quarter, subfiletype=1, tile=(32, 32))
    source = opened(path)
    for max_pixels, max_side in ((20_000, 120), (20_000, 60), (10**6, 60), (10**6, 500)):
        got = scan_channel(source, 0, 0, max_side=max_side, max_pixels=max_pixels)
        assert_same(got.stats, channel_stats(source, 0, 0, max_pixels=max_pixels))
        np.testing.assert_array_equal(got.overview, read_overview(source, 0, 0, 0, 0, max_side))


def test_scan_channel_rejects_planes_outside(tmp_path: Path, opened: Opener) -> None:
    source = opened(write(tmp_path / "s.ome.tif", np.zeros((4, 5), np.uint8), axes="YX"))
    with pytest.raises(IndexError):
        scan_channel(source, 0, 0, thumbnail_plane=(1, 0), max_side=4)


@pytest.mark.parametrize("dtype", ["uint16", "float32"])
def test_thumbnail_from_scanned_overviews_equals_reading(
    tmp_path: Path, opened: Opener, dtype: str,
) -> None:
    data = random(np.random.default_rng(2), (1, 3, 3, 150, 210), dtype)
    source = opened(write(tmp_path / "t.ome.tif", data))
    size = 32
    scans = [scan_channel(source, 0, c, max_side=overview_side(size), max_pixels=50_000)
             for c in range(3)]
    windows = [(s.stats.low, s.stats.high) for s in scans]
    want = render_thumbnail(source, 0, size=size, windows=windows)
    got = render_thumbnail(source, 0, size=size, windows=windows,
                           overviews=[s.overview for s in scans])
    np.testing.assert_array_equal(got, want)
    with pytest.raises(ValueError, match="overviews"):
        render_thumbnail(source, 0, size=size, overviews=[scans[0].overview])


def test_warm_up_compiles_the_common_dtypes() -> None:
    warm_up()  # must not raise; later calls hit numba's in-process dispatcher cache
