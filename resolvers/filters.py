"""Filters shared by every list query, compiled to SQL on the model being listed."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, select

from resolvers.errors import Invalid
from store.models import (
    ANNOTATION_LINKS,
    Annotation,
    AnnotationKind,
    Dataset,
    DatasetImageLink,
    Image,
    MapValue,
    Plate,
    ProjectDatasetLink,
    Roi,
    ScreenPlateLink,
    Well,
    WellSample,
)


@dataclass(frozen=True)
class KeyValue:
    key: str
    value: str | None = None
    namespace: str | None = None


@dataclass(frozen=True)
class ListFilter:
    owner_id: int | None = None
    group_id: int | None = None
    name_contains: str | None = None
    parent: tuple[str, int] | None = None
    tag_id: int | None = None
    tag_text: str | None = None
    key_value: KeyValue | None = None
    created_after: dt.datetime | None = None
    created_before: dt.datetime | None = None
    annotation_kind: str | None = None
    namespace: str | None = None
    job_kind: str | None = None
    job_states: tuple[str, ...] | None = None


def _parent_clause(model: Any, parent_kind: str, parent_id: int) -> ColumnElement[bool]:
    """Containment by link table or foreign key, as the OME model defines it."""
    if model is Dataset and parent_kind == "Project":
        return exists().where(
            ProjectDatasetLink.child_id == model.id, ProjectDatasetLink.parent_id == parent_id
        )
    if model is Image and parent_kind == "Dataset":
        return exists().where(
            DatasetImageLink.child_id == model.id, DatasetImageLink.parent_id == parent_id
        )
    if model is Image and parent_kind == "Well":
        return exists().where(WellSample.image_id == model.id, WellSample.well_id == parent_id)
    if model is Plate and parent_kind == "Screen":
        return exists().where(
            ScreenPlateLink.child_id == model.id, ScreenPlateLink.parent_id == parent_id
        )
    if model is Well and parent_kind == "Plate":
        return model.plate_id == parent_id
    if model is Roi and parent_kind == "Image":
        return model.image_id == parent_id
    raise Invalid(f"a {model.kind} cannot be inside a {parent_kind}", "filter.parent")


def _annotation_clause(model: Any, condition: ColumnElement[bool]) -> ColumnElement[bool]:
    link = ANNOTATION_LINKS.get(model)
    if link is None:
        raise Invalid(f"{model.kind} objects cannot be annotated", "filter")
    return exists().where(
        link.parent_id == model.id,
        link.annotation_id == Annotation.id,
        condition,
    )


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def apply_filter(query: Select[Any], model: Any, spec: ListFilter) -> Select[Any]:
    clauses: list[ColumnElement[bool]] = []
    if spec.owner_id is not None:
        clauses.append(model.owner_id == spec.owner_id)
    if spec.group_id is not None:
        clauses.append(model.group_id == spec.group_id)
    if spec.name_contains:
        column = model.text_value if model is Annotation else getattr(model, "name", None)
        if column is None:
            raise Invalid(f"{model.kind} objects have no name to search", "filter.nameContains")
        pattern = f"%{_escape_like(spec.name_contains.lower())}%"
        clauses.append(column.is_not(None))
        clauses.append(column.ilike(pattern, escape="\\"))
    if spec.parent is not None:
        clauses.append(_parent_clause(model, *spec.parent))
    if spec.tag_id is not None:
        clauses.append(_annotation_clause(model, and_(
            Annotation.id == spec.tag_id, Annotation.kind_name == AnnotationKind.TAG.value)))
    if spec.tag_text is not None:
        clauses.append(_annotation_clause(model, and_(
            Annotation.kind_name == AnnotationKind.TAG.value,
            Annotation.text_value == spec.tag_text)))
    if spec.key_value is not None:
        clauses.append(_annotation_clause(model, _key_value_clause(spec.key_value)))
    if spec.created_after is not None:
        clauses.append(model.created >= spec.created_after)
    if spec.created_before is not None:
        clauses.append(model.created < spec.created_before)
    if spec.annotation_kind is not None:
        clauses.append(model.kind_name == spec.annotation_kind)
    if spec.namespace is not None:
        clauses.append(model.namespace == spec.namespace)
    if spec.job_kind is not None:
        clauses.append(model.job_kind == spec.job_kind)
    if spec.job_states is not None:
        clauses.append(model.state.in_(spec.job_states))
    return query.where(*clauses) if clauses else query


def _key_value_clause(pair: KeyValue) -> ColumnElement[bool]:
    conditions: list[ColumnElement[bool]] = [
        Annotation.kind_name == AnnotationKind.MAP.value,
        exists(
            select(MapValue.annotation_id).where(
                MapValue.annotation_id == Annotation.id,
                MapValue.key == pair.key,
                *([MapValue.value == pair.value] if pair.value is not None else []),
            )
        ),
    ]
    if pair.namespace is not None:
        conditions.append(Annotation.namespace == pair.namespace)
    return and_(*conditions)
