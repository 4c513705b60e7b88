"""Per-channel intensity statistics: extrema, a default display window and the mean.

Computed once at import so viewers can open with a sensible window. Pixel counts stay
bounded: images up to ``max_pixels`` (over all z/t planes of the channel) are measured
exactly at full resolution; larger ones are measured on overviews of at most 16 evenly
spaced planes (see ``engine.overview``). NaN and +/-inf in float images are ignored.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from engine.overview import read_overview
from engine.readers.base import ImageSource, Region

#: Planes beyond this many are sampled evenly rather than all read.
MAX_PLANES = 16
#: Percentiles (in %) of the default display window, as OMERO's "auto" window.
LOW_PERCENTILE, HIGH_PERCENTILE = 0.1, 99.9


@dataclass(frozen=True, slots=True)
class ChannelStats:
    """Intensity statistics of one channel, in the image's pixel units (not normalised).

    ``low``/``high`` are the 0.1 and 99.9 percentiles (a default display window);
    ``sampled`` is how many finite pixel values the percentiles were taken over. When
    no finite value was found every figure is NaN and ``sampled`` is 0.
    """

    min: float
    max: float
    low: float
    high: float
    mean: float
    sampled: int


class _Accumulator:
    """Running exact min/max/sum over finite values, plus the kept sample values."""

    def __init__(self) -> None:
        self.low = math.inf
        self.high = -math.inf
        self.total = 0.0
        self.count = 0
        self.samples: list[NDArray[np.generic]] = []

    def observe(self, values: NDArray[np.generic]) -> None:
        finite = _finite(values)
        if finite.size:
            self.low = min(self.low, float(finite.min()))
            self.high = max(self.high, float(finite.max()))
            self.total += float(finite.sum(dtype=np.float64))
            self.count += finite.size

    def keep(self, values: NDArray[np.generic]) -> None:
        self.samples.append(_finite(values))

    def result(self) -> ChannelStats:
        values = np.concatenate(self.samples) if self.samples else np.empty(0)
        if values.size == 0 or self.count == 0:
            nan = math.nan
            return ChannelStats(nan, nan, nan, nan, nan, 0)
        low, high = np.percentile(values, [LOW_PERCENTILE, HIGH_PERCENTILE])
        return ChannelStats(self.low, self.high, float(low), float(high),
                            self.total / self.count, int(values.size))


def _finite(values: NDArray[Any]) -> NDArray[Any]:
    flat: NDArray[Any] = values.ravel()
    if flat.dtype.kind == "f":
        flat = flat[np.isfinite(flat)]
    return flat


def sample_planes(size_z: int, size_t: int, limit: int = MAX_PLANES) -> list[tuple[int, int]]:
    """(z, t) pairs of one channel, all of them or ``limit`` spaced evenly (ends kept)."""
    planes = [(z, t) for t in range(size_t) for z in range(size_z)]
    if len(planes) <= limit:
        return planes
    picks = np.linspace(0, len(planes) - 1, limit).round().astype(int)
    return [planes[i] for i in sorted(set(picks.tolist()))]


def overview_side(width: int, height: int, budget: int) -> int:
    """Longest overview side (pixels) keeping an overview near ``budget`` pixels.

    An overview with longest side s has about s * s * short / long pixels.
    """
    return max(1, math.isqrt(max(1, budget * max(width, height) // max(1, min(width, height)))))


def channel_stats(source: ImageSource, series: int, c: int, *,
                  max_pixels: int = 4_000_000) -> ChannelStats:
    """Statistics of channel ``c`` of image ``series`` over its z/t planes.

    Exact when ``size_z * size_t * size_x * size_y <= max_pixels``. Otherwise taken over
    overviews (about ``max_pixels`` values in all) of up to 16 evenly sampled planes;
    min, max and mean are then still exact over those planes when the file has a
    single resolution level (the full-resolution bands stream past anyway) and come
    from the overviews when it has a pyramid.
    """
    meta = source.images[series]
    width, height = meta.size_x, meta.size_y
    acc = _Accumulator()
    if meta.size_z * meta.size_t * width * height <= max_pixels:
        for t in range(meta.size_t):
            for z in range(meta.size_z):
                plane = source.read_region(Region(series, 0, z, c, t, 0, 0, width, height))
                acc.observe(plane)
                acc.keep(plane)
        return acc.result()
    planes = sample_planes(meta.size_z, meta.size_t)
    side = overview_side(width, height, max_pixels // len(planes))
    exact = len(meta.resolution_levels) <= 1
    for z, t in planes:
        overview = read_overview(source, series, z, c, t, side,
                                 observe=acc.observe if exact else None)
        if not exact:
            acc.observe(overview)
        acc.keep(overview)
    return acc.result()
