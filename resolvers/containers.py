"""Create, update, delete, link, unlink and move Projects, Datasets, Screens, Plates, Images."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from resolvers.actor import Actor
from resolvers.errors import Invalid, NotFound
from resolvers.ids import format_id, parse_id
from resolvers.permissions import Action, can, require, require_group_member, require_roi_edit
from resolvers.validate import choose_group, clean_description, clean_name
from store.models import (
    CONTAINER_LINKS,
    OWNED_MODELS,
    Dataset,
    Owned,
    Plate,
    Project,
    Roi,
    Screen,
)

CREATABLE: dict[str, type[Owned]] = {m.kind: m for m in (Project, Dataset, Screen, Plate)}
LINKS = {(link.__link_parent__.kind, link.__link_child__.kind): link for link in CONTAINER_LINKS}


def fetch(db: Session, actor: Actor, global_id: str, field: str = "id",
          kinds: tuple[str, ...] | None = None) -> Any:
    """Load an object by global id; invisible and missing objects are both NotFound."""
    kind, pk = parse_id(global_id, field, kinds)
    model = OWNED_MODELS.get(kind)
    if model is None:
        raise Invalid(f"{kind} is not a type of object", field)
    obj = db.get(model, pk)
    if obj is None or not can(actor, Action.VIEW, obj.owner_id, obj.group_id):
        raise NotFound(f"{format_id(kind, pk)} not found", field)
    return obj


def create_container(db: Session, actor: Actor, kind: str, name: str,
                     description: str | None, group_id: int | None) -> Any:
    model = CREATABLE[kind]
    group = choose_group(actor, group_id)
    require_group_member(actor, group)
    obj = model(name=clean_name(name), description=clean_description(description),  # type: ignore[call-arg]
                owner_id=actor.user_id, group_id=group)
    db.add(obj)
    db.commit()
    return obj


def update_named(db: Session, actor: Actor, global_id: str, name: str | None,
                 description: str | None) -> Any:
    obj = fetch(db, actor, global_id)
    if not hasattr(obj, "name"):
        raise Invalid(f"{obj.kind} objects have no name", "id")
    if isinstance(obj, Roi):
        require_roi_edit(actor, obj, global_id)
    else:
        require(actor, Action.EDIT, obj, global_id)
    if name is not None:
        obj.name = clean_name(name)
    if description is not None:
        obj.description = clean_description(description)
    db.commit()
    return obj


def _link_model(parent: Any, child: Any) -> Any:
    link = LINKS.get((parent.kind, child.kind))
    if link is None:
        raise Invalid(f"a {child.kind} cannot be linked into a {parent.kind}", "child")
    return link


def _check_linkable(actor: Actor, parent: Any, child: Any, parent_id: str, child_id: str) -> Any:
    link = _link_model(parent, child)
    require(actor, Action.LINK, parent, parent_id, "parent")
    require(actor, Action.LINK, child, child_id, "child")
    if parent.group_id != child.group_id:
        raise Invalid("objects in different groups cannot be linked", "child")
    return link


def link(db: Session, actor: Actor, parent_id: str, child_id: str, *,
         commit: bool = True) -> tuple[Any, Any]:
    """Link child into parent; linking twice is not an error (idempotent)."""
    parent = fetch(db, actor, parent_id, "parent")
    child = fetch(db, actor, child_id, "child")
    model = _check_linkable(actor, parent, child, parent_id, child_id)
    existing = db.scalar(
        select(model).where(model.parent_id == parent.id, model.child_id == child.id)
    )
    if existing is None:
        db.add(model(parent_id=parent.id, child_id=child.id, owner_id=actor.user_id,
                     group_id=parent.group_id))
    if commit:
        db.commit()
    return parent, child


def unlink(db: Session, actor: Actor, parent_id: str, child_id: str, *,
           commit: bool = True) -> tuple[Any, Any]:
    parent = fetch(db, actor, parent_id, "parent")
    child = fetch(db, actor, child_id, "child")
    model = _link_model(parent, child)
    row = db.scalar(select(model).where(model.parent_id == parent.id, model.child_id == child.id))
    if row is None or not can(actor, Action.VIEW, row.owner_id, row.group_id):
        raise NotFound(f"{child_id} is not in {parent_id}", "child")
    require(actor, Action.DELETE, row, "the link", "child")
    db.delete(row)
    if commit:
        db.commit()
    return parent, child


def move(db: Session, actor: Actor, child_id: str, from_id: str,
         to_id: str) -> tuple[Any, Any]:
    """Cut from one container and paste into another, in one transaction."""
    unlink(db, actor, from_id, child_id, commit=False)
    pair = link(db, actor, to_id, child_id, commit=False)
    db.commit()
    return pair
