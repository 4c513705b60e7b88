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
    """Running exact min/max/sum over finite values, plus what percentiles need: a histogram
    for integers of up to 16 bits (linear time, constant memory), kept values otherwise."""

    def __init__(self) -> None:
        self.low = math.inf
        self.high = -math.inf
        self.total = 0.0
        self.count = 0
        self.samples: list[NDArray[np.generic]] = []
        self.histogram: NDArray[np.int64] | None = None
        self.offset = 0

    def observe(self, values: NDArray[np.generic]) -> None:
        finite = _finite(values)
        if finite.size:
            self.low = min(self.low, float(finite.min()))
            self.high = max(self.high, float(finite.max()))
            self.total += float(finite.sum(dtype=np.float64))
            self.count += finite.size

    def keep(self, values: NDArray[np.generic]) -> None:
        if values.dtype.kind in "ui" and values.dtype.itemsize <= 2:
            self._count(values)
        else:
            self.samples.append(_finite(values))

    def _count(self, values: NDArray[np.generic]) -> None:
        info = np.iinfo(values.dtype)  # type: ignore[type-var]
        self.offset = int(info.min)
        flat = values.ravel()
        shifted = flat.view(np.uint8 if info.bits == 8 else np.uint16) if info.min else flat
        if info.min:  # signed: flip the sign bit, so bins run from the type's minimum up
            shifted = shifted ^ np.array(1 << (info.bits - 1), shifted.dtype)
        counts = np.bincount(shifted, minlength=1 << info.bits)
        self.histogram = counts if self.histogram is None else self.histogram + counts

    def _percentiles(self) -> tuple[float, float, int]:
        if self.histogram is not None:
            return (*_histogram_percentiles(self.histogram, self.offset,
                                            (LOW_PERCENTILE, HIGH_PERCENTILE)),
                    int(self.histogram.sum()))
        values = np.concatenate(self.samples) if self.samples else np.empty(0)
        if values.size == 0:
            return math.nan, math.nan, 0
        low, high = np.percentile(values, [LOW_PERCENTILE, HIGH_PERCENTILE])
        return float(low), float(high), int(values.size)

    def result(self) -> ChannelStats:
        low, high, sampled = self._percentiles()
        if sampled == 0 or self.count == 0:
            nan = math.nan
            return ChannelStats(nan, nan, nan, nan, nan, 0)
        return ChannelStats(self.low, self.high, low, high, self.total / self.count, sampled)


def _histogram_percentiles(counts: NDArray[np.int64], offset: int,
                           percents: tuple[float, ...]) -> tuple[float, float]:
    """numpy's default ("linear") percentiles of the values a histogram counts, exactly:
    the k-th smallest value is the first bin whose running count exceeds k."""
    cumulative = np.cumsum(counts)
    n = int(cumulative[-1])
    found = []
    for percent in percents:
        position = percent / 100 * (n - 1)
        below = math.floor(position)
        ranks = np.array([below, min(below + 1, n - 1)])
        a, b = (np.searchsorted(cumulative, ranks, side="right") + offset).astype(np.float64)
        fraction = position - below
        # numpy's _lerp, so results match np.percentile to the last bit.
        found.append(float(b - (b - a) * (1 - fraction) if fraction >= 0.5
                           else a + (b - a) * fraction))
    return found[0], found[1]


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
