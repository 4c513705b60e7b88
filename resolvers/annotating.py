"""Create annotations, link them to annotatable objects, edit and unlink them."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from resolvers.actor import Actor
from resolvers.containers import fetch
from resolvers.errors import Invalid, NotFound
from resolvers.permissions import Action, can, require, require_group_member
from resolvers.validate import choose_group, clean_description, clean_text
from store.base import DESCRIPTION_LENGTH, NAME_LENGTH
from store.models import ANNOTATABLE, ANNOTATION_LINKS, Annotation, AnnotationKind, MapValue

ANNOTATABLE_KINDS = tuple(model.kind for model in ANNOTATABLE)
MAX_MAP_PAIRS = 1000
MAX_TARGETS = 1000


@dataclass(frozen=True)
class AnnotationValue:
    """What a client sends; which field is required depends on the kind."""

    kind: AnnotationKind
    text: str | None = None
    long_value: int | None = None
    double_value: float | None = None
    bool_value: bool | None = None
    time_value: dt.datetime | None = None
    pairs: Sequence[tuple[str, str]] | None = None
    namespace: str | None = None
    description: str | None = None


_REQUIRED = {
    AnnotationKind.TAG: "text",
    AnnotationKind.COMMENT: "text",
    AnnotationKind.MAP: "pairs",
    AnnotationKind.RATING: "long_value",
    AnnotationKind.LONG: "long_value",
    AnnotationKind.DOUBLE: "double_value",
    AnnotationKind.BOOLEAN: "bool_value",
    AnnotationKind.TIMESTAMP: "time_value",
}


def _apply_value(annotation: Annotation, value: AnnotationValue) -> None:
    kind = value.kind
    if kind is AnnotationKind.FILE:
        raise Invalid("file annotations are created by uploading a file", "kind")
    required = _REQUIRED[kind]
    if getattr(value, required) is None:
        raise Invalid(f"a {kind.value} annotation needs {required}", required)
    annotation.namespace = (
        clean_text(value.namespace, "namespace", NAME_LENGTH) if value.namespace else None
    )
    annotation.description = clean_description(value.description)
    if kind is AnnotationKind.TAG:
        annotation.text_value = clean_text(value.text or "", "text", NAME_LENGTH, required=True)
    elif kind is AnnotationKind.COMMENT:
        annotation.text_value = clean_text(value.text or "", "text", DESCRIPTION_LENGTH,
                                           required=True, multiline=True)
    elif kind is AnnotationKind.RATING:
        if value.long_value is None or not 0 <= value.long_value <= 5:
            raise Invalid("a rating is between 0 and 5", "long_value")
        annotation.long_value = value.long_value
    elif kind is AnnotationKind.LONG:
        if value.long_value is None or not -(2**63) <= value.long_value < 2**63:
            raise Invalid("value out of 64-bit range", "long_value")
        annotation.long_value = value.long_value
    elif kind is AnnotationKind.DOUBLE:
        if value.double_value is None or not math.isfinite(value.double_value):
            raise Invalid("value must be a finite number", "double_value")
        annotation.double_value = value.double_value
    elif kind is AnnotationKind.BOOLEAN:
        annotation.bool_value = value.bool_value
    elif kind is AnnotationKind.TIMESTAMP:
        if value.time_value is None or value.time_value.tzinfo is None:
            raise Invalid("timestamp needs a timezone", "time_value")
        annotation.time_value = value.time_value


def _map_values(pairs: Sequence[tuple[str, str]]) -> list[MapValue]:
    if len(pairs) > MAX_MAP_PAIRS:
        raise Invalid(f"at most {MAX_MAP_PAIRS} key-value pairs", "pairs")
    return [
        MapValue(index=i, key=clean_text(k, f"pairs.{i}.key", NAME_LENGTH, required=True),
                 value=clean_text(v, f"pairs.{i}.value", DESCRIPTION_LENGTH, multiline=True))
        for i, (k, v) in enumerate(pairs)
    ]


def _targets(db: Session, actor: Actor, target_ids: Sequence[str]) -> list[Any]:
    if len(target_ids) > MAX_TARGETS:
        raise Invalid(f"at most {MAX_TARGETS} targets", "targets")
    targets = []
    for i, target_id in enumerate(target_ids):
        field = f"targets.{i}"
        target = fetch(db, actor, target_id, field, ANNOTATABLE_KINDS)
        require(actor, Action.ANNOTATE, target, target_id, field)
        targets.append(target)
    return targets


def create_annotation(db: Session, actor: Actor, value: AnnotationValue,
                      target_ids: Sequence[str], group_id: int | None) -> Annotation:
    targets = _targets(db, actor, target_ids)
    groups = {t.group_id for t in targets} | ({group_id} if group_id is not None else set())
    if len(groups) > 1:
        raise Invalid("all targets must be in one group (the annotation's group)", "targets")
    if groups:
        group = groups.pop()
        if not targets:
            require_group_member(actor, group)
    else:
        group = choose_group(actor, None)
        require_group_member(actor, group)
    annotation = Annotation(kind_name=value.kind.value, owner_id=actor.user_id, group_id=group)
    _apply_value(annotation, value)
    db.add(annotation)
    db.flush()
    if value.kind is AnnotationKind.MAP:
        db.add_all(
            [_with_annotation(mv, annotation.id) for mv in _map_values(value.pairs or ())]
        )
    for target in targets:
        _add_link(db, actor, target, annotation)
    db.commit()
    return annotation


def _with_annotation(map_value: MapValue, annotation_id: int) -> MapValue:
    map_value.annotation_id = annotation_id
    return map_value


def _add_link(db: Session, actor: Actor, target: Any, annotation: Annotation) -> None:
    link_model: Any = ANNOTATION_LINKS[type(target)]
    exists = db.scalar(select(link_model.id).where(
        link_model.parent_id == target.id, link_model.annotation_id == annotation.id,
        link_model.owner_id == actor.user_id))
    if exists is None:
        db.add(link_model(parent_id=target.id, annotation_id=annotation.id,
                          owner_id=actor.user_id, group_id=target.group_id))


def link_annotation(db: Session, actor: Actor, annotation_id: str,
                    target_ids: Sequence[str]) -> Annotation:
    """Link an existing annotation (say, a shared tag) to more objects of its group."""
    annotation: Annotation = fetch(db, actor, annotation_id, "annotation", ("Annotation",))
    targets = _targets(db, actor, target_ids)
    if any(t.group_id != annotation.group_id for t in targets):
        raise Invalid("the annotation and its targets must be in one group", "targets")
    for target in targets:
        _add_link(db, actor, target, annotation)
    db.commit()
    return annotation


def unlink_annotation(db: Session, actor: Actor, annotation_id: str, target_id: str) -> None:
    annotation = fetch(db, actor, annotation_id, "annotation", ("Annotation",))
    target = fetch(db, actor, target_id, "target", ANNOTATABLE_KINDS)
    link_model: Any = ANNOTATION_LINKS[type(target)]
    links = list(db.scalars(select(link_model).where(
        link_model.parent_id == target.id, link_model.annotation_id == annotation.id)))
    visible = [row for row in links if can(actor, Action.VIEW, row.owner_id, row.group_id)]
    if not visible:
        raise NotFound(f"{annotation_id} is not linked to {target_id}", "target")
    # Links belong to whoever made them: remove the ones this user may delete.
    deletable = [row for row in visible if can(actor, Action.DELETE, row.owner_id, row.group_id)]
    if not deletable:
        require(actor, Action.DELETE, visible[0], "the annotation link", "target")
    db.execute(delete(link_model).where(link_model.id.in_([row.id for row in deletable])))
    db.commit()


def update_annotation(db: Session, actor: Actor, annotation_id: str,
                      value: AnnotationValue) -> Annotation:
    annotation: Annotation = fetch(db, actor, annotation_id, "id", ("Annotation",))
    require(actor, Action.EDIT, annotation, annotation_id)
    if value.kind.value != annotation.kind_name:
        raise Invalid(f"{annotation_id} is a {annotation.kind_name} annotation", "kind")
    _apply_value(annotation, value)
    if value.kind is AnnotationKind.MAP:
        db.execute(delete(MapValue).where(MapValue.annotation_id == annotation.id))
        db.add_all([_with_annotation(mv, annotation.id) for mv in _map_values(value.pairs or ())])
    db.commit()
    return annotation
