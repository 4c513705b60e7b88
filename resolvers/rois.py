"""ROIs and shapes: created by anyone who may annotate the image, edited only by their owner."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, fields

from sqlalchemy.orm import Session

from resolvers.actor import Actor
from resolvers.containers import fetch
from resolvers.errors import Invalid
from resolvers.permissions import Action, require, require_roi_edit
from resolvers.validate import clean_description, clean_text
from store.base import DESCRIPTION_LENGTH
from store.models import Roi, Shape, ShapeKind

MAX_SHAPES = 1000
MAX_POINTS_TEXT = 1_000_000
MAX_MASK_BYTES = 16 * 1024 * 1024
_POINTS_RE = re.compile(r"^\s*-?[\d.eE+-]+,-?[\d.eE+-]+(\s+-?[\d.eE+-]+,-?[\d.eE+-]+)*\s*$")

# Geometry each kind needs; everything else is optional styling or plane.
_GEOMETRY: dict[ShapeKind, tuple[str, ...]] = {
    ShapeKind.RECTANGLE: ("x", "y", "width", "height"),
    ShapeKind.ELLIPSE: ("x", "y", "radius_x", "radius_y"),
    ShapeKind.POINT: ("x", "y"),
    ShapeKind.LINE: ("x", "y", "x2", "y2"),
    ShapeKind.POLYLINE: ("points",),
    ShapeKind.POLYGON: ("points",),
    ShapeKind.MASK: ("x", "y", "width", "height", "mask"),
    ShapeKind.LABEL: ("x", "y", "text"),
}


@dataclass(frozen=True)
class ShapeValue:
    kind: ShapeKind
    the_z: int | None = None
    the_t: int | None = None
    the_c: int | None = None
    stroke_color: int | None = None
    fill_color: int | None = None
    stroke_width: float | None = None
    text: str | None = None
    x: float | None = None
    y: float | None = None
    width: float | None = None
    height: float | None = None
    radius_x: float | None = None
    radius_y: float | None = None
    x2: float | None = None
    y2: float | None = None
    points: str | None = None
    mask: bytes | None = None


def _validate(value: ShapeValue, field: str) -> None:
    for name in _GEOMETRY[value.kind]:
        if getattr(value, name) is None:
            raise Invalid(f"a {value.kind.value} needs {name}", f"{field}.{name}")
    for item in fields(ShapeValue):
        number = getattr(value, item.name)
        if isinstance(number, float) and not math.isfinite(number):
            raise Invalid(f"{item.name} must be finite", f"{field}.{item.name}")
        if item.name.startswith("the_") and number is not None and number < 0:
            raise Invalid(f"{item.name} must not be negative", f"{field}.{item.name}")
    for name in ("width", "height", "radius_x", "radius_y"):
        size = getattr(value, name)
        if size is not None and size < 0:
            raise Invalid(f"{name} must not be negative", f"{field}.{name}")
    if value.points is not None and (len(value.points) > MAX_POINTS_TEXT
                                     or not _POINTS_RE.match(value.points)):
        raise Invalid("points must be 'x1,y1 x2,y2 ...'", f"{field}.points")
    if value.mask is not None:
        if len(value.mask) > MAX_MASK_BYTES:
            raise Invalid("mask is too large", f"{field}.mask")
        assert value.width is not None and value.height is not None
        expected = math.ceil(int(value.width) * int(value.height) / 8)
        if len(value.mask) != expected:
            raise Invalid(f"a {int(value.width)}x{int(value.height)} mask has {expected} bytes",
                          f"{field}.mask")


def _shape(actor: Actor, roi: Roi, value: ShapeValue, field: str) -> Shape:
    _validate(value, field)
    attrs = {item.name: getattr(value, item.name) for item in fields(ShapeValue)}
    kind = attrs.pop("kind")
    if attrs["text"] is not None:
        attrs["text"] = clean_text(attrs["text"], f"{field}.text", DESCRIPTION_LENGTH,
                                   multiline=True)
    return Shape(shape_kind=kind.value, roi_id=roi.id, owner_id=actor.user_id,
                 group_id=roi.group_id, **attrs)


def create_roi(db: Session, actor: Actor, image_id: str, name: str | None,
               description: str | None, shapes: Sequence[ShapeValue]) -> Roi:
    image = fetch(db, actor, image_id, "image", ("Image",))
    require(actor, Action.ANNOTATE, image, image_id, "image")
    if not shapes or len(shapes) > MAX_SHAPES:
        raise Invalid(f"an ROI has 1 to {MAX_SHAPES} shapes", "shapes")
    roi = Roi(image_id=image.id, owner_id=actor.user_id, group_id=image.group_id,
              name=clean_text(name, "name", 255) if name else None,
              description=clean_description(description))
    db.add(roi)
    db.flush()
    db.add_all([_shape(actor, roi, value, f"shapes.{i}") for i, value in enumerate(shapes)])
    db.commit()
    return roi


def add_shapes(db: Session, actor: Actor, roi_id: str, shapes: Sequence[ShapeValue]) -> Roi:
    roi: Roi = fetch(db, actor, roi_id, "roi", ("Roi",))
    require_roi_edit(actor, roi, roi_id, "roi")
    if not shapes or len(shapes) > MAX_SHAPES:
        raise Invalid(f"give 1 to {MAX_SHAPES} shapes", "shapes")
    db.add_all([_shape(actor, roi, value, f"shapes.{i}") for i, value in enumerate(shapes)])
    db.commit()
    return roi


def replace_shape(db: Session, actor: Actor, shape_id: str, value: ShapeValue) -> Shape:
    shape: Shape = fetch(db, actor, shape_id, "id", ("Shape",))
    require_roi_edit(actor, shape, shape_id)
    roi = db.get(Roi, shape.roi_id)
    assert roi is not None
    fresh = _shape(actor, roi, value, "shape")
    for item in fields(ShapeValue):
        name = "shape_kind" if item.name == "kind" else item.name
        setattr(shape, name, getattr(fresh, name))
    db.commit()
    return shape
