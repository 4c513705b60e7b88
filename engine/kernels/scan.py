"""Numba kernels of the one-pass plane scan (the Python side is ``engine.scan``).

A plane is streamed in horizontal bands; ``scan_band`` visits every pixel of a band once
while it is in cache and feeds up to two overview block-sum grids plus the values needed
for statistics. Bands may be uint8, int8, uint16, int16, uint32, int32, float32 or float64
(numba compiles one specialisation per dtype and argument layout, cached on disk).

Block sums are int64 for integer bands (exact: a block of up to 2**31 pixels of 32-bit
values fits) and float64 for float bands (NaN and inf are added like any value, so they
propagate into their block's mean, as ``engine.overview.block_mean`` does).
"""

from __future__ import annotations

import numpy as np
from numba import njit

#: ``mode`` of scan_band: feed the grids only, also count a histogram (integers of up to
#: 16 bits), or also track moments of finite values (and optionally keep them).
GRIDS_ONLY, HISTOGRAM, MOMENTS = 0, 1, 2
#: Slots of the float64 ``moments`` array and the int64 ``counts`` array.
LOW, HIGH, TOTAL = 0, 1, 2
FINITE, KEPT, INT_TOTAL = 0, 1, 2


@njit(nogil=True, cache=True)
def _add_row(row, pending):  # type: ignore[no-untyped-def]
    # A plain element-wise add the compiler vectorises: one cheap op per pixel, where
    # ``sums[r, x // factor] += v`` would cost a division and a scattered add per pixel.
    for x in range(row.shape[0]):
        pending[x] += row[x]


@njit(nogil=True, cache=True)
def _flush(pending, out, factor):  # type: ignore[no-untyped-def]
    # Once per block row: column sums -> block sums, and the pending row starts over.
    width = pending.shape[0]
    if factor == 2:  # the common case (planes of 4 to 16 Mpx): a loop that vectorises
        pairs = width // 2
        for bx in range(pairs):
            out[bx] += pending[2 * bx] + pending[2 * bx + 1]
        if width % 2:
            out[pairs] += pending[width - 1]
    else:
        for bx in range(out.shape[0]):
            start = bx * factor
            total = out[bx]
            for x in range(start, min(start + factor, width)):
                total += pending[x]
            out[bx] = total
    pending[:] = 0


@njit(nogil=True, cache=True)
def _add_to_grid(row, y, height, factor, pending, sums):  # type: ignore[no-untyped-def]
    _add_row(row, pending)
    if (y + 1) % factor == 0 or y + 1 == height:  # last row of a block row
        _flush(pending, sums[y // factor], factor)


@njit(nogil=True, cache=True)
def scan_band(band, y0, height, factor_a, sums_a, pending_a,  # type: ignore[no-untyped-def]
              factor_b, sums_b, pending_b, mode, histogram, offset, integer, kept, moments,
              counts):
    """One pass over a 2-D ``band`` whose first row is row ``y0`` of a ``height``-row plane.

    Grids: a ``sums_*`` with 0 rows is skipped; otherwise ``sums[(y0 + y) // factor,
    x // factor] += band[y, x]``, by way of ``pending_*`` (one row of the band's width,
    zero at first): column sums of the block row in progress, kept between bands so
    blocks may straddle them, flushed into ``sums`` at each block row's last row.

    Then, by ``mode``: HISTOGRAM adds one to ``histogram[v - offset]`` per pixel
    (``offset`` is the dtype's minimum); MOMENTS updates ``moments`` (min, max, float64
    sum) and ``counts`` (finite count, kept count, int64 sum when ``integer``, i.e. the
    band's dtype is an integer one) over finite values and, when ``kept`` is not empty,
    writes them to ``kept`` from index 0 (the kept count restarts at 0 for each band).
    """
    use_a = sums_a.shape[0] > 0
    use_b = sums_b.shape[0] > 0
    keep = kept.shape[0] > 0
    low, high, total = moments[LOW], moments[HIGH], moments[TOTAL]
    finite, filled, int_total = counts[FINITE], 0, counts[INT_TOTAL]
    for y in range(band.shape[0]):
        row = band[y]
        # Separate short loops per row: the row stays in L1, and each loop is branch-free.
        if use_a:
            _add_to_grid(row, y0 + y, height, factor_a, pending_a, sums_a)
        if use_b:
            _add_to_grid(row, y0 + y, height, factor_b, pending_b, sums_b)
        if mode == HISTOGRAM:
            for v in row:
                histogram[np.int64(v) - offset] += 1
        elif mode == MOMENTS:
            row_total = 0.0  # per-row partial sums keep float rounding error small
            for v in row:
                if v - v != 0:  # NaN or +/-inf (never true for integers)
                    continue
                value = np.float64(v)
                low = min(low, value)
                high = max(high, value)
                row_total += value
                if integer:  # exact integer sum: float64 loses digits past 2**53
                    int_total += np.int64(v)
                finite += 1
                if keep:
                    kept[filled] = v
                    filled += 1
            total += row_total
    moments[LOW], moments[HIGH], moments[TOTAL] = low, high, total
    counts[FINITE], counts[KEPT], counts[INT_TOTAL] = finite, filled, int_total


@njit(nogil=True, cache=True)
def finish_integer(sums, height, width, factor, out, via_float,  # type: ignore[no-untyped-def]
                   histogram, offset):
    """``out[r, c] = floor(mean + 0.5)`` of int64 block sums of a ``height`` x ``width``
    level; edge blocks are averaged over the pixels present (engine.overview's rule).

    ``via_float`` (allowed when every |sum| + n < 2**52): divide in float64, several
    times faster than int64 division and still exact, as a correctly rounded quotient of
    integers below 2**52 never crosses an integer. A non-empty ``histogram`` also counts
    ``out``'s values (``histogram[v - offset] += 1``), saving a pass over the overview.
    """
    count = histogram.shape[0] > 0
    for r in range(sums.shape[0]):
        rows = min(factor, height - r * factor)
        for c in range(sums.shape[1]):
            n = rows * min(factor, width - c * factor)
            if via_float:
                value = np.int64(np.floor((sums[r, c] + n // 2) / np.float64(n)))
            else:
                # Python (floor) division, also for negative sums: rounds half up.
                value = (sums[r, c] + n // 2) // n
            out[r, c] = value
            if count:
                histogram[value - offset] += 1


@njit(nogil=True, cache=True)
def finish_float(sums, height, width, factor, out):  # type: ignore[no-untyped-def]
    """``out[r, c]`` = float64 block mean cast to ``out``'s dtype (round to nearest)."""
    for r in range(sums.shape[0]):
        rows = min(factor, height - r * factor)
        for c in range(sums.shape[1]):
            out[r, c] = sums[r, c] / (rows * min(factor, width - c * factor))
