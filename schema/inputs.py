"""Inputs shared by list queries: filters, sorting and pagination arguments."""

from __future__ import annotations

import datetime as dt

import strawberry

from resolvers.errors import Invalid
from resolvers.filters import KeyValue, ListFilter
from resolvers.ids import parse_id, parse_typed_id
from resolvers.listing import SortField as DomainSortField
from resolvers.validate import db_safe

SortField = strawberry.enum(DomainSortField, name="SortField")


@strawberry.input
class KeyValueFilter:
    key: str
    value: str | None = None
    namespace: str | None = None


@strawberry.input(description="Every condition given must hold.")
class ObjectFilter:
    owner: strawberry.ID | None = None
    group: strawberry.ID | None = None
    name_contains: str | None = None
    parent: strawberry.ID | None = strawberry.field(
        default=None, description="Containing Project, Dataset, Screen, Plate, Well or Image.")
    tag: strawberry.ID | None = strawberry.field(default=None, description="A tag annotation id.")
    tag_text: str | None = None
    key_value: KeyValueFilter | None = None
    created_after: dt.datetime | None = None
    created_before: dt.datetime | None = None


@strawberry.input
class AnnotationFilter:
    owner: strawberry.ID | None = None
    group: strawberry.ID | None = None
    kind: str | None = strawberry.field(default=None, description="tag, comment, map, ...")
    namespace: str | None = None
    text_contains: str | None = None
    created_after: dt.datetime | None = None
    created_before: dt.datetime | None = None


@strawberry.input
class Sort:
    field: SortField = DomainSortField.ID  # type: ignore[valid-type]
    descending: bool = False


MAX_FILTER_TEXT = 255


def _text(value: str | None, field: str) -> str | None:
    if value is not None and len(value) > MAX_FILTER_TEXT:
        raise Invalid(f"{field} must have at most {MAX_FILTER_TEXT} characters", field)
    if value is not None and not db_safe(value):
        raise Invalid(f"{field} contains characters that cannot be searched for", field)
    return value


def aware(value: dt.datetime | None, field: str) -> dt.datetime | None:
    if value is not None and value.tzinfo is None:
        raise Invalid("datetimes need a timezone, e.g. 2026-01-01T00:00:00Z", field)
    return value


def object_filter(spec: ObjectFilter | None) -> ListFilter:
    if spec is None:
        return ListFilter()
    key_value = None
    if spec.key_value is not None:
        key_value = KeyValue(
            key=_text(spec.key_value.key, "filter.keyValue.key") or "",
            value=_text(spec.key_value.value, "filter.keyValue.value"),
            namespace=_text(spec.key_value.namespace, "filter.keyValue.namespace"),
        )
    return ListFilter(
        owner_id=parse_typed_id(spec.owner, "Experimenter", "filter.owner") if spec.owner else None,
        group_id=parse_typed_id(spec.group, "Group", "filter.group") if spec.group else None,
        name_contains=_text(spec.name_contains, "filter.nameContains"),
        parent=parse_id(spec.parent, "filter.parent") if spec.parent else None,
        tag_id=parse_typed_id(spec.tag, "Annotation", "filter.tag") if spec.tag else None,
        tag_text=_text(spec.tag_text, "filter.tagText"),
        key_value=key_value,
        created_after=aware(spec.created_after, "filter.createdAfter"),
        created_before=aware(spec.created_before, "filter.createdBefore"),
    )


def annotation_filter(spec: AnnotationFilter | None) -> ListFilter:
    if spec is None:
        return ListFilter()
    return ListFilter(
        owner_id=parse_typed_id(spec.owner, "Experimenter", "filter.owner") if spec.owner else None,
        group_id=parse_typed_id(spec.group, "Group", "filter.group") if spec.group else None,
        annotation_kind=_text(spec.kind, "filter.kind"),
        namespace=_text(spec.namespace, "filter.namespace"),
        name_contains=_text(spec.text_contains, "filter.textContains"),
        created_after=aware(spec.created_after, "filter.createdAfter"),
        created_before=aware(spec.created_before, "filter.createdBefore"),
    )
