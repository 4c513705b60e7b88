"""Deleting objects, optionally with the children only they contain (OMERO's delete).

All or nothing: every object, children included, is checked before anything is removed, and
one transaction removes them. The database cascades to links, pixels, channels, ROIs, wells
and annotation links, so nothing is loaded into memory but the objects named.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from resolvers import audit
from resolvers.actor import Actor
from resolvers.containers import fetch
from resolvers.errors import PermissionDenied
from resolvers.ids import format_id
from resolvers.permissions import Action, can, require, require_roi_edit
from store.models import (
    Dataset,
    DatasetImageLink,
    Image,
    Plate,
    Project,
    ProjectDatasetLink,
    Screen,
    ScreenPlateLink,
    Shape,
    Well,
    WellSample,
)

DELETABLE = ("Project", "Dataset", "Image", "Screen", "Plate", "Well", "Annotation", "Roi",
             "Shape", "ProjectDatasetLink", "DatasetImageLink", "ScreenPlateLink")

# Container -> (link table, child model) for children held through links.
_LINKED_CHILDREN: dict[type, tuple[Any, Any]] = {
    Project: (ProjectDatasetLink, Dataset),
    Dataset: (DatasetImageLink, Image),
    Screen: (ScreenPlateLink, Plate),
}

Key = tuple[str, int]


def delete_objects(db: Session, actor: Actor, global_ids: Sequence[str],
                   include_children: bool = False) -> list[str]:
    """Delete the objects (and, if asked, their exclusive children); return the ids deleted."""
    doomed: dict[Key, Any] = {}
    for index, global_id in enumerate(global_ids):
        field = f"ids.{index}"
        obj = fetch(db, actor, global_id, field, DELETABLE)
        if isinstance(obj, Shape):
            require_roi_edit(actor, obj, global_id, field)
        else:
            require(actor, Action.DELETE, obj, global_id, field)
        doomed[(obj.kind, obj.id)] = obj
    if include_children:
        _add_children(db, actor, doomed)
    for obj in doomed.values():
        model = type(obj)
        db.execute(delete(model).where(model.id == obj.id))
    deleted = [format_id(kind, pk) for kind, pk in doomed]
    others = sorted({obj.owner_id for obj in doomed.values()} - {actor.user_id})
    audit.record(db, "delete", actor, target=deleted[0] if len(deleted) == 1 else None,
                 details={"ids": deleted[:1000], "count": len(deleted),
                          "others_owners": others})
    db.commit()
    return deleted


def _add_children(db: Session, actor: Actor, doomed: dict[Key, Any]) -> None:
    """Grow ``doomed`` by the children that no surviving container also holds."""
    queue = list(doomed.values())
    while queue:
        parent = queue.pop()
        for child in _exclusive_children(db, parent, doomed):
            key = (child.kind, child.id)
            if key in doomed:
                continue
            child_id = format_id(*key)
            if not can(actor, Action.DELETE, child.owner_id, child.group_id):
                raise PermissionDenied(
                    f"{format_id(parent.kind, parent.id)} contains {child_id}, which you may "
                    "not delete; delete without children, or ask its owner", "ids")
            doomed[key] = child
            queue.append(child)


def _exclusive_children(db: Session, parent: Any, doomed: dict[Key, Any]) -> list[Any]:
    if isinstance(parent, Plate):
        # Images of a plate belong to it alone (through its wells).
        return list(db.scalars(
            select(Image).join(WellSample, WellSample.image_id == Image.id)
            .join(Well, Well.id == WellSample.well_id).where(Well.plate_id == parent.id)
            .distinct()))
    spec = _LINKED_CHILDREN.get(type(parent))
    if spec is None:
        return []
    link, child_model = spec
    children = list(db.scalars(
        select(child_model).join(link, link.child_id == child_model.id)
        .where(link.parent_id == parent.id)))
    if not children:
        return []
    parents_of: dict[int, set[int]] = {}
    for child_id, parent_id in db.execute(
            select(link.child_id, link.parent_id)
            .where(link.child_id.in_([child.id for child in children]))):
        parents_of.setdefault(child_id, set()).add(parent_id)
    parent_kind = type(parent).kind
    return [child for child in children
            if all((parent_kind, pid) in doomed for pid in parents_of.get(child.id, ()))]
