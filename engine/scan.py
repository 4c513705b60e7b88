"""One pass per plane: channel statistics and the thumbnail overview from the same read.

``channel_stats`` and ``read_overview`` each stream a channel's planes and reduce them
with several numpy passes. ``scan_channel`` streams each plane once, in bands (bounded
memory, see ``engine.overview``), through the compiled ``engine.kernels.scan.scan_band``,
which builds the overview block sums and the statistics' histogram or moments while the
band is in cache. Results equal ``channel_stats(...)`` and ``read_overview(...)`` on the
same inputs: overviews use ``engine.overview``'s rounding exactly, integer statistics are
exact; float sums may differ from numpy's in the last bits (different summation order).

Dtypes: uint8/int8/uint16/int16/uint32/int32/float32/float64 (the OME pixel types).
Statistics are in the image's pixel units.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from engine.kernels.scan import (
    FINITE,
    GRIDS_ONLY,
    HIGH,
    HISTOGRAM,
    INT_TOTAL,
    KEPT,
    LOW,
    MOMENTS,
    TOTAL,
    finish_float,
    finish_integer,
    scan_band,
)
from engine.overview import overview_level, plane_bands, read_overview, reduce_factor
from engine.readers.base import DTYPES, ImageSource
from engine.stats import (
    HIGH_PERCENTILE,
    LOW_PERCENTILE,
    ChannelStats,
    _histogram_percentiles,
    overview_side,
    sample_planes,
)


@dataclass(frozen=True, slots=True)
class ChannelScan:
    """What one scan of a channel yields: ``stats`` as ``channel_stats`` computes them and
    ``overview``, the thumbnail plane as ``read_overview(..., max_side)`` returns it."""

    stats: ChannelStats
    overview: NDArray[np.generic]


def _histogram_bits(dtype: np.dtype) -> int:
    """Bits of the histogram kept for ``dtype``: 8 or 16 for small integers, else 0."""
    return dtype.itemsize * 8 if dtype.kind in "ui" and dtype.itemsize <= 2 else 0


def _sum_dtype(dtype: np.dtype) -> np.dtype:
    return np.dtype(np.float64 if dtype.kind == "f" else np.int64)


_NO_COUNTS = np.zeros(0, np.int64)


class _Grid:
    """Block sums of one plane (``width`` x ``height`` pixels) at block ``factor``."""

    def __init__(self, width: int, height: int, factor: int, dtype: np.dtype) -> None:
        self.width, self.height, self.factor, self.dtype = width, height, factor, dtype
        shape = (math.ceil(height / factor), math.ceil(width / factor))
        self.sums: NDArray[Any] = np.zeros(shape, _sum_dtype(dtype))
        self.pending: NDArray[Any] = np.zeros(width, _sum_dtype(dtype))

    def finish(self, tally: _Tally | None = None) -> NDArray[np.generic]:
        """The overview in the plane's dtype (engine.overview.block_mean's rounding),
        its values also fed to ``tally`` if given."""
        out = np.empty(self.sums.shape, self.dtype)
        if self.dtype.kind == "f":
            finish_float(self.sums, self.height, self.width, self.factor, out)
        else:
            info, block = np.iinfo(self.dtype), self.factor ** 2
            # Float64 division is exact while |sum| + block < 2**52 (see finish_integer);
            # only 32-bit images with blocks of over about 1000 x 1000 pixels miss it.
            via_float = block * (max(-int(info.min), int(info.max)) + 1) < 2 ** 52
            if tally is not None and tally.mode == HISTOGRAM:
                finish_integer(self.sums, self.height, self.width, self.factor, out,
                               via_float, tally.histogram, tally.offset)
                return out
            finish_integer(self.sums, self.height, self.width, self.factor, out,
                           via_float, _NO_COUNTS, 0)
        if tally is not None:
            tally.scan(out)
        return out


class _Tally:
    """Exact min/max/sum of the finite values scanned, and what percentiles need: a
    histogram over the full range of integers of up to 16 bits, else the values themselves
    (when ``keep``; float32 kept as float32 like numpy would, others as float64)."""

    def __init__(self, dtype: np.dtype, *, keep: bool) -> None:
        self.dtype = dtype
        bits = _histogram_bits(dtype)
        self.histogram = np.zeros(1 << bits if bits else 0, np.int64)
        self.offset = int(np.iinfo(dtype).min) if bits else 0
        self.mode = HISTOGRAM if bits else MOMENTS
        self.keep = keep and not bits
        self.kept_dtype = np.dtype(np.float32 if dtype == np.float32 else np.float64)
        self.moments = np.array([math.inf, -math.inf, 0.0])
        self.counts = np.zeros(3, np.int64)
        self.int_total = 0  # a Python int: never overflows, however many bands
        self.kept: list[NDArray[Any]] = []

    def scan(self, band: NDArray[Any], y0: int = 0, grid_a: _Grid | None = None,
             grid_b: _Grid | None = None, *, values: bool = True) -> None:
        """Feed one band (row ``y0`` of its plane) to the grids and, if ``values``, here."""
        band = np.ascontiguousarray(band)
        sums_a, pending_a, factor_a = _grid_args(grid_a, band.dtype)
        sums_b, pending_b, factor_b = _grid_args(grid_b, band.dtype)
        height = next((g.height for g in (grid_a, grid_b) if g is not None), band.shape[0])
        keep = self.keep and values
        kept = np.empty(band.size if keep else 0, self.kept_dtype)
        scan_band(band, y0, height, factor_a, sums_a, pending_a, factor_b, sums_b, pending_b,
                  self.mode if values else GRIDS_ONLY, self.histogram, self.offset,
                  band.dtype.kind != "f", kept, self.moments, self.counts)
        self.int_total += int(self.counts[INT_TOTAL])
        self.counts[INT_TOTAL] = 0  # drained per band, so the int64 slot cannot overflow
        if keep:
            self.kept.append(kept[: self.counts[KEPT]])

    def extrema_mean(self) -> tuple[float, float, float, int]:
        """(min, max, mean, count) of the finite values seen; count 0 when none."""
        if self.mode == HISTOGRAM:
            count = int(self.histogram.sum())
            if count == 0:
                return math.nan, math.nan, math.nan, 0
            present = np.flatnonzero(self.histogram)
            weighted = int(self.histogram @ np.arange(self.histogram.size, dtype=np.int64))
            return (float(present[0] + self.offset), float(present[-1] + self.offset),
                    (weighted + self.offset * count) / count, count)
        count = int(self.counts[FINITE])
        if count == 0:
            return math.nan, math.nan, math.nan, 0
        total = self.int_total if self.dtype.kind in "ui" else float(self.moments[TOTAL])
        return float(self.moments[LOW]), float(self.moments[HIGH]), total / count, count

    def percentiles(self) -> tuple[float, float, int]:
        """numpy's default (linear) 0.1/99.9 percentiles and how many values they cover."""
        if self.mode == HISTOGRAM:
            count = int(self.histogram.sum())
            if count == 0:
                return math.nan, math.nan, 0
            low, high = _histogram_percentiles(self.histogram, self.offset,
                                               (LOW_PERCENTILE, HIGH_PERCENTILE))
            return low, high, count
        values = np.concatenate(self.kept) if self.kept else np.empty(0)
        if values.size == 0:
            return math.nan, math.nan, 0
        low, high = np.percentile(values, [LOW_PERCENTILE, HIGH_PERCENTILE])
        return float(low), float(high), int(values.size)


def _grid_args(grid: _Grid | None, dtype: np.dtype,
               ) -> tuple[NDArray[Any], NDArray[Any], int]:
    """(sums, pending, factor) of a grid for scan_band."""
    if grid is None:  # an empty grid of the same dtype: no extra numba specialisation
        empty = np.zeros(0, _sum_dtype(dtype))
        return empty.reshape(0, 0), empty, 1
    return grid.sums, grid.pending, grid.factor


def _result(extrema: _Tally, spread: _Tally) -> ChannelStats:
    low_value, high_value, mean, count = extrema.extrema_mean()
    low, high, sampled = spread.percentiles()
    if sampled == 0 or count == 0:
        nan = math.nan
        return ChannelStats(nan, nan, nan, nan, nan, 0)
    return ChannelStats(low_value, high_value, low, high, mean, sampled)


def scan_channel(source: ImageSource, series: int, c: int, *,
                 thumbnail_plane: tuple[int, int] | None = None, max_side: int,
                 max_pixels: int = 4_000_000) -> ChannelScan:
    """Statistics of channel ``c`` (as ``engine.stats.channel_stats(..., max_pixels)``)
    and the overview of its ``thumbnail_plane`` (z, t) — by default the middle z at t 0 —
    as ``read_overview(..., max_side)``, reading each plane the statistics need once.

    The thumbnail plane comes out of the same pass when the statistics read it at the
    resolution level ``read_overview`` would; otherwise (a pyramid level or a plane the
    sampling skips) its overview is read on its own, which costs at most one small read.
    """
    meta = source.images[series]
    width, height = meta.size_x, meta.size_y
    dtype = DTYPES[meta.pixel_type]
    z_thumb, t_thumb = thumbnail_plane or (meta.size_z // 2, 0)
    if not (0 <= z_thumb < meta.size_z and 0 <= t_thumb < meta.size_t):
        raise IndexError(f"plane z={z_thumb} t={t_thumb} outside "
                         f"{meta.size_z} z x {meta.size_t} t")
    levels = meta.resolution_levels or ((width, height),)
    thumb_level = overview_level(levels, max_side)
    stats_side: int | None = None
    if meta.size_z * meta.size_t * width * height <= max_pixels:
        planes = [(z, t) for t in range(meta.size_t) for z in range(meta.size_z)]
        level = 0  # exact: every full-resolution pixel counts
        spread = extrema = _Tally(dtype, keep=True)
    else:
        planes = sample_planes(meta.size_z, meta.size_t)
        stats_side = overview_side(width, height, max_pixels // len(planes))
        level = overview_level(levels, stats_side)
        spread = _Tally(dtype, keep=True)  # percentiles over the overviews
        # Single level: the full-resolution bands stream past anyway, so extrema and mean
        # stay exact over them; with a pyramid they come from the overviews (as before).
        extrema = _Tally(dtype, keep=False) if len(meta.resolution_levels) <= 1 else spread
    level_w, level_h = levels[level]
    overview: NDArray[np.generic] | None = None
    for z, t in planes:
        stats_grid = thumb_grid = None
        # The thumbnail's overview comes out of this pass only if read_overview would
        # read the same level; else it would not be the same overview.
        is_thumb = (z, t) == (z_thumb, t_thumb) and level == thumb_level
        if stats_side is not None:
            stats_grid = _Grid(level_w, level_h, reduce_factor(level_w, level_h, stats_side),
                               dtype)
        if is_thumb:
            factor = reduce_factor(level_w, level_h, max_side)
            # Same factor: the statistics' overview is the thumbnail's too.
            if stats_grid is None or stats_grid.factor != factor:
                thumb_grid = _Grid(level_w, level_h, factor, dtype)
        multiple = stats_grid.factor if stats_grid is not None else 1
        # Raw values feed ``extrema`` unless it is ``spread`` fed by overviews (pyramid).
        values = extrema is not spread or stats_grid is None
        for y, band in plane_bands(source, series, z, c, t, level=level, multiple=multiple):
            extrema.scan(band, y, stats_grid, thumb_grid, values=values)
        if stats_grid is not None:
            reduced = stats_grid.finish(spread)
            if is_thumb and thumb_grid is None:
                overview = reduced
        if thumb_grid is not None:
            overview = thumb_grid.finish()
    if overview is None:
        overview = read_overview(source, series, z_thumb, c, t_thumb, max_side)
    return ChannelScan(_result(extrema, spread), overview)


def warm_up() -> None:
    """Compile (or load from numba's cache) the kernels for uint8, uint16 and float32, so
    the first image a worker meets is not slowed by compilation. Call before forking."""
    for name in ("uint8", "uint16", "float32"):
        dtype = np.dtype(name)
        band = np.zeros((4, 6), dtype)
        tally, grid = _Tally(dtype, keep=True), _Grid(6, 4, 2, dtype)
        tally.scan(band, 0, grid, _Grid(6, 4, 3, dtype))
        grid.finish(tally)
        _Tally(dtype, keep=False).scan(band, 0, grid, values=False)
