"""Rendering settings as OMERO models them, as frozen values validated on construction.

Vocabulary (OMERO's ``RenderingDef``/``ChannelBinding``/``QuantumDef``): per channel
active, window start/end (in the image's pixel units), a colour (RGBA) or a named LUT,
the quantum family (linear/polynomial/exponential/logarithmic) with its coefficient,
reverse intensity and noise reduction; per image the model (colour or greyscale), the
default z and t, and a z projection. The maths lives in ``engine.render.kernels``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from numbers import Integral, Real

import numpy as np

from engine.errors import EngineError
from engine.metadata import ImageMetadata
from engine.render.luts import canonical_name
from engine.stats import ChannelStats
from engine.thumbnail import channel_colors

FAMILIES = ("linear", "polynomial", "exponential", "logarithmic")
MODELS = ("color", "greyscale")
PROJECTIONS = ("none", "max", "mean", "sum")
#: Coefficients outside this range only produce black or saturated images.
MIN_COEFFICIENT, MAX_COEFFICIENT = 0.01, 100.0
#: Most channels a settings value may carry (a bound for hostile input; OME allows more).
MAX_CHANNELS = 1024

RGBA = tuple[int, int, int, int]


class InvalidRenderSettings(EngineError):
    """Rendering settings that are malformed, or do not fit the image they are for."""


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise InvalidRenderSettings(message)


@dataclass(frozen=True, slots=True)
class ChannelSettings:
    """One channel's rendering. ``start``/``end``: window in pixel units (``end <=
    start`` is a threshold at ``end``); ``color``: RGBA 0..255, used when ``lut`` is
    None; ``lut``: canonical LUT name (see ``engine.render.luts``)."""

    start: float
    end: float
    color: RGBA = (255, 255, 255, 255)
    lut: str | None = None
    active: bool = True
    family: str = "linear"
    coefficient: float = 1.0
    reverse: bool = False
    noise_reduction: bool = False

    def __post_init__(self) -> None:
        for name in ("start", "end", "coefficient"):
            value = getattr(self, name)
            _require(isinstance(value, Real) and not isinstance(value, bool),
                     f"{name} must be a number, got {type(value).__name__}")
            # Plain floats (not numpy scalars): hashable alike, formatted alike in URLs.
            object.__setattr__(self, name, float(value))
        _require(math.isfinite(self.start) and math.isfinite(self.end),
                 f"window {self.start}:{self.end} must be finite")
        color = self.color
        _require(isinstance(color, tuple | list) and len(color) == 4
                 and all(isinstance(v, Integral) and 0 <= v <= 255 for v in color),
                 f"colour {str(color)[:40]} must be four integers 0..255")
        object.__setattr__(self, "color", tuple(int(v) for v in color))
        _require(self.lut is None or isinstance(self.lut, str), "lut must be a name")
        _require(isinstance(self.family, str), "family must be a name")
        if self.lut is not None:
            canonical = canonical_name(self.lut)
            _require(canonical is not None, f"unknown lookup table {self.lut[:40]!r}")
            object.__setattr__(self, "lut", canonical)
        _require(self.family in FAMILIES,
                 f"family must be one of {', '.join(FAMILIES)}, got {self.family[:40]!r}")
        _require(MIN_COEFFICIENT <= self.coefficient <= MAX_COEFFICIENT,
                 f"coefficient {self.coefficient} outside {MIN_COEFFICIENT}..{MAX_COEFFICIENT}")


@dataclass(frozen=True, slots=True)
class Projection:
    """A z projection: ``kind`` none/max/mean/sum over z ``start``..``end`` inclusive
    (0-based; None = the first/last plane)."""

    kind: str = "none"
    start: int | None = None
    end: int | None = None

    def __post_init__(self) -> None:
        _require(isinstance(self.kind, str) and self.kind in PROJECTIONS,
                 f"projection must be one of {', '.join(PROJECTIONS)}, got {self.kind[:40]!r}")
        for value in (self.start, self.end):
            _require(value is None or (isinstance(value, int) and value >= 0),
                     f"projection z {value} must be an integer >= 0")
        if self.start is not None and self.end is not None:
            _require(self.start <= self.end, f"projection z range {self.start}:{self.end} "
                     "must not run backwards")

    def planes(self, size_z: int) -> range:
        """The z indices projected for an image of ``size_z`` planes."""
        start = 0 if self.start is None else self.start
        end = size_z - 1 if self.end is None else self.end
        _require(end < size_z, f"projection z {end} outside 0..{size_z - 1}")
        return range(start, end + 1)


@dataclass(frozen=True, slots=True)
class RenderSettings:
    """A whole image's rendering: one ChannelSettings per channel, in channel order."""

    channels: tuple[ChannelSettings, ...]
    model: str = "color"
    z: int = 0
    t: int = 0
    projection: Projection = field(default_factory=Projection)

    def __post_init__(self) -> None:
        _require(0 < len(self.channels) <= MAX_CHANNELS,
                 f"settings need 1..{MAX_CHANNELS} channels, got {len(self.channels)}")
        _require(isinstance(self.channels, tuple)
                 and all(isinstance(c, ChannelSettings) for c in self.channels),
                 "channels must be a tuple of ChannelSettings")
        _require(isinstance(self.model, str) and self.model in MODELS,
                 f"model must be one of {', '.join(MODELS)}, got {self.model[:40]!r}")
        _require(isinstance(self.z, int) and isinstance(self.t, int)
                 and self.z >= 0 and self.t >= 0, f"z={self.z} t={self.t} must be integers >= 0")

    def rendered_channels(self) -> list[int]:
        """Indices of the channels drawn: every active one in colour, the first active
        one in greyscale (OMERO's rule), none when no channel is active."""
        active = [c for c, channel in enumerate(self.channels) if channel.active]
        return active[:1] if self.model == "greyscale" else active


def check_fits(settings: RenderSettings, meta: ImageMetadata) -> None:
    """InvalidRenderSettings unless ``settings`` fits ``meta``'s channels, z and t."""
    _require(len(settings.channels) == meta.size_c,
             f"{len(settings.channels)} channel settings for {meta.size_c} channels")
    _require(settings.t < meta.size_t, f"t={settings.t} outside 0..{meta.size_t - 1}")
    if settings.projection.kind == "none":
        _require(settings.z < meta.size_z, f"z={settings.z} outside 0..{meta.size_z - 1}")
    else:
        settings.projection.planes(meta.size_z)


def parse_color(text: str) -> RGBA:
    """RGBA of ``RRGGBB`` or ``RRGGBBAA`` hex (OMERO.web's ``$FF0000``; no ``#``)."""
    _require(len(text) in (6, 8) and all(ch in "0123456789abcdefABCDEF" for ch in text),
             f"colour {text[:40]!r} must be RRGGBB or RRGGBBAA hex")
    values = [int(text[i:i + 2], 16) for i in range(0, len(text), 2)]
    return values[0], values[1], values[2], values[3] if len(values) == 4 else 255


def format_color(color: RGBA) -> str:
    """``RRGGBB`` hex of an RGBA colour, with ``AA`` only when alpha is not 255."""
    text = "".join(f"{v:02X}" for v in color[:3])
    return text if color[3] == 255 else text + f"{color[3]:02X}"


def _dtype_range(pixel_type: str) -> tuple[float, float]:
    dtype = np.dtype({"float": "float32", "double": "float64"}.get(pixel_type, pixel_type))
    if dtype.kind in "ui":
        info = np.iinfo(dtype)
        return float(info.min), float(info.max)
    return 0.0, 1.0


def default_window(stats: ChannelStats | None, pixel_type: str) -> tuple[float, float]:
    """A channel's default window: its 0.1/99.9 percentiles, widened to min..max when
    they coincide (a near-constant channel), else the type's range (0..1 for floats)."""
    if stats is not None and stats.sampled:
        if stats.high > stats.low:
            return stats.low, stats.high
        if stats.max > stats.min:
            return stats.min, stats.max
    return _dtype_range(pixel_type)


def defaults_from(meta: ImageMetadata, stats: Sequence[ChannelStats | None]) -> RenderSettings:
    """OMERO-like defaults at import: every channel active with its statistics window
    and its OME colour (else grey for one channel, red/green/blue cycling); greyscale
    for single-channel images, colour otherwise; the middle z plane and t = 0."""
    _require(len(stats) == meta.size_c, f"{len(stats)} statistics for {meta.size_c} channels")
    channels = []
    for c, (red, green, blue) in enumerate(channel_colors(meta.channels, meta.size_c)):
        start, end = default_window(stats[c], meta.pixel_type)
        # Alpha is left opaque: files often store 0 there, meaning "unset", and the
        # import thumbnails (engine.thumbnail) ignore it too.
        channels.append(ChannelSettings(start=start, end=end, color=(red, green, blue, 255)))
    return RenderSettings(channels=tuple(channels),
                          model="greyscale" if meta.size_c == 1 else "color",
                          z=meta.size_z // 2, t=0)
