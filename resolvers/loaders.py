"""Per-request dataloaders: one ``WHERE key IN (...)`` query per batch, results in key order.

Every batch applies the same read filter as the list queries, so a relationship never reveals
an object its reader could not fetch directly.

The loaders of OME objects return read-only ``RowSnapshot``s, not ORM instances: a page of a
thousand images loads ten thousand rows, and an ORM instance costs about eight objects (state,
identity key, weak reference, ...) that the garbage collector must then walk, against two for a
snapshot. To change an object, load it through the session.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, TypeVar

from sqlalchemy import Select, inspect, select
from sqlalchemy.orm import Session
from strawberry.dataloader import DataLoader

from resolvers.actor import Actor
from resolvers.permissions import read_filter
from resolvers.unit import RequestDb
from store.models import (
    ANNOTATION_LINKS,
    CONTAINER_LINKS,
    OWNED_MODELS,
    Annotation,
    Channel,
    Experimenter,
    ExperimenterGroup,
    GroupMembership,
    ImportFile,
    MapValue,
    OriginalFile,
    Owned,
    Pixels,
    Roi,
    Shape,
    Well,
    WellSample,
)

K = TypeVar("K")
V = TypeVar("V")

# SQLite allows 32766 bound parameters; stay well under for both backends.
MAX_BATCH = 5000


def _loader(db: RequestDb, fetch: Callable[[Session, list[K]], Sequence[V]]) -> DataLoader[K, V]:
    async def load(keys: list[K]) -> Sequence[V]:
        return await db.run(fetch, keys)

    return DataLoader(load_fn=load, max_batch_size=MAX_BATCH)


def by_key(rows: Sequence[Any], keys: Sequence[K], attr: str) -> list[Any]:
    found = {getattr(row, attr): row for row in rows}
    return [found.get(key) for key in keys]


def grouped(rows: Sequence[Any], keys: Sequence[K], attr: str) -> list[list[Any]]:
    groups: dict[Any, list[Any]] = defaultdict(list)
    for row in rows:
        groups[getattr(row, attr)].append(row)
    return [groups.get(key, []) for key in keys]


class RowSnapshot:
    """The columns of one row, read-only, as attributes named like the model's.

    GraphQL types accept these wherever they accept the model's ORM instances.
    """

    snapshot_of: ClassVar[type]
    kind: ClassVar[str]

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {getattr(self, 'id', '')}>"


_SNAPSHOT_CLASSES: dict[type, type[RowSnapshot]] = {}


def snapshot_class(model: type[Any]) -> type[RowSnapshot]:
    cls = _SNAPSHOT_CLASSES.get(model)
    if cls is None:
        cls = type(f"{model.__name__}Snapshot", (RowSnapshot,),
                   {"snapshot_of": model, "kind": model.kind, "__module__": __name__})
        _SNAPSHOT_CLASSES[model] = cls
    return cls


def select_snapshots(model: type[Any]) -> Select[Any]:
    """SELECT every column of ``model``, labelled with its attribute name."""
    return select(*(getattr(model, prop.key) for prop in inspect(model).column_attrs))


def snapshots(db: Session, model: type, query: Select[Any]) -> list[Any]:
    """Run a ``select_snapshots(model)`` query; one RowSnapshot per row."""
    result = db.execute(query)
    keys = list(result.keys())
    cls = snapshot_class(model)
    new = object.__new__
    rows = []
    for values in result:
        row = new(cls)
        row.__dict__ = dict(zip(keys, values, strict=True))
        rows.append(row)
    return rows


def objects_by_id(actor: Actor, model: type[Owned]) -> Callable[[Session, list[int]], list[Any]]:
    def fetch(db: Session, ids: list[int]) -> list[Any]:
        rows = snapshots(db, model, select_snapshots(model)
                         .where(model.id.in_(ids), read_filter(model, actor)))
        return by_key(rows, ids, "id")

    return fetch


def children_by_fk(actor: Actor, model: Any, fk: str, order: Any
                   ) -> Callable[[Session, list[int]], list[list[Any]]]:
    column = getattr(model, fk)

    def fetch(db: Session, ids: list[int]) -> list[list[Any]]:
        rows = snapshots(db, model, select_snapshots(model)
                         .where(column.in_(ids), read_filter(model, actor)).order_by(order))
        return grouped(rows, ids, fk)

    return fetch


def _through_links(db: Session, actor: Actor, link: Any, key_col: Any, other_col: Any,
                   target: Any, ids: list[int]) -> list[list[Any]]:
    """The readable targets of each key's readable links, in target id order, each once.

    Two key lookups (the links of these keys, then their targets by id) rather than a join:
    planners may drive such a join from the target's group index and probe the links once per
    target (SQLite does, given statistics: 0.2 s for a page of 1000 images), and a target
    linked to many keys (one tag on a thousand images) is read once, not once per link.
    """
    pairs = {(key, other) for key, other in db.execute(
        select(key_col, other_col).where(key_col.in_(ids), read_filter(link, actor))
    )}
    wanted = sorted({other for _, other in pairs})
    targets: dict[int, Any] = {}
    for start in range(0, len(wanted), MAX_BATCH):
        chunk = wanted[start:start + MAX_BATCH]
        targets.update((obj.id, obj) for obj in snapshots(
            db, target, select_snapshots(target)
            .where(target.id.in_(chunk), read_filter(target, actor))
        ))
    groups: dict[int, list[Any]] = defaultdict(list)
    # A set of pairs: one annotation may be linked to one object by several users.
    for key, other in sorted(pairs, key=lambda pair: pair[1]):
        obj = targets.get(other)
        if obj is not None:
            groups[key].append(obj)
    return [groups.get(key, []) for key in ids]


def linked(actor: Actor, link: Any, target: Any, key_side: str
           ) -> Callable[[Session, list[int]], list[list[Any]]]:
    """Objects on the other side of a link table; both the link and the target must be readable."""
    key_col = getattr(link, key_side)
    other_col = link.child_id if key_side == "parent_id" else link.parent_id

    def fetch(db: Session, ids: list[int]) -> list[list[Any]]:
        return _through_links(db, actor, link, key_col, other_col, target, ids)

    return fetch


def annotations_of(actor: Actor, parent: Any) -> Callable[[Session, list[int]], list[list[Any]]]:
    link = ANNOTATION_LINKS[parent]

    def fetch(db: Session, ids: list[int]) -> list[list[Any]]:
        return _through_links(db, actor, link, link.parent_id, link.annotation_id, Annotation,
                              ids)

    return fetch


def experimenters_by_id(db: Session, ids: list[int]) -> list[Any]:
    # Owners of visible data are visible; names of people are not secret within a server.
    return by_key(list(db.scalars(select(Experimenter).where(Experimenter.id.in_(ids)))), ids, "id")


def groups_by_id(db: Session, ids: list[int]) -> list[Any]:
    rows = db.scalars(select(ExperimenterGroup).where(ExperimenterGroup.id.in_(ids)))
    return by_key(list(rows), ids, "id")


def memberships_of_groups(db: Session, ids: list[int]) -> list[list[Any]]:
    rows = db.scalars(
        select(GroupMembership).where(GroupMembership.group_id.in_(ids))
        .order_by(GroupMembership.experimenter_id)
    )
    return grouped(list(rows), ids, "group_id")


def memberships_of_users(db: Session, ids: list[int]) -> list[list[Any]]:
    rows = db.scalars(
        select(GroupMembership).where(GroupMembership.experimenter_id.in_(ids))
        .order_by(GroupMembership.group_id)
    )
    return grouped(list(rows), ids, "experimenter_id")


def map_values_of(db: Session, ids: list[int]) -> list[list[Any]]:
    rows = snapshots(db, MapValue, select_snapshots(MapValue)
                     .where(MapValue.annotation_id.in_(ids)).order_by(MapValue.index))
    return grouped(rows, ids, "annotation_id")


class Loaders:
    """All loaders of one request, built in the GraphQL context factory."""

    def __init__(self, db: RequestDb, actor: Actor) -> None:
        self.object_by_id: dict[str, DataLoader[int, Any]] = {
            kind: _loader(db, objects_by_id(actor, model)) for kind, model in OWNED_MODELS.items()
        }
        self.experimenter_by_id = _loader(db, experimenters_by_id)
        self.group_by_id = _loader(db, groups_by_id)
        self.memberships_by_group = _loader(db, memberships_of_groups)
        self.memberships_by_user = _loader(db, memberships_of_users)
        self.pixels_by_image = _loader(db, _single(children_by_fk(actor, Pixels, "image_id",
                                                                  Pixels.id)))
        self.channels_by_pixels = _loader(db, children_by_fk(actor, Channel, "pixels_id",
                                                             Channel.index))
        self.rois_by_image = _loader(db, children_by_fk(actor, Roi, "image_id", Roi.id))
        self.shapes_by_roi = _loader(db, children_by_fk(actor, Shape, "roi_id", Shape.id))
        self.wells_by_plate = _loader(db, children_by_fk(actor, Well, "plate_id", Well.id))
        self.samples_by_well = _loader(db, children_by_fk(actor, WellSample, "well_id",
                                                          WellSample.id))
        self.samples_by_image = _loader(db, children_by_fk(actor, WellSample, "image_id",
                                                           WellSample.id))
        self.map_values_by_annotation = _loader(db, map_values_of)
        self.import_files_by_job = _loader(db, children_by_fk(actor, ImportFile, "job_id",
                                                              ImportFile.index))
        self.original_files_by_fileset = _loader(db, children_by_fk(
            actor, OriginalFile, "fileset_id", OriginalFile.id))
        self.annotations_by_parent: dict[str, DataLoader[int, list[Any]]] = {
            parent.kind: _loader(db, annotations_of(actor, parent)) for parent in ANNOTATION_LINKS
        }
        # children_by_link["Project"] -> datasets of projects; parents_by_link["Dataset"] -> ...
        self.children_by_link: dict[str, DataLoader[int, list[Any]]] = {}
        self.parents_by_link: dict[str, DataLoader[int, list[Any]]] = {}
        for link in CONTAINER_LINKS:
            parent, child = link.__link_parent__, link.__link_child__
            self.children_by_link[parent.kind] = _loader(db, linked(actor, link, child,
                                                                    "parent_id"))
            self.parents_by_link[child.kind] = _loader(db, linked(actor, link, parent,
                                                                  "child_id"))
        db.at_close(self.clear)

    def _all(self) -> list[DataLoader[Any, Any]]:
        loaders: list[DataLoader[Any, Any]] = []
        for value in vars(self).values():
            if isinstance(value, DataLoader):
                loaders.append(value)
            elif isinstance(value, dict):
                loaders.extend(value.values())
        return loaders

    def clear(self) -> None:
        """Forget every loaded row at the end of the request.

        graphql-core's execution context is a reference cycle that holds the GraphQL context,
        hence these loaders; emptied, the request's rows are freed at once by reference
        counting instead of waiting for (and lengthening) a full garbage collection.
        """
        for loader in self._all():
            loader.clear_all()
            loader.batch = None


def _single(fetch: Callable[[Session, list[int]], list[list[Any]]]
            ) -> Callable[[Session, list[int]], list[Any]]:
    def first(db: Session, ids: list[int]) -> list[Any]:
        return [rows[0] if rows else None for rows in fetch(db, ids)]

    return first
