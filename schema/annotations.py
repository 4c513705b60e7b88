"""Annotation types: one interface, a concrete type per kind of annotation."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, TypeVar

import strawberry

from schema.base import OwnedObject, computed, loaded, ome_type, ready
from schema.context import Info
from schema.scalars import Long
from store import models

C = TypeVar("C", bound=type)

AnnotationKind = strawberry.enum(models.AnnotationKind, name="AnnotationKind")


# Annotation kind -> GraphQL type name, for Annotation.resolve_type.
_TYPE_OF_KIND: dict[str | None, str] = {}


def _of(kind: models.AnnotationKind) -> Any:
    return lambda row: row.kind_name == kind.value


def _annotation_type(kind: models.AnnotationKind) -> Callable[[C], C]:
    """The GraphQL type of the annotation rows of one kind."""

    def wrap(cls: C) -> C:
        cls = ome_type(models.Annotation, where=_of(kind))(cls)
        _TYPE_OF_KIND[kind.value] = cls.__strawberry_definition__.name  # type: ignore[attr-defined]
        return cls

    return wrap


@strawberry.interface
class Annotation(OwnedObject):
    namespace: str | None
    description: str | None

    @computed
    def kind(self, root: strawberry.Parent[Any]) -> AnnotationKind:  # type: ignore[valid-type]
        return models.AnnotationKind(root.kind_name)

    @classmethod
    def resolve_type(cls, obj: Any, _info: Any, _type: Any) -> str | None:
        """The concrete type, by kind: one lookup instead of trying every annotation type."""
        return _TYPE_OF_KIND.get(getattr(obj, "kind_name", None))


@_annotation_type(models.AnnotationKind.TAG)
class TagAnnotation(Annotation):
    @computed
    def text(self, root: strawberry.Parent[Any]) -> str:
        return root.text_value  # type: ignore[no-any-return]


@_annotation_type(models.AnnotationKind.COMMENT)
class CommentAnnotation(Annotation):
    @computed
    def text(self, root: strawberry.Parent[Any]) -> str:
        return root.text_value  # type: ignore[no-any-return]


@strawberry.type
class KeyValuePair:
    key: str
    value: str


@_annotation_type(models.AnnotationKind.MAP)
class MapAnnotation(Annotation):
    @loaded
    def pairs(self, root: strawberry.Parent[Any], info: Info) -> list[KeyValuePair]:
        # The MapValue rows themselves: they have the key and value KeyValuePair reads, and
        # KeyValuePair (no interfaces, no is_type_of) accepts any such object.
        return ready(info.context.loaders.map_values_by_annotation.load(root.id))  # type: ignore[no-any-return]


@_annotation_type(models.AnnotationKind.FILE)
class FileAnnotation(Annotation):
    @loaded
    def file(self, root: strawberry.Parent[Any], info: Info) -> OriginalFile | None:
        if root.file_id is None:
            return None
        return ready(info.context.loaders.object_by_id["OriginalFile"].load(root.file_id))  # type: ignore[no-any-return]


@_annotation_type(models.AnnotationKind.RATING)
class RatingAnnotation(Annotation):
    @computed(description="0 to 5 stars.")
    def rating(self, root: strawberry.Parent[Any]) -> int:
        return root.long_value  # type: ignore[no-any-return]


@_annotation_type(models.AnnotationKind.LONG)
class LongAnnotation(Annotation):
    @computed
    def value(self, root: strawberry.Parent[Any]) -> Long:
        return Long(root.long_value)


@_annotation_type(models.AnnotationKind.DOUBLE)
class DoubleAnnotation(Annotation):
    @computed
    def value(self, root: strawberry.Parent[Any]) -> float:
        return root.double_value  # type: ignore[no-any-return]


@_annotation_type(models.AnnotationKind.BOOLEAN)
class BooleanAnnotation(Annotation):
    @computed
    def value(self, root: strawberry.Parent[Any]) -> bool:
        return root.bool_value  # type: ignore[no-any-return]


@_annotation_type(models.AnnotationKind.TIMESTAMP)
class TimestampAnnotation(Annotation):
    @computed
    def value(self, root: strawberry.Parent[Any]) -> dt.datetime:
        return root.time_value  # type: ignore[no-any-return]


ANNOTATION_TYPES = (TagAnnotation, CommentAnnotation, MapAnnotation, FileAnnotation,
                    RatingAnnotation, LongAnnotation, DoubleAnnotation, BooleanAnnotation,
                    TimestampAnnotation)

from schema.ome import OriginalFile  # noqa: E402  (mutual reference)
