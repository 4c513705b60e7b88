"""Overviews equal reference block means, stats equal numpy's, thumbnails have the exact
size and the colours the metadata asks for."""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import tifffile
from PIL import Image

from engine.metadata import rgba_to_int
from engine.overview import band_rows, block_mean, read_overview, reduce_factor
from engine.stats import channel_stats, overview_side, sample_planes
from engine.thumbnail import (
    channel_colors,
    color_rgb,
    encode_jpeg,
    encode_png,
    render_thumbnail,
    thumbnail_shape,
)
from tests.engine.pixels import Opener, reference_mean


def random(shape: tuple[int, ...], dtype: str, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if np.dtype(dtype).kind == "f":
        return (rng.random(shape) * 1000 - 200).astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, shape, dtype=dtype, endpoint=True)


def write(path: Path, data: np.ndarray, axes: str = "TCZYX", **metadata: Any) -> Path:
    tifffile.imwrite(path, data, ome=True, rowsperstrip=16, photometric="minisblack",
                     metadata={"axes": axes, **metadata})
    return path


# --- overview ---------------------------------------------------------------------------


@pytest.mark.parametrize(("size", "dtype", "max_side"), [
    ((1000, 700), "uint16", 100), ((999, 701), "int8", 150), ((301, 517), "float32", 64),
])
def test_overview_streams_bands_and_equals_block_mean(
    tmp_path: Path, opened: Opener, size: tuple[int, int], dtype: str, max_side: int,
) -> None:
    width, height = size
    plane = random((height, width), dtype)
    source = opened(write(tmp_path / "a.ome.tif", plane, axes="YX"))
    factor = reduce_factor(width, height, max_side)
    bands: list[np.ndarray] = []
    # A tiny budget forces one block row (``factor`` rows) per band.
    got = read_overview(source, 0, 0, 0, 0, max_side, observe=bands.append, max_bytes=1)
    assert max(got.shape) <= max_side and got.dtype == plane.dtype
    np.testing.assert_array_equal(got, reference_mean(plane, factor))
    assert len(bands) == math.ceil(height / factor)
    np.testing.assert_array_equal(np.concatenate(bands), plane)


def test_overview_uses_smallest_sufficient_level(tmp_path: Path, opened: Opener) -> None:
    full = random((700, 1000), "uint16", seed=1)
    # Levels with unrelated content, so the result shows which one was read.
    half, quarter = random((350, 500), "uint16", seed=2), random((175, 250), "uint16", seed=3)
    path = tmp_path / "p.ome.tif"
    with tifffile.TiffWriter(path, ome=True) as tif:
        tif.write(full, subifds=2, tile=(64, 64), metadata={"axes": "YX"})
        tif.write(half, subfiletype=1, tile=(64, 64))
        tif.write(quarter, subfiletype=1, tile=(64, 64))
    source = opened(path)
    np.testing.assert_array_equal(read_overview(source, 0, 0, 0, 0, 300),
                                  reference_mean(half, 2))
    np.testing.assert_array_equal(read_overview(source, 0, 0, 0, 0, 250), quarter)
    np.testing.assert_array_equal(read_overview(source, 0, 0, 0, 0, 5000), full)


def test_block_mean_rounds_half_up_and_handles_edges() -> None:
    data = np.array([[1, 2, 3], [2, 2, -7]], dtype=np.int16)
    # blocks: [1,2,2,2] -> 1.75 -> 2; [3,-7] -> -2 ; rows only: [1,2,3] ...
    np.testing.assert_array_equal(block_mean(data, 2), [[2, -2]])
    np.testing.assert_array_equal(block_mean(np.array([[-1, -2]], np.int8), 1, 2), [[-1]])
    np.testing.assert_array_equal(block_mean(np.array([[1, 2]], np.uint8), 1, 2), [[2]])
    np.testing.assert_array_equal(block_mean(data, 1), data)
    assert band_rows(1000, 700, np.dtype("uint16"), max_bytes=1, multiple=7) == 7
    assert band_rows(1000, 700, np.dtype("uint16"), max_bytes=10**9, multiple=64) == 704


# --- stats ------------------------------------------------------------------------------


def test_stats_exact_for_small_images(tmp_path: Path, opened: Opener) -> None:
    data = random((2, 2, 3, 60, 80), "uint16")
    source = opened(write(tmp_path / "s.ome.tif", data))
    stats = channel_stats(source, 0, 1)
    values = data[:, 1].astype(np.float64)
    low, high = np.percentile(values, [0.1, 99.9])
    assert (stats.min, stats.max) == (values.min(), values.max())
    assert (stats.low, stats.high) == (low, high)
    assert stats.mean == pytest.approx(values.mean())
    assert stats.sampled == values.size


def test_stats_ignore_nan_and_inf(tmp_path: Path, opened: Opener) -> None:
    data = random((50, 40), "float32")
    data[3, 4], data[5, 6], data[7, 8] = np.nan, np.inf, -np.inf
    stats = channel_stats(opened(write(tmp_path / "f.ome.tif", data, axes="YX")), 0, 0)
    finite = data[np.isfinite(data)].astype(np.float64)
    assert (stats.min, stats.max, stats.sampled) == (finite.min(), finite.max(), finite.size)
    assert stats.mean == pytest.approx(finite.mean())
    nan = np.full((10, 10), np.nan, np.float32)
    empty = channel_stats(opened(write(tmp_path / "n.ome.tif", nan, axes="YX")), 0, 0)
    assert empty.sampled == 0 and math.isnan(empty.min) and math.isnan(empty.high)


def test_stats_of_large_images_use_overviews(tmp_path: Path, opened: Opener) -> None:
    data = random((1, 1, 2, 700, 1000), "uint16")
    source = opened(write(tmp_path / "l.ome.tif", data))
    stats = channel_stats(source, 0, 0, max_pixels=20_000)
    side = overview_side(1000, 700, 10_000)
    factor = reduce_factor(1000, 700, side)
    overviews = np.concatenate([reference_mean(p, factor).ravel() for p in data[0, 0]])
    assert stats.sampled == overviews.size <= 20_000
    low, high = np.percentile(overviews.astype(np.float64), [0.1, 99.9])
    assert (stats.low, stats.high) == (low, high)
    # Single-level file: extrema and mean stay exact over the planes streamed.
    assert (stats.min, stats.max) == (data.min(), data.max())
    assert stats.mean == pytest.approx(data.mean())


def test_sample_planes_keeps_ends_and_bounds_count() -> None:
    assert sample_planes(2, 3) == [(0, 0), (1, 0), (0, 1), (1, 1), (0, 2), (1, 2)]
    picked = sample_planes(10, 5)
    assert len(picked) == 16 and picked[0] == (0, 0) and picked[-1] == (9, 4)


# --- thumbnail --------------------------------------------------------------------------


def test_single_red_channel_at_full_window_is_pure_red(tmp_path: Path, opened: Opener) -> None:
    data = np.full((1, 1, 1, 100, 200), 255, np.uint8)
    red = rgba_to_int(255, 0, 0)
    source = opened(write(tmp_path / "r.ome.tif", data, Channel={"Color": [red]}))
    thumb = render_thumbnail(source, 0, windows=[(0, 255)])
    assert thumb.shape == (48, 96, 3) and thumb.dtype == np.uint8
    assert (thumb == [255, 0, 0]).all()


def test_default_colours_and_additive_composite(tmp_path: Path, opened: Opener) -> None:
    data = np.zeros((1, 2, 1, 64, 32), np.uint16)
    data[0, 0, 0, :, :16] = 1000  # left half: channel 0 only
    data[0, 1, 0, 32:, :] = 1000  # bottom half: channel 1
    source = opened(write(tmp_path / "c.ome.tif", data))
    thumb = render_thumbnail(source, 0, size=64, windows=[(0, 1000), (0, 1000)])
    assert thumb.shape == (64, 32, 3)
    assert (thumb[:32, :16] == [255, 0, 0]).all()
    assert (thumb[32:, :16] == [255, 255, 0]).all()
    assert (thumb[32:, 16:] == [0, 255, 0]).all()
    assert (thumb[:32, 16:] == 0).all()


def test_grey_single_channel_with_auto_window(tmp_path: Path, opened: Opener) -> None:
    ramp = np.tile(np.linspace(-100, 900, 300, dtype=np.float32), (120, 1))
    source = opened(write(tmp_path / "g.ome.tif", ramp, axes="YX"))
    thumb = render_thumbnail(source, 0, size=50)
    assert thumb.shape == (20, 50, 3)
    assert (thumb[..., 0] == thumb[..., 1]).all() and (thumb[..., 1] == thumb[..., 2]).all()
    assert thumb[:, 0, 0].max() <= 3 and thumb[:, -1, 0].min() >= 252
    assert (np.diff(thumb[0, :, 0].astype(int)) >= 0).all()


def test_thumbnail_plane_defaults_and_upscaling(tmp_path: Path, opened: Opener) -> None:
    data = np.zeros((1, 1, 3, 10, 7), np.uint8)
    data[0, 0, 1] = 200  # only the middle z is bright
    source = opened(write(tmp_path / "z.ome.tif", data))
    thumb = render_thumbnail(source, 0, size=96, windows=[(0, 200)])
    assert thumb.shape == (96, 67, 3) and (thumb == 255).all()
    assert (render_thumbnail(source, 0, z=0, windows=[(0, 200)]) == 0).all()
    with pytest.raises(IndexError):
        render_thumbnail(source, 0, t=1)


def test_colour_helpers() -> None:
    assert color_rgb(rgba_to_int(255, 128, 1, 0)) == (255, 128, 1)
    assert color_rgb(-16776961) == (255, 0, 0)  # OME's red, as stored in OME-XML
    assert thumbnail_shape(1000, 700, 96) == (67, 96)
    colors = channel_colors((), 4)
    assert colors == [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 0, 0)]
    assert channel_colors((), 1) == [(255, 255, 255)]


def test_encoders_round_trip() -> None:
    rgb = np.zeros((20, 30, 3), np.uint8)
    rgb[:, :10, 0] = 255
    png = encode_png(rgb)
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(png))), rgb)
    jpeg = encode_jpeg(rgb, quality=90)
    assert jpeg.startswith(b"\xff\xd8")
    assert Image.open(io.BytesIO(jpeg)).size == (30, 20)
    with pytest.raises(ValueError, match="uint8"):
        encode_png(rgb.astype(np.uint16))


@pytest.mark.parametrize("dtype", ["uint8", "int8", "uint16", "int16"])
def test_integer_percentiles_come_from_a_histogram_and_match_numpy(dtype: str) -> None:
    from engine.stats import _Accumulator

    rng = np.random.default_rng(11)
    info = np.iinfo(dtype)
    for count in (1, 2, 7, 1001, 50_000):
        values = rng.integers(info.min, info.max, count, endpoint=True).astype(dtype)
        acc = _Accumulator()
        acc.observe(values)
        acc.keep(values)
        found = acc.result()
        # numpy interpolates signed integers in their own type (overflowing): compare in float.
        low, high = np.percentile(values.astype(np.float64), [0.1, 99.9])
        assert (found.low, found.high) == (low, high)
        assert (found.min, found.max, found.sampled) == (values.min(), values.max(), count)
