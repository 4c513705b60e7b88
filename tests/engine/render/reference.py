"""A plain-numpy reference of the whole rendering maths, written from the spec in
``engine.render.kernels``' docstring and independent of the kernels; plus an in-memory
image source that records which planes are read."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from engine.metadata import PIXEL_TYPES, Channel, ImageMetadata
from engine.readers.base import DEFAULT_LIMITS, Region, prepare_region
from engine.render.luts import lut
from engine.render.settings import ChannelSettings, RenderSettings


def ref_levels(values: NDArray[Any], channel: ChannelSettings) -> NDArray[np.int64]:
    """The 8-bit level of every value (any shape, any dtype)."""
    x = values.astype(np.float64)
    start, end = channel.start, channel.end
    with np.errstate(all="ignore"):
        if end > start:
            t = np.clip((x - start) / (end - start), 0.0, 1.0)
        else:
            t = (x >= end).astype(np.float64)
        t[np.isnan(x)] = 0.0
        if channel.noise_reduction:
            t = np.clip((t - 0.1) / 0.8, 0.0, 1.0)
        k = channel.coefficient
        if channel.family == "polynomial":
            t = t ** k
        elif channel.family == "exponential":
            t = (np.exp(t ** k) - 1.0) / (np.e - 1.0)
        elif channel.family == "logarithmic":
            t = np.log1p(255.0 * t) / np.log(256.0)
        q = np.floor(np.clip(255.0 * t + 0.5, 0.0, 255.0)).astype(np.int64)
    return 255 - q if channel.reverse else q


def ref_palette(channel: ChannelSettings, greyscale: bool) -> NDArray[np.int64]:
    """(256, 3) colour of each level."""
    q = np.arange(256, dtype=np.float64)[:, None]
    if greyscale:
        return np.repeat(q, 3, axis=1).astype(np.int64)
    if channel.lut is not None:
        return lut(channel.lut).astype(np.int64)
    red, green, blue, alpha = channel.color
    rgb = np.array([red, green, blue], dtype=np.float64) * alpha / 255.0
    return np.floor(q * rgb / 255.0 + 0.5).astype(np.int64)


def ref_project(stack: NDArray[Any], kind: str) -> NDArray[Any]:
    """Project a (z, h, w) stack: max keeps the dtype (NaN loses), mean/sum float64."""
    if kind == "max":
        return np.fmax.reduce(stack, axis=0) if stack.dtype.kind == "f" else stack.max(axis=0)
    total = stack.astype(np.float64).sum(axis=0)
    return total / stack.shape[0] if kind == "mean" else total


def ref_render(data: NDArray[Any], settings: RenderSettings) -> NDArray[np.uint8]:
    """Render a (c, z, h, w) array at t fixed: sum of palette colours, clipped."""
    greyscale = settings.model == "greyscale"
    active = [c for c, ch in enumerate(settings.channels) if ch.active]
    drawn = active[:1] if greyscale else active
    total = np.zeros((*data.shape[2:], 3), np.int64)
    for c in drawn:
        channel = settings.channels[c]
        projection = settings.projection
        if projection.kind == "none":
            plane = data[c, settings.z]
        else:
            planes = projection.planes(data.shape[1])
            plane = ref_project(data[c, planes.start:planes.stop], projection.kind)
        total += ref_palette(channel, greyscale)[ref_levels(plane, channel)]
    return np.clip(total, 0, 255).astype(np.uint8)


class ArraySource:
    """An ImageSource over (t, c, z, y, x) arrays, one per resolution level."""

    def __init__(self, levels: list[NDArray[Any]], colors: list[int | None] | None = None):
        size_t, size_c, size_z, size_y, size_x = levels[0].shape
        channels = tuple(Channel(color=color) for color in colors or [])
        self.levels = levels
        self.images = [ImageMetadata(
            name="array", series=0, size_x=size_x, size_y=size_y, size_z=size_z,
            size_c=size_c, size_t=size_t, pixel_type=PIXEL_TYPES[levels[0].dtype.name],
            channels=channels,
            resolution_levels=tuple((a.shape[4], a.shape[3]) for a in levels))]
        self.reads: list[Region] = []

    def read_region(self, region: Region, out: NDArray[Any] | None = None) -> NDArray[Any]:
        buffer = prepare_region(self.images, DEFAULT_LIMITS, region, out)
        self.reads.append(region)
        x, y, w, h = region.x, region.y, region.width, region.height
        buffer[...] = self.levels[region.level][region.t, region.c, region.z, y:y + h, x:x + w]
        return buffer

    def close(self) -> None:
        pass
