"""Frozen descriptions of what a reader found in a file, in OME vocabulary."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from engine.errors import UnsupportedFormat

#: OME pixel type names by numpy dtype name.
PIXEL_TYPES: dict[str, str] = {
    "uint8": "uint8",
    "int8": "int8",
    "uint16": "uint16",
    "int16": "int16",
    "uint32": "uint32",
    "int32": "int32",
    "float32": "float",
    "float64": "double",
}


def pixel_type_of(dtype: np.dtype) -> str:
    """The OME pixel type name for a numpy dtype; UnsupportedFormat for others."""
    try:
        return PIXEL_TYPES[np.dtype(dtype).newbyteorder("=").name]
    except KeyError:
        raise UnsupportedFormat(f"unsupported pixel type {np.dtype(dtype)}") from None


def rgba_to_int(red: int, green: int, blue: int, alpha: int = 255) -> int:
    """An RGBA colour packed as OME does: a signed 32-bit integer, red in the top byte."""
    value = (red & 255) << 24 | (green & 255) << 16 | (blue & 255) << 8 | (alpha & 255)
    return value - (1 << 32) if value >= 1 << 31 else value


@dataclass(frozen=True, slots=True)
class Quantity:
    """A value with its unit symbol, e.g. ``Quantity(0.65, "µm")`` or ``Quantity(2.0, "s")``."""

    value: float
    unit: str


@dataclass(frozen=True, slots=True)
class Channel:
    """One channel: ``color`` is signed RGBA int32 as in OME, wavelengths carry units."""

    name: str | None = None
    color: int | None = None
    excitation_wavelength: Quantity | None = None
    emission_wavelength: Quantity | None = None
    fluor: str | None = None


@dataclass(frozen=True, slots=True)
class PlaneInfo:
    """Where and when one plane was acquired (OME ``Plane``); positions carry their units."""

    z: int
    c: int
    t: int
    position_x: Quantity | None = None
    position_y: Quantity | None = None
    position_z: Quantity | None = None
    delta_t: Quantity | None = None
    exposure_time: Quantity | None = None


@dataclass(frozen=True, slots=True)
class WellSampleInfo:
    """One field of a well: the image (``series`` of the same source) and its position."""

    series: int
    position_x: Quantity | None = None
    position_y: Quantity | None = None


@dataclass(frozen=True, slots=True)
class WellInfo:
    row: int  # 0-based, as in OME
    column: int
    samples: tuple[WellSampleInfo, ...] = ()


@dataclass(frozen=True, slots=True)
class PlateInfo:
    """An OME ``Plate`` of a high-content screening file; naming is "letter" or "number"."""

    name: str | None
    rows: int | None = None
    columns: int | None = None
    row_naming: str | None = None
    column_naming: str | None = None
    wells: tuple[WellInfo, ...] = ()


@dataclass(frozen=True, slots=True)
class ImageMetadata:
    """One image (series) of a file.

    ``resolution_levels`` lists (size_x, size_y) from full resolution down; the first
    entry always equals (size_x, size_y). ``planes`` holds what the file says about
    individual planes (often nothing), in the file's order.
    """

    name: str
    series: int
    size_x: int
    size_y: int
    size_z: int
    size_c: int
    size_t: int
    pixel_type: str
    dimension_order: str = "XYZCT"
    physical_size_x: Quantity | None = None
    physical_size_y: Quantity | None = None
    physical_size_z: Quantity | None = None
    time_increment: Quantity | None = None
    acquisition_date: datetime | None = None
    channels: tuple[Channel, ...] = ()
    resolution_levels: tuple[tuple[int, int], ...] = field(default=())
    significant_bits: int = 8
    planes: tuple[PlaneInfo, ...] = ()

    @property
    def plane_count(self) -> int:
        return self.size_z * self.size_c * self.size_t

    @property
    def pixel_count(self) -> int:
        return self.size_x * self.size_y * self.plane_count
