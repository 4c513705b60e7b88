"""16-bit colour PNGs (RGB, RGBA, grey+alpha) via imagecodecs, keeping all 16 bits."""

from __future__ import annotations

import os
import struct
import threading
from pathlib import Path

import imagecodecs
import numpy as np
from numpy.typing import NDArray

from engine.errors import CorruptFile
from engine.metadata import Channel, ImageMetadata, rgba_to_int
from engine.readers.base import (
    Limits,
    Region,
    check_limits,
    check_whole_decode,
    prepare_region,
)

# PNG colour type -> channels; grey (0) and palette (3) stay with Pillow, which keeps them.
CHANNELS: dict[int, tuple[Channel, ...]] = {
    2: (
        Channel(color=rgba_to_int(255, 0, 0)),
        Channel(color=rgba_to_int(0, 255, 0)),
        Channel(color=rgba_to_int(0, 0, 255)),
    ),
    4: (Channel(), Channel(name="alpha")),
    6: (
        Channel(color=rgba_to_int(255, 0, 0)),
        Channel(color=rgba_to_int(0, 255, 0)),
        Channel(color=rgba_to_int(0, 0, 255)),
        Channel(name="alpha"),
    ),
}


def _header(head: bytes) -> tuple[int, int, int, int] | None:
    """(width, height, bit depth, colour type) from the IHDR chunk, or None."""
    if len(head) < 26 or head[12:16] != b"IHDR":
        return None
    width, height, depth, colour = struct.unpack(">IIBB", head[16:26])
    return width, height, depth, colour


def is_deep_colour_png(head: bytes) -> bool:
    """Whether a PNG's first bytes declare 16 bits per sample with more than one channel."""
    header = _header(head)
    return header is not None and header[2] == 16 and header[3] in CHANNELS


class Png16Source:
    """A 16-bit colour PNG, decoded whole on first read (PNG has no random access)."""

    def __init__(self, path: str | os.PathLike[str], limits: Limits) -> None:
        self._path = Path(path)
        self._limits = limits
        self._lock = threading.Lock()
        self._pixels: NDArray[np.generic] | None = None
        with self._path.open("rb") as handle:
            header = _header(handle.read(32))
        if header is None:
            raise CorruptFile(f"{self._path.name}: PNG without IHDR header")
        width, height, _, colour = header
        channels = CHANNELS[colour]
        self._meta = ImageMetadata(
            name=self._path.name, series=0, size_x=width, size_y=height, size_z=1,
            size_c=len(channels), size_t=1, pixel_type="uint16", channels=channels,
            resolution_levels=((width, height),), significant_bits=16,
        )  # fmt: skip
        check_limits(self._meta, limits)
        check_whole_decode(self._meta, limits, self._path.name)

    @property
    def images(self) -> list[ImageMetadata]:
        return [self._meta]

    def _decoded(self) -> NDArray[np.generic]:
        if self._pixels is None:
            try:
                pixels = imagecodecs.png_decode(self._path.read_bytes())
            except (imagecodecs.PngError, ValueError, RuntimeError) as exc:
                raise CorruptFile(f"{self._path.name}: {exc}") from exc
            meta = self._meta
            if pixels.shape != (meta.size_y, meta.size_x, meta.size_c):
                raise CorruptFile(f"{self._path.name}: decoded to shape {pixels.shape}")
            self._pixels = pixels.astype(np.uint16, copy=False)
        return self._pixels

    def read_region(
        self, region: Region, out: NDArray[np.generic] | None = None
    ) -> NDArray[np.generic]:
        """Pixels of one channel region as (height, width) uint16."""
        buffer = prepare_region([self._meta], self._limits, region, out)
        with self._lock:
            pixels = self._decoded()
        r = region
        buffer[...] = pixels[r.y : r.y + r.height, r.x : r.x + r.width, r.c]
        return buffer

    def close(self) -> None:
        self._pixels = None
