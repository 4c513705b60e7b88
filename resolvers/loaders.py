"""Per-request dataloaders: one ``WHERE key IN (...)`` query per batch, results in key order.

Every batch applies the same read filter as the list queries, so a relationship never reveals
an object its reader could not fetch directly.

The loaders of OME objects return read-only ``RowSnapshot``s, not ORM instances: a page of a
thousand images loads ten thousand rows, and an ORM instance costs about eight objects (state,
identity key, weak reference, ...) that the garbage collector must then walk, against one (a
tuple) for a snapshot. To change an object, load it through the session. Their queries are
Core selects of the tables' columns (the read filter applied to the table), so SQLAlchemy
processes the rows as tuples, not through the ORM's result machinery: the same SQL, the same
rows, at the cost of a Core query.

``prefetch`` (schema/base.py) loads a whole level of a query at once: with the request's
loaders collecting (``Loaders.collecting``) it calls the fields' resolvers, whose loads then
only queue their keys, and runs all the queued batches in one database call
(``Loaders.run_queued``) that settles the futures directly: no batch task and no callbacks
per key, as a DataLoader's dispatch would cost.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterator, Sequence
from functools import partial
from typing import Any, ClassVar, Generic, TypeVar

from sqlalchemy import Select, inspect, select
from sqlalchemy.orm import Session
from strawberry.dataloader import DataLoader
from strawberry.exceptions import WrongNumberOfResultsReturned

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

try:
    from collections import _tuplegetter  # type: ignore[attr-defined]  # namedtuple's fields
except ImportError:  # pragma: no cover  (not CPython)
    from operator import itemgetter

    def _tuplegetter(index: int, doc: str) -> Any:
        return property(itemgetter(index), doc=doc)

K = TypeVar("K")
V = TypeVar("V")

# SQLite allows 32766 bound parameters; stay well under for both backends.
MAX_BATCH = 5000


Fetch = Callable[[Session, list[Any]], Sequence[Any]]


class Queue:
    """The keys loaders queue while ``Loaders.collecting``: loader -> [(key, future)]."""

    __slots__ = ("active", "queued")

    def __init__(self) -> None:
        self.active = False
        self.queued: dict[Loader[Any, Any], list[tuple[Any, asyncio.Future[Any]]]] = {}


class Loader(DataLoader[K, V], Generic[K, V]):
    """A DataLoader whose batch function ``prefetch`` can also run directly.

    Outside of collecting it behaves exactly as a DataLoader (and finds cached keys a little
    faster). While its request's queue collects, a key neither cached nor loading gets a bare
    future, cached as ``load`` would cache it, and is queued for ``Loaders.run_queued``.
    """

    def __init__(self, db: RequestDb, fetch: Callable[[Session, list[K]], Sequence[V]],
                 queue: Queue) -> None:
        async def load(keys: list[K]) -> Sequence[V]:
            return await db.run(fetch, keys)

        super().__init__(load_fn=load, max_batch_size=MAX_BATCH)
        self.fetch = fetch
        self._queue = queue
        # The DefaultCache's own dict, keyed by the keys themselves (no cache_key_fn).
        self._futures: dict[Any, asyncio.Future[V]] = self.cache_map.cache_map  # type: ignore[attr-defined]

    def load(self, key: K) -> Awaitable[V]:
        future = self._futures.get(key)
        if future is not None and not future.cancelled():
            return future
        queue = self._queue
        if not queue.active:
            return super().load(key)
        future = self.loop.create_future()
        self._futures[key] = future
        pending = queue.queued.get(self)
        if pending is None:
            pending = queue.queued[self] = []
        pending.append((key, future))
        return future


def _run_fetches(db: Session, fetches: list[tuple[Fetch, list[Any]]]
                 ) -> list[Sequence[Any] | Exception]:
    """Run batch functions in turn; one that fails is rolled back, as RequestDb.run would."""
    outcomes: list[Sequence[Any] | Exception] = []
    for fetch, keys in fetches:
        try:
            outcomes.append(fetch(db, keys))
        except Exception as exc:  # noqa: BLE001  (set on its futures, as a DataLoader does)
            db.rollback()
            outcomes.append(exc)
    return outcomes


def _settle(futures: list[asyncio.Future[Any]], outcome: Sequence[Any] | Exception) -> None:
    """What dataloader.dispatch_batch does with a batch's results."""
    if not isinstance(outcome, Exception):
        values = list(outcome)
        if len(values) != len(futures):
            outcome = WrongNumberOfResultsReturned(expected=len(futures), received=len(values))
    if isinstance(outcome, Exception):
        for future in futures:
            if not future.done():
                future.set_exception(outcome)
        return
    for future, value in zip(futures, values, strict=True):
        if future.done():
            continue
        if isinstance(value, BaseException):
            future.set_exception(value)
        else:
            future.set_result(value)


def by_key(rows: Sequence[Any], keys: Sequence[K], attr: str) -> list[Any]:
    found = {getattr(row, attr): row for row in rows}
    return [found.get(key) for key in keys]


def grouped(rows: Sequence[Any], keys: Sequence[K], attr: str) -> list[list[Any]]:
    groups: dict[Any, list[Any]] = defaultdict(list)
    for row in rows:
        groups[getattr(row, attr)].append(row)
    return [groups.get(key, []) for key in keys]


class RowSnapshot(tuple[Any, ...]):
    """The columns of one row, read-only, as attributes named like the model's.

    GraphQL types accept these wherever they accept the model's ORM instances. Underneath, a
    tuple of the row's values in ``_fields`` order, made from the database row in one C call and
    read through index descriptors; compared and hashed by identity, as ORM instances are.
    """

    __slots__ = ()

    snapshot_of: ClassVar[type]
    kind: ClassVar[str]
    _fields: ClassVar[tuple[str, ...]]

    __eq__ = object.__eq__
    __ne__ = object.__ne__
    __hash__ = object.__hash__

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {getattr(self, 'id', '')}>"


_SNAPSHOT_CLASSES: dict[type, type[RowSnapshot]] = {}


def snapshot_class(model: type[Any]) -> type[RowSnapshot]:
    cls = _SNAPSHOT_CLASSES.get(model)
    if cls is None:
        fields = tuple(prop.key for prop in inspect(model).column_attrs)
        namespace: dict[str, Any] = {
            "snapshot_of": model, "kind": model.kind, "__module__": __name__, "__slots__": (),
            "_fields": fields,
        }
        for index, name in enumerate(fields):
            namespace[name] = _tuplegetter(index, f"{model.__name__}.{name}")
        cls = type(f"{model.__name__}Snapshot", (RowSnapshot,), namespace)
        _SNAPSHOT_CLASSES[model] = cls
    return cls


_SNAPSHOT_COLUMNS: dict[type, list[Any]] = {}


def snapshot_columns(model: type[Any]) -> list[Any]:
    """The table columns of ``model``'s attributes, labelled with the attribute names."""
    columns = _SNAPSHOT_COLUMNS.get(model)
    if columns is None:
        columns = []
        for prop in inspect(model).column_attrs:
            (column,) = prop.columns
            columns.append(column if column.key == prop.key else column.label(prop.key))
        _SNAPSHOT_COLUMNS[model] = columns
    return columns


def table_columns(model: type[Any]) -> Any:
    """``model``'s table columns, by attribute name (the names are the columns' keys).

    The loaders filter and order by these, and ``read_filter`` accepts them for the model, so
    their statements stay Core statements: SQLAlchemy then processes their rows as tuples, not
    through the ORM's result machinery.
    """
    return model.__table__.c


def select_snapshots(model: type[Any]) -> Select[Any]:
    """SELECT every column of ``model``, labelled with its attribute name."""
    return select(*snapshot_columns(model))


def snapshots(db: Session, model: type, query: Select[Any]) -> list[Any]:
    """Run a ``select_snapshots(model)`` query; one RowSnapshot per row."""
    if db.autoflush:
        # As the session would before an ORM statement: pending changes are visible.
        db.flush()
    result = db.execute(query)
    cls = snapshot_class(model)
    keys = tuple(result.keys())
    rows: Sequence[Sequence[Any]] = result.all()
    if keys != cls._fields:
        # Columns in another order, or more of them: pick the model's, in its order.
        indexes = [keys.index(name) for name in cls._fields]
        rows = [tuple(row[index] for index in indexes) for row in rows]
    return list(map(partial(tuple.__new__, cls), rows))


def objects_by_id(actor: Actor, model: type[Owned]) -> Callable[[Session, list[int]], list[Any]]:
    table = table_columns(model)

    def fetch(db: Session, ids: list[int]) -> list[Any]:
        rows = snapshots(db, model, select_snapshots(model)
                         .where(table.id.in_(ids), read_filter(table, actor)))
        return by_key(rows, ids, "id")

    return fetch


def children_by_fk(actor: Actor, model: Any, fk: str, order: Any
                   ) -> Callable[[Session, list[int]], list[list[Any]]]:
    table = table_columns(model)
    column = table[fk]
    order_by = table[order.key]

    def fetch(db: Session, ids: list[int]) -> list[list[Any]]:
        rows = snapshots(db, model, select_snapshots(model)
                         .where(column.in_(ids), read_filter(table, actor)).order_by(order_by))
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
    if db.autoflush:
        db.flush()
    pairs = set(db.execute(
        select(key_col, other_col).where(key_col.in_(ids), read_filter(link, actor))
    ).all())
    wanted = sorted({other for _, other in pairs})
    targets: dict[int, Any] = {}
    target_table = table_columns(target)
    for start in range(0, len(wanted), MAX_BATCH):
        chunk = wanted[start:start + MAX_BATCH]
        targets.update((obj.id, obj) for obj in snapshots(
            db, target, select_snapshots(target)
            .where(target_table.id.in_(chunk), read_filter(target_table, actor))
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
    table = table_columns(link)
    key_col = table[key_side]
    other_col = table.child_id if key_side == "parent_id" else table.parent_id

    def fetch(db: Session, ids: list[int]) -> list[list[Any]]:
        return _through_links(db, actor, table, key_col, other_col, target, ids)

    return fetch


def annotations_of(actor: Actor, parent: Any) -> Callable[[Session, list[int]], list[list[Any]]]:
    link = table_columns(ANNOTATION_LINKS[parent])

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


_MAP_VALUES = table_columns(MapValue)


def map_values_of(db: Session, ids: list[int]) -> list[list[Any]]:
    rows = snapshots(db, MapValue, select_snapshots(MapValue)
                     .where(_MAP_VALUES.annotation_id.in_(ids)).order_by(_MAP_VALUES["index"]))
    return grouped(rows, ids, "annotation_id")


class Loaders:
    """All loaders of one request, built in the GraphQL context factory."""

    def __init__(self, db: RequestDb, actor: Actor) -> None:
        self._db = db
        self._queue = Queue()
        self.object_by_id: dict[str, DataLoader[int, Any]] = {
            kind: self._loader(objects_by_id(actor, model)) for kind, model in OWNED_MODELS.items()
        }
        self.experimenter_by_id = self._loader(experimenters_by_id)
        self.group_by_id = self._loader(groups_by_id)
        self.memberships_by_group = self._loader(memberships_of_groups)
        self.memberships_by_user = self._loader(memberships_of_users)
        self.pixels_by_image = self._loader(_single(children_by_fk(actor, Pixels, "image_id",
                                                                  Pixels.id)))
        self.channels_by_pixels = self._loader(children_by_fk(actor, Channel, "pixels_id",
                                                             Channel.index))
        self.rois_by_image = self._loader(children_by_fk(actor, Roi, "image_id", Roi.id))
        self.shapes_by_roi = self._loader(children_by_fk(actor, Shape, "roi_id", Shape.id))
        self.wells_by_plate = self._loader(children_by_fk(actor, Well, "plate_id", Well.id))
        self.samples_by_well = self._loader(children_by_fk(actor, WellSample, "well_id",
                                                          WellSample.id))
        self.samples_by_image = self._loader(children_by_fk(actor, WellSample, "image_id",
                                                           WellSample.id))
        self.map_values_by_annotation = self._loader(map_values_of)
        self.import_files_by_job = self._loader(children_by_fk(actor, ImportFile, "job_id",
                                                              ImportFile.index))
        self.original_files_by_fileset = self._loader(children_by_fk(
            actor, OriginalFile, "fileset_id", OriginalFile.id))
        self.annotations_by_parent: dict[str, DataLoader[int, list[Any]]] = {
            parent.kind: self._loader(annotations_of(actor, parent)) for parent in ANNOTATION_LINKS
        }
        # children_by_link["Project"] -> datasets of projects; parents_by_link["Dataset"] -> ...
        self.children_by_link: dict[str, DataLoader[int, list[Any]]] = {}
        self.parents_by_link: dict[str, DataLoader[int, list[Any]]] = {}
        for link in CONTAINER_LINKS:
            parent, child = link.__link_parent__, link.__link_child__
            self.children_by_link[parent.kind] = self._loader(linked(actor, link, child,
                                                                    "parent_id"))
            self.parents_by_link[child.kind] = self._loader(linked(actor, link, parent,
                                                                  "child_id"))
        db.at_close(self.clear)

    def _loader(self, fetch: Callable[[Session, list[K]], Sequence[V]]) -> Loader[K, V]:
        return Loader(self._db, fetch, self._queue)

    @contextlib.contextmanager
    def collecting(self) -> Iterator[dict[Loader[Any, Any], list[tuple[Any, Any]]]]:
        """Within this block, loads of keys not yet cached are queued, not dispatched.

        Yields the queue (loader -> [(key, future)]), for ``run_queued``. Nothing may await
        within the block: another coroutine's loads would be queued too.
        """
        queue = self._queue
        if queue.active:
            raise RuntimeError("loaders are collecting already")
        queued: dict[Loader[Any, Any], list[tuple[Any, Any]]] = {}
        queue.queued, queue.active = queued, True
        try:
            yield queued
        finally:
            queue.active = False
            queue.queued = {}

    async def run_queued(self, queued: dict[Loader[Any, Any], list[tuple[Any, Any]]]) -> None:
        """Run the queued batches (at most MAX_BATCH keys each) in one database call, in the
        order a DataLoader would have dispatched them, and settle their futures as it would."""
        batches = [(loader, items[start:start + MAX_BATCH])
                   for loader, items in queued.items()
                   for start in range(0, len(items), MAX_BATCH)]
        if not batches:
            return
        try:
            outcomes = await self._db.run(
                _run_fetches, [(loader.fetch, [key for key, _ in items])
                               for loader, items in batches])
        except BaseException:
            # Cancelled or worse: forget the futures, so later loads fetch their keys again.
            for _, items in batches:
                for _, future in items:
                    future.cancel()
            raise
        for (_, items), outcome in zip(batches, outcomes, strict=True):
            _settle([future for _, future in items], outcome)

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
