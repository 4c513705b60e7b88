"""Annotation types: one interface, a concrete type per kind of annotation."""

from __future__ import annotations

import datetime as dt
from typing import Any

import strawberry

from schema.base import OwnedObject, ome_type
from schema.context import Info
from schema.scalars import Long
from store import models

AnnotationKind = strawberry.enum(models.AnnotationKind, name="AnnotationKind")


def _of(kind: models.AnnotationKind) -> Any:
    return lambda row: row.kind_name == kind.value


@strawberry.interface
class Annotation(OwnedObject):
    namespace: str | None
    description: str | None

    @strawberry.field
    def kind(self, root: strawberry.Parent[Any]) -> AnnotationKind:  # type: ignore[valid-type]
        return models.AnnotationKind(root.kind_name)


@ome_type(models.Annotation, where=_of(models.AnnotationKind.TAG))
class TagAnnotation(Annotation):
    @strawberry.field
    def text(self, root: strawberry.Parent[Any]) -> str:
        return root.text_value  # type: ignore[no-any-return]


@ome_type(models.Annotation, where=_of(models.AnnotationKind.COMMENT))
class CommentAnnotation(Annotation):
    @strawberry.field
    def text(self, root: strawberry.Parent[Any]) -> str:
        return root.text_value  # type: ignore[no-any-return]


@strawberry.type
class KeyValuePair:
    key: str
    value: str


@ome_type(models.Annotation, where=_of(models.AnnotationKind.MAP))
class MapAnnotation(Annotation):
    @strawberry.field
    async def pairs(self, root: strawberry.Parent[Any], info: Info) -> list[KeyValuePair]:
        rows = await info.context.loaders.map_values_by_annotation.load(root.id)
        return [KeyValuePair(key=row.key, value=row.value) for row in rows]


@ome_type(models.Annotation, where=_of(models.AnnotationKind.FILE))
class FileAnnotation(Annotation):
    @strawberry.field
    async def file(self, root: strawberry.Parent[Any], info: Info) -> OriginalFile | None:
        if root.file_id is None:
            return None
        return await info.context.loaders.object_by_id["OriginalFile"].load(root.file_id)  # type: ignore[no-any-return]


@ome_type(models.Annotation, where=_of(models.AnnotationKind.RATING))
class RatingAnnotation(Annotation):
    @strawberry.field(description="0 to 5 stars.")
    def rating(self, root: strawberry.Parent[Any]) -> int:
        return root.long_value  # type: ignore[no-any-return]


@ome_type(models.Annotation, where=_of(models.AnnotationKind.LONG))
class LongAnnotation(Annotation):
    @strawberry.field
    def value(self, root: strawberry.Parent[Any]) -> Long:  # type: ignore[valid-type]
        return root.long_value


@ome_type(models.Annotation, where=_of(models.AnnotationKind.DOUBLE))
class DoubleAnnotation(Annotation):
    @strawberry.field
    def value(self, root: strawberry.Parent[Any]) -> float:
        return root.double_value  # type: ignore[no-any-return]


@ome_type(models.Annotation, where=_of(models.AnnotationKind.BOOLEAN))
class BooleanAnnotation(Annotation):
    @strawberry.field
    def value(self, root: strawberry.Parent[Any]) -> bool:
        return root.bool_value  # type: ignore[no-any-return]


@ome_type(models.Annotation, where=_of(models.AnnotationKind.TIMESTAMP))
class TimestampAnnotation(Annotation):
    @strawberry.field
    def value(self, root: strawberry.Parent[Any]) -> dt.datetime:
        return root.time_value  # type: ignore[no-any-return]


ANNOTATION_TYPES = (TagAnnotation, CommentAnnotation, MapAnnotation, FileAnnotation,
                    RatingAnnotation, LongAnnotation, DoubleAnnotation, BooleanAnnotation,
                    TimestampAnnotation)

from schema.ome import OriginalFile  # noqa: E402  (mutual reference)
