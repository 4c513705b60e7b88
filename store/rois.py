"""Regions of interest on images and their shapes."""

from __future__ import annotations

import enum

from sqlalchemy import CheckConstraint, Float, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from store.base import DESCRIPTION_LENGTH, Base, Owned


class ShapeKind(enum.StrEnum):
    RECTANGLE = "rectangle"
    ELLIPSE = "ellipse"
    POINT = "point"
    LINE = "line"
    POLYLINE = "polyline"
    POLYGON = "polygon"
    MASK = "mask"
    LABEL = "label"


class Roi(Owned, Base):
    __tablename__ = "roi"
    kind = "Roi"

    image_id: Mapped[int] = mapped_column(ForeignKey("image.id", ondelete="CASCADE"), index=True)
    name: Mapped[str | None] = mapped_column(String(255), default=None)
    description: Mapped[str | None] = mapped_column(String(DESCRIPTION_LENGTH), default=None)

    shapes: Mapped[list[Shape]] = relationship(
        order_by="Shape.id", cascade="all, delete-orphan", lazy="raise"
    )


class Shape(Owned, Base):
    __tablename__ = "shape"
    __table_args__ = (
        CheckConstraint(
            "shape_kind IN ('rectangle','ellipse','point','line','polyline','polygon','mask',"
            "'label')",
            name="shape_kind",
        ),
    )
    kind = "Shape"

    roi_id: Mapped[int] = mapped_column(ForeignKey("roi.id", ondelete="CASCADE"), index=True)
    shape_kind: Mapped[str] = mapped_column(String(16))
    # Optional plane: None means the shape applies to every z, t or c.
    the_z: Mapped[int | None] = mapped_column(Integer, default=None)
    the_t: Mapped[int | None] = mapped_column(Integer, default=None)
    the_c: Mapped[int | None] = mapped_column(Integer, default=None)
    stroke_color: Mapped[int | None] = mapped_column(Integer, default=None)
    fill_color: Mapped[int | None] = mapped_column(Integer, default=None)
    stroke_width: Mapped[float | None] = mapped_column(Float, default=None)
    text: Mapped[str | None] = mapped_column(String(DESCRIPTION_LENGTH), default=None)
    x: Mapped[float | None] = mapped_column(Float, default=None)
    y: Mapped[float | None] = mapped_column(Float, default=None)
    width: Mapped[float | None] = mapped_column(Float, default=None)
    height: Mapped[float | None] = mapped_column(Float, default=None)
    radius_x: Mapped[float | None] = mapped_column(Float, default=None)
    radius_y: Mapped[float | None] = mapped_column(Float, default=None)
    x2: Mapped[float | None] = mapped_column(Float, default=None)
    y2: Mapped[float | None] = mapped_column(Float, default=None)
    # "x1,y1 x2,y2 ..." as in OME-XML polylines and polygons.
    points: Mapped[str | None] = mapped_column(Text, default=None)
    # Bit-packed mask covering the x/y/width/height box.
    mask: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
