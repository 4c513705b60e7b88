"""Rendering API: a region of an image through RenderSettings into RGB, and encoders.

``render_region`` reads only the planes it needs (the rendered channels at (z, t), or
the projected z range of each), one region at a time, and composites them with the
kernels of ``engine.render.kernels`` into an (h, w, 3) uint8 array. It is synchronous
and CPU-bound with the GIL released in the kernels: call it through
``asyncio.to_thread`` from async code.
"""

from __future__ import annotations

import io
from functools import lru_cache
from typing import Any

import numpy as np
import tifffile
from numpy.typing import NDArray
from PIL import Image

from engine.errors import ImageTooLarge
from engine.metadata import ImageMetadata
from engine.readers.base import DEFAULT_LIMITS, DTYPES, ImageSource, Limits, Region
from engine.render import kernels
from engine.render.luts import color_ramp, lut
from engine.render.settings import (
    FAMILIES,
    ChannelSettings,
    InvalidRenderSettings,
    RenderSettings,
    check_fits,
)

#: Output formats of ``encode`` and of ``encode_raw``.
FORMATS = ("jpeg", "png", "tiff")
RAW_FORMATS = ("tiff", "npy")
_GREY = np.repeat(np.arange(256, dtype=np.uint8)[:, None], 3, axis=1)
_GREY.flags.writeable = False


def palette(channel: ChannelSettings, greyscale: bool) -> NDArray[np.uint8]:
    """(256, 3) uint8 colours of a channel's levels: grey in the greyscale model (OMERO
    ignores colour and LUT there), else its LUT, else a ramp of its RGBA colour."""
    if greyscale:
        return _GREY
    if channel.lut is not None:
        return lut(channel.lut)
    return color_ramp(*channel.color)


def _args(channel: ChannelSettings) -> tuple[float, float, int, float, bool, bool]:
    return (float(channel.start), float(channel.end), FAMILIES.index(channel.family),
            float(channel.coefficient), channel.noise_reduction, channel.reverse)


def uses_table(dtype: np.dtype) -> bool:
    """Whether ``dtype`` is rendered through a per-value table (8/16-bit integers)."""
    return dtype.kind in "ui" and dtype.itemsize <= 2


@lru_cache(maxsize=64)
def value_table(channel: ChannelSettings, greyscale: bool, dtype: np.dtype) -> NDArray[np.uint8]:
    """(2**bits, 3) uint8 RGB contribution of every value of an 8/16-bit ``dtype``.

    Cached (at most 64 tables, 12 MB for 16-bit): a viewer fetches many tiles with the
    same settings, and a 16-bit table costs about as much as rendering a 256x256 tile.
    """
    info = np.iinfo(dtype)
    levels = np.empty(1 << info.bits, np.uint8)
    kernels.fill_levels(levels, np.int64(info.min), *_args(channel))
    table = palette(channel, greyscale)[levels]
    table.flags.writeable = False
    return table


def _read(source: ImageSource, region: Region, out: NDArray[Any] | None = None) -> NDArray[Any]:
    return source.read_region(region, out)


def channel_plane(source: ImageSource, meta: ImageMetadata, settings: RenderSettings,
                  region: Region) -> NDArray[Any]:
    """The (h, w) values channel ``region.c`` is rendered from: the plane at the
    settings' (z, t), or its projection (max: the image's dtype; mean and sum: float64,
    never clipped, unlike OMERO, which clips sums to the pixel type)."""
    projection = settings.projection
    if projection.kind == "none":
        return _read(source, _at(region, settings.z))
    planes = projection.planes(meta.size_z)
    if projection.kind == "max":
        result = _read(source, _at(region, planes[0])).copy()
        scratch = np.empty_like(result)
        for z in planes[1:]:
            kernels.project_max(_read(source, _at(region, z), scratch), result)
        return result
    total = np.zeros((region.height, region.width), np.float64)
    buffer: NDArray[Any] | None = None
    for z in planes:
        buffer = _read(source, _at(region, z), buffer)
        kernels.project_add(buffer, total)
    if projection.kind == "mean":
        total /= len(planes)
    return total


def _at(region: Region, z: int) -> Region:
    return Region(region.series, region.level, z, region.c, region.t, region.x, region.y,
                  region.width, region.height)


def composite(plane: NDArray[Any], channel: ChannelSettings, greyscale: bool,
              out: NDArray[np.uint8]) -> None:
    """Add one channel's rendering of ``plane`` (h, w; any supported dtype, or float64
    projections) to ``out`` ((h, w, 3) uint8, saturating at 255)."""
    if uses_table(plane.dtype):
        table = value_table(channel, greyscale, plane.dtype)
        kernels.composite_table(plane, np.int64(np.iinfo(plane.dtype).min), table, out)
    else:
        kernels.composite_values(plane, *_args(channel), palette(channel, greyscale), out)


def render_region(source: ImageSource, series: int, level: int, x: int, y: int, width: int,
                  height: int, settings: RenderSettings, *,
                  out: NDArray[np.uint8] | None = None,
                  limits: Limits = DEFAULT_LIMITS) -> NDArray[np.uint8]:
    """Render ``width`` x ``height`` pixels at (``x``, ``y``) of resolution ``level`` of
    image ``series`` (coordinates in that level's pixels) into (height, width, 3) uint8.

    ``out``, when given, must be a C-contiguous (height, width, 3) uint8 array; it is
    overwritten and returned. Raises InvalidRenderSettings when ``settings`` do not fit
    the image, IndexError for a region outside the level, ImageTooLarge for one of more
    than ``limits.max_region_pixels`` (checked before anything is allocated or read).
    """
    meta = source.images[series]
    check_fits(settings, meta)
    check_region(meta, level, x, y, width, height, limits)
    shape = (height, width, 3)
    if out is None:
        out = np.zeros(shape, np.uint8)
    elif out.shape != shape or out.dtype != np.uint8 or not out.flags.c_contiguous:
        raise ValueError(f"out must be C-contiguous uint8 {shape}, got {out.dtype} {out.shape}")
    else:
        out[...] = 0
    greyscale = settings.model == "greyscale"
    for c in settings.rendered_channels():
        region = Region(series, level, settings.z, c, settings.t, x, y, width, height)
        plane = channel_plane(source, meta, settings, region)
        composite(plane, settings.channels[c], greyscale, out)
    return out


def check_region(meta: ImageMetadata, level: int, x: int, y: int, width: int, height: int,
                 limits: Limits = DEFAULT_LIMITS) -> None:
    """IndexError unless the box lies inside resolution ``level``; ImageTooLarge when it
    has more than ``limits.max_region_pixels`` pixels."""
    if not 0 <= level < len(meta.resolution_levels):
        raise IndexError(f"level {level} out of range 0..{len(meta.resolution_levels) - 1}")
    size_x, size_y = meta.resolution_levels[level]
    if width <= 0 or height <= 0 or x < 0 or y < 0 or x + width > size_x or y + height > size_y:
        raise IndexError(f"region x={x} y={y} {width}x{height} outside level {level} "
                         f"({size_x}x{size_y})")
    if width * height > limits.max_region_pixels:
        raise ImageTooLarge(f"region of {width}x{height} exceeds the limit",
                            pixels=width * height, limit=limits.max_region_pixels)


def raw_region(source: ImageSource, series: int, level: int, x: int, y: int, width: int,
               height: int, *, z: int, t: int,
               channels: list[int] | None = None,
               limits: Limits = DEFAULT_LIMITS) -> NDArray[Any]:
    """Unrendered pixels: (len(channels), height, width) in the image's own dtype, the
    listed channels (default all) at plane (z, t) of resolution ``level``. The region
    limit applies to all channels together."""
    meta = source.images[series]
    wanted = list(range(meta.size_c)) if channels is None else channels
    if not wanted:
        raise InvalidRenderSettings("no channel requested")
    check_region(meta, level, x, y, width, height, limits)
    pixels = width * height * len(wanted)
    if pixels > limits.max_region_pixels:
        raise ImageTooLarge(f"{len(wanted)} channels of {width}x{height} exceed the limit",
                            pixels=pixels, limit=limits.max_region_pixels)
    result = np.empty((len(wanted), height, width), DTYPES[meta.pixel_type])
    for i, c in enumerate(wanted):
        source.read_region(Region(series, level, z, c, t, x, y, width, height), result[i])
    return result


def _jpeg_quality(quality: float) -> int:
    if not 0.0 < quality <= 1.0:
        raise InvalidRenderSettings(f"quality {quality} must be in (0, 1]")
    return max(1, min(100, round(quality * 100)))


def encode(rgb: NDArray[np.uint8], fmt: str = "jpeg", quality: float = 0.9) -> bytes:
    """Bytes of an (h, w, 3) uint8 image as ``fmt`` (jpeg, png or tiff). ``quality`` is
    OMERO.web's ``q``, 0 < q <= 1, used by JPEG only (Pillow quality ``round(100 q)``)."""
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected (h, w, 3) uint8, got {rgb.dtype} {rgb.shape}")
    buffer = io.BytesIO()
    if fmt == "jpeg":
        Image.fromarray(np.ascontiguousarray(rgb)).save(buffer, "JPEG",
                                                       quality=_jpeg_quality(quality))
    elif fmt == "png":
        # Level 1: rendered tiles are made per request, and deflating harder costs
        # several times the render time for a few percent of bytes.
        Image.fromarray(np.ascontiguousarray(rgb)).save(buffer, "PNG", compress_level=1)
    elif fmt == "tiff":
        tifffile.imwrite(buffer, rgb, photometric="rgb", compression="zlib",
                         compressionargs={"level": 1})
    else:
        raise InvalidRenderSettings(f"format must be one of {', '.join(FORMATS)}, "
                                    f"got {fmt[:40]!r}")
    return buffer.getvalue()


def encode_raw(array: NDArray[Any], fmt: str = "tiff") -> bytes:
    """Bytes of unrendered (c, h, w) pixels: ``tiff`` (multi-page, one page per channel,
    the array's own dtype, so 16-bit data stays 16-bit) or ``npy`` (numpy's format)."""
    buffer = io.BytesIO()
    if fmt == "tiff":
        tifffile.imwrite(buffer, array, photometric="minisblack", metadata={"axes": "CYX"},
                         compression="zlib", compressionargs={"level": 1})
    elif fmt == "npy":
        np.save(buffer, np.ascontiguousarray(array), allow_pickle=False)
    else:
        raise InvalidRenderSettings(f"raw format must be one of {', '.join(RAW_FORMATS)}, "
                                    f"got {fmt[:40]!r}")
    return buffer.getvalue()


def warm_up() -> None:
    """Load (or compile, once) the kernels for every pixel type before forking workers."""
    channel = ChannelSettings(start=0.0, end=1.0)
    for name in DTYPES.values():
        plane = np.zeros((1, 1), name)
        composite(plane, channel, False, np.zeros((1, 1, 3), np.uint8))
        kernels.project_max(plane, plane.copy())
        kernels.project_add(plane, np.zeros((1, 1), np.float64))
    kernels.composite_values(np.zeros((1, 1), np.float64), *_args(channel), _GREY,
                             np.zeros((1, 1, 3), np.uint8))
