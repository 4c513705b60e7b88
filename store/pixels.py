"""Original files and the pixel metadata of images: Pixels and Channels."""

from __future__ import annotations

import enum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from store.base import Base, Owned

PIXEL_TYPES = ("uint8", "int8", "uint16", "int16", "uint32", "int32", "float", "double", "bit")
DIMENSION_ORDERS = ("XYZCT", "XYZTC", "XYCTZ", "XYCZT", "XYTCZ", "XYTZC")


class PyramidState(enum.StrEnum):
    NONE = "none"  # the originals are read directly (small, or already pyramidal)
    PENDING = "pending"  # a pyramid job is queued; low resolution comes from the originals
    READY = "ready"
    FAILED = "failed"


class OriginalFile(Owned, Base):
    __tablename__ = "original_file"
    kind = "OriginalFile"

    fileset_id: Mapped[int | None] = mapped_column(
        ForeignKey("fileset.id", ondelete="CASCADE"), default=None, index=True
    )
    name: Mapped[str] = mapped_column(String(255))
    # Relative to the binary repository root; never a client-supplied path.
    path: Mapped[str] = mapped_column(String(1024))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    mimetype: Mapped[str] = mapped_column(String(255), default="application/octet-stream")


class Pixels(Owned, Base):
    __tablename__ = "pixels"
    __table_args__ = (
        CheckConstraint(
            "size_x > 0 AND size_y > 0 AND size_z > 0 AND size_c > 0 AND size_t > 0",
            name="positive_sizes",
        ),
    )
    kind = "Pixels"

    image_id: Mapped[int] = mapped_column(
        ForeignKey("image.id", ondelete="CASCADE"), unique=True
    )
    size_x: Mapped[int] = mapped_column(Integer)
    size_y: Mapped[int] = mapped_column(Integer)
    size_z: Mapped[int] = mapped_column(Integer, default=1)
    size_c: Mapped[int] = mapped_column(Integer, default=1)
    size_t: Mapped[int] = mapped_column(Integer, default=1)
    pixel_type: Mapped[str] = mapped_column(String(16))
    dimension_order: Mapped[str] = mapped_column(String(5), default="XYZCT")
    significant_bits: Mapped[int | None] = mapped_column(Integer, default=None)
    physical_size_x: Mapped[float | None] = mapped_column(default=None)
    physical_size_x_unit: Mapped[str | None] = mapped_column(String(16), default=None)
    physical_size_y: Mapped[float | None] = mapped_column(default=None)
    physical_size_y_unit: Mapped[str | None] = mapped_column(String(16), default=None)
    physical_size_z: Mapped[float | None] = mapped_column(default=None)
    physical_size_z_unit: Mapped[str | None] = mapped_column(String(16), default=None)
    time_increment: Mapped[float | None] = mapped_column(default=None)
    time_increment_unit: Mapped[str | None] = mapped_column(String(16), default=None)
    # [[size_x, size_y], ...] from full resolution down, of the source pixels are read from.
    levels: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # Where pixels are read from: the originals, or a pyramid built beside them because the
    # originals have no cheap random access at low resolution. See PyramidState.
    pyramid_state: Mapped[str] = mapped_column(String(16), default="none")
    pyramid_path: Mapped[str | None] = mapped_column(String(1024), default=None)
    thumbnail_path: Mapped[str | None] = mapped_column(String(1024), default=None)


class Channel(Owned, Base):
    __tablename__ = "channel"
    __table_args__ = (UniqueConstraint("pixels_id", "index"),)
    kind = "Channel"

    pixels_id: Mapped[int] = mapped_column(ForeignKey("pixels.id", ondelete="CASCADE"), index=True)
    index: Mapped[int] = mapped_column(Integer)
    name: Mapped[str | None] = mapped_column(String(255), default=None)
    # RGBA packed into a signed 32-bit integer, as in the OME model.
    color: Mapped[int | None] = mapped_column(Integer, default=None)
    excitation_wavelength: Mapped[float | None] = mapped_column(default=None)
    excitation_wavelength_unit: Mapped[str | None] = mapped_column(String(16), default=None)
    emission_wavelength: Mapped[float | None] = mapped_column(default=None)
    emission_wavelength_unit: Mapped[str | None] = mapped_column(String(16), default=None)
    fluor: Mapped[str | None] = mapped_column(String(255), default=None)
    # Computed at import over all planes (sampled for big images): the range of values and
    # the 0.1 / 99.9 percentiles that give a default display window.
    stats_min: Mapped[float | None] = mapped_column(default=None)
    stats_max: Mapped[float | None] = mapped_column(default=None)
    stats_low: Mapped[float | None] = mapped_column(default=None)
    stats_high: Mapped[float | None] = mapped_column(default=None)
