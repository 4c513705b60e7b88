"""PNG, JPEG, BMP and GIF via Pillow: colour components become channels, GIF frames T."""

from __future__ import annotations

import os
import threading
import warnings
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PIL import Image, UnidentifiedImageError

from engine.errors import CorruptFile, ImageTooLarge, UnsupportedFormat
from engine.metadata import Channel, ImageMetadata, pixel_type_of, rgba_to_int
from engine.readers.base import Limits, Region, check_limits, check_whole_decode, prepare_region

COLORS = {
    "R": rgba_to_int(255, 0, 0),
    "G": rgba_to_int(0, 255, 0),
    "B": rgba_to_int(0, 0, 255),
}
# Pillow mode -> (mode to convert to, numpy dtype)
MODES: dict[str, tuple[str, str]] = {
    "1": ("L", "uint8"),
    "L": ("L", "uint8"),
    "LA": ("LA", "uint8"),
    "P": ("RGBA", "uint8"),
    "PA": ("RGBA", "uint8"),
    "RGB": ("RGB", "uint8"),
    "RGBA": ("RGBA", "uint8"),
    "RGBX": ("RGB", "uint8"),
    "CMYK": ("RGB", "uint8"),
    "YCbCr": ("RGB", "uint8"),
    "I;16": ("I;16", "uint16"),
    "I": ("I", "int32"),
    "F": ("F", "float32"),
}


class PillowSource:
    """A single image read whole by Pillow on first access, then sliced per region."""

    def __init__(self, path: str | os.PathLike[str], limits: Limits) -> None:
        self._path = Path(path)
        self._limits = limits
        self._lock = threading.Lock()
        self._frame: tuple[int, NDArray[np.generic]] | None = None
        try:
            with warnings.catch_warnings():
                # Our own limit (check_whole_decode) decides; Pillow's refusal above twice its
                # limit is mapped to ImageTooLarge below.
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                with Image.open(self._path) as image:
                    mode, frames, size = image.mode, getattr(image, "n_frames", 1), image.size
        except Image.DecompressionBombError as exc:
            raise ImageTooLarge(f"{self._path.name}: {exc}", pixels=0,
                                limit=limits.max_whole_decode_pixels) from exc
        except UnidentifiedImageError as exc:
            raise UnsupportedFormat(f"{self._path.name}: {exc}") from exc
        except (OSError, SyntaxError, ValueError) as exc:
            raise CorruptFile(f"{self._path.name}: {exc}") from exc
        if mode not in MODES:
            raise UnsupportedFormat(f"{self._path.name}: Pillow mode {mode} is not supported")
        if mode == "P":
            with Image.open(self._path) as image:
                self._target = "RGBA" if image.has_transparency_data else "RGB"
        else:
            self._target = MODES[mode][0]
        bands = Image.getmodebands(self._target)
        channels = (
            tuple(
                Channel(name="alpha" if b == "A" else None, color=COLORS.get(b))
                for b in Image.getmodebandnames(self._target)
            )
            if bands > 1
            else (Channel(),)
        )
        self._meta = ImageMetadata(
            name=self._path.name,
            series=0,
            size_x=size[0],
            size_y=size[1],
            size_z=1,
            size_c=bands,
            size_t=frames,
            pixel_type=pixel_type_of(np.dtype(MODES[mode][1])),
            channels=channels,
            resolution_levels=((size[0], size[1]),),
            significant_bits=np.dtype(MODES[mode][1]).itemsize * 8,
        )
        check_limits(self._meta, limits)
        check_whole_decode(self._meta, limits, self._path.name)

    @property
    def images(self) -> list[ImageMetadata]:
        return [self._meta]

    def _pixels(self, t: int) -> NDArray[np.generic]:
        if self._frame is not None and self._frame[0] == t:
            return self._frame[1]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                image = Image.open(self._path)
            with image:
                image.seek(t)
                converted = image.convert(self._target) if image.mode != self._target else image
                array = np.asarray(converted)
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            raise CorruptFile(f"{self._path.name}: {exc}") from exc
        if array.ndim == 2:
            array = array[:, :, np.newaxis]
        dtype = np.dtype(MODES.get(self._target, (self._target, "uint8"))[1])
        array = array.astype(dtype, copy=False)
        self._frame = (t, array)
        return array

    def read_region(self, region: Region,
                    out: NDArray[np.generic] | None = None) -> NDArray[np.generic]:
        """Pixels of one channel region as (height, width)."""
        buffer = prepare_region([self._meta], self._limits, region, out)
        with self._lock:
            pixels = self._pixels(region.t)
        r = region
        buffer[...] = pixels[r.y : r.y + r.height, r.x : r.x + r.width, r.c]
        return buffer

    def close(self) -> None:
        self._frame = None
