"""Whole-plane overviews in bounded memory: band streaming and area-mean block reduction.

The pyramid builder, channel statistics and thumbnails all need "the whole plane, but
smaller". Reading a 16k x 16k plane at once costs 512 MB for uint16, so planes are
streamed in full-width horizontal bands of bounded size and each band is reduced by
averaging blocks of pixels (area mean) before the next one is read.

Rounding rule, shared with the pyramid builder: the mean of an integer block is
``floor(mean + 0.5)`` (round half up, towards +inf, also for negative values), computed
exactly in integer arithmetic; float blocks are averaged in float64 and cast back to
the source dtype. Blocks at the right and bottom edges that are cut short are averaged
over the pixels present only.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
from numpy.typing import NDArray

from engine.readers.base import DTYPES, ImageSource, Region

#: Bytes one streamed band may hold: bounds memory whatever the plane size.
BAND_BYTES = 64 << 20

BandObserver = Callable[[NDArray[np.generic]], None]


def band_rows(width: int, height: int, dtype: np.dtype, *, max_bytes: int = BAND_BYTES,
              multiple: int = 1) -> int:
    """Rows per band so a (rows, width) band of ``dtype`` fits in ``max_bytes``.

    The result is a multiple of ``multiple`` (so bands align with tiles or blocks), at
    least one ``multiple`` even when that exceeds ``max_bytes``, and at most the
    plane ``height`` rounded up to ``multiple``.
    """
    per_row = max(1, width * np.dtype(dtype).itemsize)
    rows = max(multiple, (max_bytes // per_row) // multiple * multiple)
    return min(rows, math.ceil(height / multiple) * multiple)


def plane_bands(source: ImageSource, series: int, z: int, c: int, t: int, *, level: int = 0,
                max_bytes: int = BAND_BYTES, multiple: int = 1,
                ) -> Iterator[tuple[int, NDArray[np.generic]]]:
    """Yield ``(y, band)`` covering one plane of ``level`` top to bottom.

    Each band is a fresh (rows, width) array in the image's dtype; all but the last
    have ``band_rows(...)`` rows, a multiple of ``multiple``.
    """
    meta = source.images[series]
    width, height = meta.resolution_levels[level]
    rows = band_rows(width, height, DTYPES[meta.pixel_type], max_bytes=max_bytes,
                     multiple=multiple)
    for y in range(0, height, rows):
        region = Region(series, level, z, c, t, 0, y, width, min(rows, height - y))
        yield y, source.read_region(region)


def _sum_dtype(dtype: np.dtype, block: int) -> np.dtype:
    """An accumulator wide enough for ``block`` values of ``dtype``."""
    if dtype.kind == "f":
        return np.dtype(np.float64)
    if dtype.itemsize <= 2 and block <= 16384:
        return np.dtype(np.int32)
    return np.dtype(np.int64)


def _block_sums(array: NDArray[Any], fy: int, fx: int, acc: np.dtype) -> NDArray[Any]:
    height, width = array.shape
    out_h, out_w = math.ceil(height / fy), math.ceil(width / fx)
    pad_h, pad_w = out_h * fy - height, out_w * fx - width
    if pad_h or pad_w:
        # Zero padding adds nothing to the sums; the counts below leave it out.
        array = np.pad(array, ((0, pad_h), (0, pad_w)))
    if fy == 2 and fx == 2:
        # Strided adds are ~5x faster than reshape+sum for the pyramid's 2x2 case.
        rows: NDArray[Any] = array[0::2].astype(acc)
        rows += array[1::2]
        pairs: NDArray[Any] = rows[:, 0::2] + rows[:, 1::2]
        return pairs
    blocks: NDArray[Any] = array.reshape(out_h, fy, out_w, fx).sum(axis=(1, 3), dtype=acc)
    return blocks


def _edge_counts(size: int, factor: int) -> NDArray[np.int64]:
    counts = np.full(math.ceil(size / factor), factor, np.int64)
    counts[-1] = size - (len(counts) - 1) * factor
    return counts


def block_mean(array: NDArray[np.generic], fy: int, fx: int | None = None) -> NDArray[np.generic]:
    """Area mean of ``fy`` x ``fx`` blocks of a 2-D array, in the array's dtype.

    Output shape is ``(ceil(h / fy), ceil(w / fx))``. Integers round half up
    (``floor(mean + 0.5)``); floats are averaged in float64 (NaN propagates).
    """
    fx = fy if fx is None else fx
    if fy < 1 or fx < 1:
        raise ValueError(f"block factors must be >= 1, got {fy}x{fx}")
    if fy == 1 and fx == 1:
        return array.copy()
    dtype = array.dtype
    acc = _sum_dtype(dtype, fy * fx)
    sums: NDArray[Any] = _block_sums(array, fy, fx, acc)
    height, width = array.shape
    exact = height % fy == 0 and width % fx == 0
    counts: int | NDArray[np.int64] = fy * fx
    if not exact:
        counts = np.outer(_edge_counts(height, fy), _edge_counts(width, fx))
    if dtype.kind == "f":
        means: NDArray[Any] = (sums / counts).astype(dtype)
        return means
    # floor((s + n//2) / n) == floor(s/n + 0.5) for integer s and n >= 1.
    rounded: NDArray[Any] = ((sums + counts // 2) // counts).astype(dtype)
    return rounded


def reduce_factor(width: int, height: int, max_side: int) -> int:
    """The smallest integer block factor bringing the longest side to <= ``max_side``."""
    if max_side < 1:
        raise ValueError(f"max_side must be >= 1, got {max_side}")
    return max(1, math.ceil(max(width, height) / max_side))


def overview_level(levels: tuple[tuple[int, int], ...], max_side: int) -> int:
    """Index of the smallest level whose longest side is still >= ``max_side`` (0 if none)."""
    best = 0
    for index, (width, height) in enumerate(levels):
        if max(width, height) >= max_side:
            best = index
    return best


def read_overview(source: ImageSource, series: int, z: int, c: int, t: int, max_side: int,
                  *, observe: BandObserver | None = None,
                  max_bytes: int = BAND_BYTES) -> NDArray[np.generic]:
    """A reduced copy of one plane whose longest side is <= ``max_side`` pixels.

    Reads the smallest resolution level that is still at least ``max_side`` on its
    longest side, then block-averages it by the integer factor ``f`` that first brings
    it within ``max_side``; the result is NOT resized to exactly ``max_side`` (its
    longest side is ``ceil(L / f)``, between about ``max_side / 2`` and ``max_side``).
    Dtype is the image's; see the module docstring for rounding. Only one band of at
    most ``max_bytes`` is held at a time. ``observe(band)`` sees every raw band read
    (e.g. to track exact extrema while the overview is built).
    """
    meta = source.images[series]
    levels = meta.resolution_levels or ((meta.size_x, meta.size_y),)
    level = overview_level(levels, max_side)
    width, height = levels[level]
    factor = reduce_factor(width, height, max_side)
    parts = []
    for _, band in plane_bands(source, series, z, c, t, level=level, max_bytes=max_bytes,
                               multiple=factor):
        if observe is not None:
            observe(band)
        parts.append(block_mean(band, factor))
    return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=0)
