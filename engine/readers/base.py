"""The reader contract shared by every format, and the checks all readers apply."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from engine.errors import ImageTooLarge
from engine.metadata import PIXEL_TYPES, ImageMetadata

DTYPES: dict[str, np.dtype] = {ome: np.dtype(name) for name, ome in PIXEL_TYPES.items()}


@dataclass(frozen=True, slots=True)
class Limits:
    """Pixel limits: ``max_image_pixels`` over X*Y*Z*C*T of full resolution, and
    ``max_region_pixels`` over one ``read_region`` call (width*height)."""

    max_image_pixels: int = 1 << 42
    max_plane_pixels: int = 1 << 36
    max_region_pixels: int = 1 << 28
    # PNG, JPEG, BMP and GIF can only be decoded whole, into memory: a small file declaring
    # a huge plane (a decompression bomb) is refused from its header.
    max_whole_decode_pixels: int = 1 << 28


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True, slots=True)
class Region:
    """One rectangle of one plane: image ``series``, resolution ``level`` (0 = full), plane
    indices ``z``/``c``/``t``, and ``x``/``y``/``width``/``height`` in that level's pixels."""

    series: int = 0
    level: int = 0
    z: int = 0
    c: int = 0
    t: int = 0
    x: int = 0
    y: int = 0
    width: int = 0
    height: int = 0


class ImageSource(Protocol):
    """An opened file: its images and a way to read one region of one plane."""

    @property
    def images(self) -> list[ImageMetadata]: ...

    def read_region(self, region: Region,
                    out: NDArray[np.generic] | None = None) -> NDArray[np.generic]: ...

    def close(self) -> None: ...


def check_limits(meta: ImageMetadata, limits: Limits) -> None:
    """Raise ImageTooLarge when an image's declared size exceeds ``limits``."""
    plane = meta.size_x * meta.size_y
    if plane > limits.max_plane_pixels:
        raise ImageTooLarge(
            f"plane of {meta.size_x}x{meta.size_y} pixels exceeds the limit",
            pixels=plane,
            limit=limits.max_plane_pixels,
        )
    if meta.pixel_count > limits.max_image_pixels:
        raise ImageTooLarge(
            f"image of {meta.pixel_count} pixels exceeds the limit",
            pixels=meta.pixel_count,
            limit=limits.max_image_pixels,
        )


def check_whole_decode(meta: ImageMetadata, limits: Limits, file_name: str) -> None:
    """ImageTooLarge when a format decoded whole in memory declares too many pixels."""
    pixels = meta.size_x * meta.size_y * meta.size_c
    if pixels > limits.max_whole_decode_pixels:
        raise ImageTooLarge(
            f"{file_name}: {meta.size_x}x{meta.size_y} pixels exceeds the limit for formats "
            "that must be decoded whole (a possible decompression bomb); store such images "
            "as tiled TIFF", pixels=pixels, limit=limits.max_whole_decode_pixels)


def prepare_region(images: list[ImageMetadata], limits: Limits, region: Region,
                   out: NDArray[np.generic] | None) -> NDArray[np.generic]:
    """Validate a region request and return the (height, width) buffer to fill."""
    series, level, z, c, t = region.series, region.level, region.z, region.c, region.t
    x, y, width, height = region.x, region.y, region.width, region.height
    if not 0 <= series < len(images):
        raise IndexError(f"series {series} out of range 0..{len(images) - 1}")
    meta = images[series]
    if not 0 <= level < len(meta.resolution_levels):
        raise IndexError(f"level {level} out of range 0..{len(meta.resolution_levels) - 1}")
    for name, value, size in (("z", z, meta.size_z), ("c", c, meta.size_c), ("t", t, meta.size_t)):
        if not 0 <= value < size:
            raise IndexError(f"{name}={value} out of range 0..{size - 1}")
    size_x, size_y = meta.resolution_levels[level]
    if width <= 0 or height <= 0 or x < 0 or y < 0 or x + width > size_x or y + height > size_y:
        raise IndexError(
            f"region x={x} y={y} {width}x{height} outside level {level} ({size_x}x{size_y})"
        )
    if width * height > limits.max_region_pixels:
        raise ImageTooLarge(
            f"region of {width}x{height} exceeds the limit",
            pixels=width * height,
            limit=limits.max_region_pixels,
        )
    dtype = DTYPES[meta.pixel_type]
    if out is None:
        return np.empty((height, width), dtype)
    if out.shape != (height, width) or out.dtype != dtype:
        raise ValueError(
            f"out must be {dtype} of shape {(height, width)}, got {out.dtype} {out.shape}"
        )
    return out
