"""Annotate anything annotatable: create, link, unlink and edit annotations."""

from __future__ import annotations

import datetime as dt
from typing import Any

import strawberry

from resolvers import annotating
from resolvers.annotating import AnnotationValue
from resolvers.containers import fetch
from resolvers.ids import parse_typed_id
from schema.annotations import Annotation, AnnotationKind
from schema.context import Info
from schema.errors import result_union
from schema.mutations.base import USER, check_list, guarded, perform
from schema.scalars import Long
from store import models


@strawberry.input
class KeyValueInput:
    key: str
    value: str


@strawberry.input(description="Give the value field that matches the kind.")
class AnnotationInput:
    kind: AnnotationKind  # type: ignore[valid-type]
    text: str | None = strawberry.field(default=None, description="tag or comment")
    pairs: list[KeyValueInput] | None = strawberry.field(default=None, description="map")
    rating: int | None = strawberry.field(default=None, description="rating, 0-5")
    long_value: Long | None = None
    double_value: float | None = None
    bool_value: bool | None = None
    time_value: dt.datetime | None = None
    namespace: str | None = None
    description: str | None = None


@strawberry.type
class AnnotationPayload:
    annotation: Annotation


def _value(data: AnnotationInput) -> AnnotationValue:
    kind = models.AnnotationKind(data.kind)
    number = data.rating if kind is models.AnnotationKind.RATING else data.long_value
    return AnnotationValue(
        kind=kind, text=data.text, long_value=number, double_value=data.double_value,
        bool_value=data.bool_value, time_value=data.time_value,
        pairs=[(p.key, p.value) for p in data.pairs] if data.pairs is not None else None,
        namespace=data.namespace, description=data.description,
    )


def _payload(annotation: Any) -> AnnotationPayload:
    return AnnotationPayload(annotation=annotation)


@strawberry.type
class AnnotationMutations:
    @strawberry.mutation(permission_classes=USER,
                         description="Create an annotation and link it to the targets.")
    async def annotate(self, info: Info, input: AnnotationInput,
                       targets: list[strawberry.ID], group: strawberry.ID | None = None
                       ) -> result_union("AnnotateResult", AnnotationPayload):  # type: ignore[valid-type]
        async def run() -> Any:
            check_list(info, targets, "targets")
            group_id = parse_typed_id(group, "Group", "group") if group else None
            return await perform(info, _payload, annotating.create_annotation, _value(input),
                                 targets, group_id)

        return await guarded(run())

    @strawberry.mutation(permission_classes=USER,
                         description="Link an existing annotation (e.g. a tag) to objects.")
    async def link_annotation(self, info: Info, annotation: strawberry.ID,
                              targets: list[strawberry.ID]
                              ) -> result_union("LinkAnnotationResult", AnnotationPayload):  # type: ignore[valid-type]
        async def run() -> Any:
            check_list(info, targets, "targets")
            return await perform(info, _payload, annotating.link_annotation, annotation, targets)

        return await guarded(run())

    @strawberry.mutation(permission_classes=USER)
    async def unlink_annotation(self, info: Info, annotation: strawberry.ID,
                                target: strawberry.ID
                                ) -> result_union("UnlinkAnnotationResult", AnnotationPayload):  # type: ignore[valid-type]
        def unlink(db: Any, actor: Any) -> Any:
            annotating.unlink_annotation(db, actor, annotation, target)
            return fetch(db, actor, annotation)

        return await perform(info, _payload, unlink)

    @strawberry.mutation(permission_classes=USER)
    async def update_annotation(self, info: Info, id: strawberry.ID, input: AnnotationInput
                                ) -> result_union("UpdateAnnotationResult", AnnotationPayload):  # type: ignore[valid-type]
        return await perform(info, _payload, annotating.update_annotation, id, _value(input))
