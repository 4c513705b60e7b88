"""Thumbnails: a small RGB composite of all channels of one plane, plus PNG/JPEG encoders.

Plain numpy on purpose: thumbnails are tiny (96 px by default) and built once per image
at import; the numba render kernels serve tiles. Each channel is read as an overview
(bounded memory, see ``engine.overview``; or passed in, as ``engine.scan`` builds it
while computing statistics), resized to the exact thumbnail size with
Pillow, mapped linearly through its window to 0..1, tinted with its colour and added.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from engine.metadata import Channel, ImageMetadata
from engine.overview import read_overview
from engine.readers.base import ImageSource
from engine.stats import HIGH_PERCENTILE, LOW_PERCENTILE

RED, GREEN, BLUE, GREY = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)
#: Default colours when the file names none, in OMERO's order; more channels cycle.
DEFAULT_COLORS = (RED, GREEN, BLUE)

Window = tuple[float, float]


def color_rgb(color: int) -> tuple[int, int, int]:
    """(red, green, blue) of an OME colour: signed RGBA int32, red in the top byte."""
    value = color & 0xFFFFFFFF
    return (value >> 24) & 255, (value >> 16) & 255, (value >> 8) & 255


def channel_colors(channels: Sequence[Channel], size_c: int) -> list[tuple[int, int, int]]:
    """The display colour of each channel: its own, else grey for a single channel,
    else red, green, blue cycling by channel index."""
    colors = []
    for index in range(size_c):
        color = channels[index].color if index < len(channels) else None
        if color is not None:
            colors.append(color_rgb(color))
        elif size_c == 1:
            colors.append(GREY)
        else:
            colors.append(DEFAULT_COLORS[index % len(DEFAULT_COLORS)])
    return colors


def thumbnail_shape(width: int, height: int, size: int) -> tuple[int, int]:
    """(height, width) of a thumbnail whose longest side is exactly ``size``."""
    if width >= height:
        return max(1, round(height * size / width)), size
    return size, max(1, round(width * size / height))


def auto_window(values: NDArray[Any]) -> Window:
    """The 0.1 and 99.9 percentiles of the finite values (0, 0 when there are none)."""
    flat: NDArray[Any] = values.ravel()
    if flat.dtype.kind == "f":
        flat = flat[np.isfinite(flat)]
    if flat.size == 0:
        return 0.0, 0.0
    low, high = np.percentile(flat, [LOW_PERCENTILE, HIGH_PERCENTILE])
    return float(low), float(high)


def apply_window(values: NDArray[np.float32], window: Window) -> NDArray[np.float32]:
    """Map ``window`` (start, end) linearly to 0..1, clipped; NaN maps to 0.

    A window with end <= start is a threshold: values >= end are 1, others 0.
    """
    start, end = window
    if end <= start:
        scaled = (values >= end).astype(np.float32)
    else:
        scaled = (values - np.float32(start)) * np.float32(1.0 / (end - start))
    return np.nan_to_num(np.clip(scaled, 0.0, 1.0, out=scaled), nan=0.0)


def overview_side(size: int) -> int:
    """Longest side (pixels) of the overviews a ``size`` thumbnail is resized from."""
    # Twice the target size, then a box resize: smoother than upscaling a smaller one.
    return 2 * size


def _resized(plane: NDArray[np.generic], shape: tuple[int, int]) -> NDArray[np.float32]:
    image = Image.fromarray(np.ascontiguousarray(plane, dtype=np.float32))
    height, width = shape
    shrinking = width <= plane.shape[1] and height <= plane.shape[0]
    method = Image.Resampling.BOX if shrinking else Image.Resampling.BILINEAR
    return np.asarray(image.resize((width, height), method), dtype=np.float32)


def _plane_index(meta: ImageMetadata, z: int | None, t: int | None) -> tuple[int, int]:
    z = meta.size_z // 2 if z is None else z
    t = 0 if t is None else t
    if not (0 <= z < meta.size_z and 0 <= t < meta.size_t):
        raise IndexError(f"plane z={z} t={t} outside {meta.size_z} z x {meta.size_t} t")
    return z, t


def render_thumbnail(source: ImageSource, series: int, *, size: int = 96, z: int | None = None,
                     t: int | None = None,
                     windows: Sequence[Window] | None = None,
                     overviews: Sequence[NDArray[np.generic]] | None = None,
                     ) -> NDArray[np.uint8]:
    """An RGB uint8 array (h, w, 3) of one plane with its longest side exactly ``size``.

    ``z`` defaults to the middle plane, ``t`` to 0. ``windows`` gives (start, end) per
    channel in pixel units; by default each channel's is the 0.1/99.9 percentiles of
    its overview. Channels are tinted with their colours and added, clipped to 255.
    ``overviews``, one per channel, are used instead of reading the plane; each must be
    what ``read_overview(source, series, z, c, t, overview_side(size))`` returns (e.g.
    ``engine.scan.scan_channel(..., max_side=overview_side(size)).overview``).
    """
    if size < 1:
        raise ValueError(f"size must be >= 1, got {size}")
    meta = source.images[series]
    if windows is not None and len(windows) != meta.size_c:
        raise ValueError(f"{len(windows)} windows for {meta.size_c} channels")
    if overviews is not None and len(overviews) != meta.size_c:
        raise ValueError(f"{len(overviews)} overviews for {meta.size_c} channels")
    z, t = _plane_index(meta, z, t)
    shape = thumbnail_shape(meta.size_x, meta.size_y, size)
    colors = np.asarray(channel_colors(meta.channels, meta.size_c), dtype=np.float32)
    total = np.zeros((*shape, 3), np.float32)
    for c in range(meta.size_c):
        overview = (overviews[c] if overviews is not None
                    else read_overview(source, series, z, c, t, overview_side(size)))
        window = windows[c] if windows is not None else auto_window(overview)
        scaled = apply_window(_resized(overview, shape), window)
        total += scaled[:, :, None] * colors[c]
    return np.clip(np.rint(total), 0, 255).astype(np.uint8)


def _encode(rgb: NDArray[np.uint8], fmt: str, **options: int | bool) -> bytes:
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected (h, w, 3) uint8, got {rgb.dtype} {rgb.shape}")
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb)).save(buffer, format=fmt, **options)
    return buffer.getvalue()


def encode_png(rgb: NDArray[np.uint8]) -> bytes:
    """PNG bytes of an (h, w, 3) uint8 image."""
    return _encode(rgb, "PNG")


def encode_jpeg(rgb: NDArray[np.uint8], quality: int = 85) -> bytes:
    """Baseline JPEG bytes of an (h, w, 3) uint8 image; ``quality`` 1..95."""
    return _encode(rgb, "JPEG", quality=quality)
