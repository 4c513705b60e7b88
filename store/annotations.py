"""Annotations (one table, discriminated by kind) and their links to annotatable objects."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from store.base import DESCRIPTION_LENGTH, Base, Owned
from store.containers import Dataset, Image, Plate, Project, Screen, Well
from store.rois import Roi


class AnnotationKind(enum.StrEnum):
    TAG = "tag"
    COMMENT = "comment"
    MAP = "map"
    FILE = "file"
    RATING = "rating"
    LONG = "long"
    DOUBLE = "double"
    BOOLEAN = "boolean"
    TIMESTAMP = "timestamp"


class Annotation(Owned, Base):
    __tablename__ = "annotation"
    __table_args__ = (
        CheckConstraint(
            "kind_name IN ('tag','comment','map','file','rating','long','double','boolean',"
            "'timestamp')",
            name="annotation_kind",
        ),
    )
    kind = "Annotation"

    kind_name: Mapped[str] = mapped_column(String(16), index=True)
    namespace: Mapped[str | None] = mapped_column(String(255), default=None, index=True)
    description: Mapped[str | None] = mapped_column(String(DESCRIPTION_LENGTH), default=None)
    # Tag and comment text; tags are short, comments may be long.
    text_value: Mapped[str | None] = mapped_column(String(DESCRIPTION_LENGTH), default=None)
    long_value: Mapped[int | None] = mapped_column(BigInteger, default=None)
    double_value: Mapped[float | None] = mapped_column(Float, default=None)
    bool_value: Mapped[bool | None] = mapped_column(Boolean, default=None)
    time_value: Mapped[dt.datetime | None] = mapped_column(default=None)
    file_id: Mapped[int | None] = mapped_column(
        ForeignKey("original_file.id", ondelete="CASCADE"), default=None
    )

    map_values: Mapped[list[MapValue]] = relationship(
        order_by="MapValue.index", cascade="all, delete-orphan", lazy="raise"
    )


class MapValue(Base):
    """One key-value pair of a map annotation, ordered; a row each so pairs are filterable."""

    __tablename__ = "map_value"

    annotation_id: Mapped[int] = mapped_column(
        ForeignKey("annotation.id", ondelete="CASCADE"), primary_key=True
    )
    index: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(255), index=True)
    value: Mapped[str] = mapped_column(String(DESCRIPTION_LENGTH))


class AnnotationLink(Owned):
    """Links belong to whoever made them (OMERO semantics), hence Owned."""

    parent_id: Mapped[int]
    annotation_id: Mapped[int]
    __annotated__: type[Base]


def _annotation_link(parent: type[Base]) -> type[AnnotationLink]:
    table = f"{parent.__tablename__}_annotation_link"
    attrs = {
        "__tablename__": table,
        "__table_args__": (UniqueConstraint("parent_id", "annotation_id", "owner_id"),),
        "kind": f"{parent.kind}AnnotationLink",
        "__annotated__": parent,
        "parent_id": mapped_column(
            ForeignKey(f"{parent.__tablename__}.id", ondelete="CASCADE"), index=True
        ),
        "annotation_id": mapped_column(
            ForeignKey("annotation.id", ondelete="CASCADE"), index=True
        ),
        "__annotations__": {"parent_id": Mapped[int], "annotation_id": Mapped[int]},
    }
    return type(f"{parent.kind}AnnotationLink", (AnnotationLink, Base), attrs)


ANNOTATABLE: tuple[type[Base], ...] = (Project, Dataset, Image, Screen, Plate, Well, Roi)
ANNOTATION_LINKS: dict[type[Base], type[AnnotationLink]] = {
    model: _annotation_link(model) for model in ANNOTATABLE
}
