"""Numba render kernels: quantisation, additive compositing and z projections.

The maths, per channel and pixel value ``x`` (pixel units), gives an 8-bit level ``q``:

1. window: ``t = (x - start) / (end - start)`` clipped to 0..1; when ``end <= start``
   the window is a threshold, ``t = 1`` if ``x >= end`` else 0. NaN counts as ``start``.
2. noise reduction (optional): the lowest and highest tenth of the window are dropped,
   ``t = clip((t - 0.1) / 0.8, 0, 1)``. (OMERO maps the "pseudo-deciles" of the
   channel's global range to the codomain edges and raises black to level 25; we keep
   its intent, suppressing the faint floor and the saturated top, without needing the
   global range and without a grey background.)
3. family with coefficient ``k``, each normalised so 0 -> 0 and 1 -> 1 (OMERO's maps
   y = x, x**k, exp(x**k), log(x), normalised over the window):
   linear ``t``; polynomial ``t**k``; exponential ``(exp(t**k) - 1) / (e - 1)``;
   logarithmic ``log1p(255 t) / log(256)`` (k has no effect: OMERO's log(x**k) = k log x
   cancels on normalising).
4. ``q = floor(255 g + 0.5)``; reverse intensity: ``q = 255 - q``.

A channel then adds ``palette[q]`` (a (256, 3) uint8 ramp of its colour or its LUT) to
the RGB output with saturation at 255; saturating adds of non-negative values commute,
so channels composite in any order straight into the caller's uint8 buffer.

8- and 16-bit data go through a per-value table (``fill_levels`` once per settings,
``composite_table`` per pixel); 32-bit integers and floats compute ``level`` per pixel
(``composite_values``) with the same compiled function, so both paths agree exactly.
Every kernel is ``@njit(nogil=True, cache=True)`` (see ``engine.kernels``).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

LINEAR, POLYNOMIAL, EXPONENTIAL, LOGARITHMIC = 0, 1, 2, 3
_LOG_256 = math.log(256.0)
_E_MINUS_1 = math.e - 1.0


@njit(nogil=True, cache=True)
def level(x, start, end, family, k, noise, reverse):  # type: ignore[no-untyped-def]
    """The 8-bit level (int64 0..255) of one float64 value ``x``; see the module doc."""
    if x != x:  # NaN
        t = 0.0
    elif end > start:
        t = min(max((x - start) / (end - start), 0.0), 1.0)
    else:
        t = 1.0 if x >= end else 0.0
    if noise:
        t = min(max((t - 0.1) / 0.8, 0.0), 1.0)
    if family == POLYNOMIAL:
        t = t ** k
    elif family == EXPONENTIAL:
        t = (math.exp(t ** k) - 1.0) / _E_MINUS_1
    elif family == LOGARITHMIC:
        t = math.log1p(255.0 * t) / _LOG_256
    # Clipped in float: guards exp/log rounding just past 1 and 0.
    q = np.int64(math.floor(min(max(255.0 * t + 0.5, 0.0), 255.0)))
    return 255 - q if reverse else q


@njit(nogil=True, cache=True)
def fill_levels(out, offset, start, end, family, k, noise, reverse):  # type: ignore[no-untyped-def]
    """``out[i] = level(offset + i, ...)`` for a uint8 ``out`` of one entry per value of
    an 8/16-bit type whose minimum is ``offset`` (0, -128 or -32768)."""
    for i in range(out.shape[0]):
        out[i] = level(np.float64(offset + i), start, end, family, k, noise, reverse)


@njit(nogil=True, cache=True)
def composite_table(plane, offset, table, out):  # type: ignore[no-untyped-def]
    """``out[y, x] += table[plane[y, x] - offset]`` saturating at 255.

    ``plane``: (h, w) 8/16-bit integers; ``table``: (2**bits, 3) uint8 RGB per value
    (levels through the channel's palette); ``out``: (h, w, 3) uint8, updated in place.
    """
    for y in range(plane.shape[0]):
        row = plane[y]
        target = out[y]
        for x in range(row.shape[0]):
            i = np.int64(row[x]) - offset
            for k in range(3):
                target[x, k] = min(np.int32(target[x, k]) + np.int32(table[i, k]), 255)


@njit(nogil=True, cache=True)
def composite_values(plane, start, end, family, k, noise,  # type: ignore[no-untyped-def]
                     reverse, palette, out):
    """``out[y, x] += palette[level(plane[y, x], ...)]`` saturating at 255, for planes of
    any numeric dtype (32-bit integers, float32, float64, projections' float64 sums).
    ``palette``: (256, 3) uint8; ``out``: (h, w, 3) uint8, updated in place."""
    for y in range(plane.shape[0]):
        row = plane[y]
        target = out[y]
        for x in range(row.shape[0]):
            q = level(np.float64(row[x]), start, end, family, k, noise, reverse)
            for c in range(3):
                target[x, c] = min(np.int32(target[x, c]) + np.int32(palette[q, c]), 255)


@njit(nogil=True, cache=True)
def project_max(plane, out):  # type: ignore[no-untyped-def]
    """``out = maximum(out, plane)`` element-wise, both (h, w) of one dtype. NaN in a
    float plane never wins over a number (as numpy's ``fmax``)."""
    for y in range(plane.shape[0]):
        for x in range(plane.shape[1]):
            v = plane[y, x]
            current = out[y, x]
            if v > current or current != current:  # the second test: a NaN so far
                out[y, x] = v


@njit(nogil=True, cache=True)
def project_add(plane, out):  # type: ignore[no-untyped-def]
    """``out += plane`` element-wise: ``plane`` (h, w) of any numeric dtype, ``out``
    (h, w) float64 (exact for integer sums below 2**53)."""
    for y in range(plane.shape[0]):
        for x in range(plane.shape[1]):
            out[y, x] += np.float64(plane[y, x])
