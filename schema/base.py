"""The Node and OwnedObject interfaces, the decorator that maps ORM rows to GraphQL types, and
the two fast kinds of field every OME type is built from.

Pages of a thousand objects resolve tens of thousands of fields, so per-field cost matters:

* ``computed`` fields derive their value from the parent row alone. They are resolved like
  plain attributes (strawberry's "basic field" path: no Info object, no argument parsing).
* ``loaded`` fields come from a per-request dataloader. Their resolvers return the loaded value
  itself when the loader already has it, and the loader's future otherwise; ``prefetch`` fills
  the loaders for everything a query selects below a page of rows, level by level, so that
  GraphQL then completes the whole page synchronously instead of awaiting a future per field.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import inspect
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, TypeVar, cast

import strawberry
from strawberry.types.base import StrawberryObjectDefinition
from strawberry.types.field import StrawberryField
from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField, Selection

from resolvers.ids import format_id
from resolvers.loaders import snapshot_class
from resolvers.permissions import Action, can
from schema.context import Info

C = TypeVar("C", bound=type)
F = TypeVar("F", bound=Callable[..., Any])

# model -> [(where, strawberry class)], for finding the GraphQL type of a row when prefetching.
_TYPES_OF_MODEL: dict[type, list[tuple[Callable[[Any], bool] | None, type]]] = {}


def ome_type(model: type, *, where: Callable[[Any], bool] | None = None,
             name: str | None = None, description: str | None = None) -> Callable[[C], C]:
    """A strawberry type whose values are ORM rows of ``model`` (optionally a subset of them)."""

    def wrap(cls: C) -> C:
        classes = (model, snapshot_class(model))

        def is_type_of(_cls: type, obj: Any, _info: Any) -> bool:
            return isinstance(obj, classes) and (where is None or where(obj))

        cls.is_type_of = classmethod(is_type_of)  # type: ignore[attr-defined]
        _TYPES_OF_MODEL.setdefault(model, []).append((where, cls))
        return strawberry.type(cls, name=name, description=description)

    return wrap


# --------------------------------------------------------------------------- computed fields


class ComputedField(StrawberryField):
    """A field whose resolver is ``f(self, root)``: a pure function of the parent row.

    Strawberry resolves "basic" fields (plain attributes) without building an Info object or
    parsing arguments; this field takes that path and calls the resolver with the row. The
    resolver still defines the field's type and description, so the schema is unchanged.
    """

    @property
    def is_basic_field(self) -> bool:
        return not self.extensions and not self.permission_classes

    def get_result(self, source: Any, info: Any, args: list[Any], kwargs: Any) -> Any:
        resolver = self.base_resolver
        assert resolver is not None
        return resolver.wrapped_func(source, source)  # type: ignore[operator]


def computed(fn: F | None = None, *, description: str | None = None) -> Any:
    """Decorate ``def field(self, root: strawberry.Parent[Any]) -> T`` as a ComputedField."""

    def wrap(fn: F) -> Any:
        parameters = list(inspect.signature(fn).parameters)
        if parameters != ["self", "root"]:
            raise TypeError(f"computed field {fn.__qualname__} must take (self, root) only")
        field = ComputedField(python_name=None, graphql_name=None, type_annotation=None,
                              description=description)
        return field(fn)

    return wrap(fn) if fn is not None else wrap


# --------------------------------------------------------------------------- loaded fields

LOADED = "omegraph.loaded"


def loaded(fn: F | None = None, *, description: str | None = None) -> Any:
    """Decorate ``def field(self, root, info) -> T`` returning ``ready(loader.load(key))``.

    Such resolvers must only read ``info.context``: ``prefetch`` calls them with the Info of
    the list field above them, to queue the same loads for a whole page at once.
    """

    def wrap(fn: F) -> Any:
        parameters = list(inspect.signature(fn).parameters)
        if parameters != ["self", "root", "info"] or inspect.iscoroutinefunction(fn):
            raise TypeError(f"loaded field {fn.__qualname__} must be a sync (self, root, info)")
        return strawberry.field(fn, description=description, metadata={LOADED: True})

    return wrap(fn) if fn is not None else wrap


def ready(pending: Awaitable[Any]) -> Any:
    """The loaded value if the loader has it already (raising its error), else the future."""
    if isinstance(pending, asyncio.Future) and pending.done() and not pending.cancelled():
        return pending.result()
    return pending


async def prefetch(info: Info, rows: Iterable[Any], selections: Sequence[Selection]) -> None:
    """Run the loaded fields that ``selections`` ask of ``rows``, then of their results, ...

    One round per level of the query: the resolvers of the whole level run with the request's
    loaders collecting, so their loads only queue keys; the queued batches then run in one
    database call that sets the loaders' futures (no batch task, no callback per key), and the
    next level starts from their results. Errors are left in the loaders' futures, for the
    fields themselves to report exactly as without prefetching.
    """
    level: list[tuple[Iterable[Any], Sequence[Selection]]] = [(rows, selections)]
    loaders = None
    while level:
        work: list[tuple[Callable[..., Any], list[Any], list[Selection]]] = []
        for parents, wanted in level:
            for cls, group in _by_type(parents).items():
                fields = _loaded_fields(cls, info)
                if not fields:
                    continue
                for name, subselections in _selected_fields(cls, wanted).items():
                    resolver = fields.get(name)
                    if resolver is not None:
                        work.append((resolver, group, subselections))
        if not work:
            return
        if loaders is None:
            try:
                loaders = info.context.loaders
            except Exception:  # noqa: BLE001  (the fields raise it again, where GraphQL reports it)
                return
        below: list[tuple[list[Any], list[Selection]]] = []
        produced: list[list[Any]] = []
        with loaders.collecting() as queued:
            for resolver, group, subselections in work:
                try:
                    results = [resolver(row, root=row, info=info) for row in group]
                except Exception:  # noqa: BLE001, S112  (raised again where GraphQL resolves it)
                    continue
                produced.append(results)
                if subselections:
                    below.append((results, subselections))
        await loaders.run_queued(queued)
        # Keys another coroutine was loading already: wait for them too.
        pending = [r for results in produced for r in results
                   if isinstance(r, asyncio.Future) and not r.done()]
        if pending:
            await asyncio.wait(pending)
        level = [(_values(results), subselections) for results, subselections in below]


def _by_type(rows: Iterable[Any]) -> dict[type, list[Any]]:
    """Rows grouped by their GraphQL type; rows of no OME type are left out."""
    rows = rows if isinstance(rows, list) else list(rows)
    classes = set(map(type, rows))
    by_class: dict[type, list[Any]] = {}
    if len(classes) == 1:
        by_class[classes.pop()] = rows  # a page, or the results of one loader: the usual case
    else:
        for row in rows:
            row_class = type(row)
            same = by_class.get(row_class)
            if same is None:
                same = by_class[row_class] = []
            same.append(row)
    groups: dict[type, list[Any]] = {}
    for row_class, same in by_class.items():
        types = _TYPES_OF_MODEL.get(getattr(row_class, "snapshot_of", row_class), ())
        if len(types) == 1 and types[0][0] is None:
            # One GraphQL type for every row of the model: no per-row test.
            groups.setdefault(types[0][1], []).extend(same)
            continue
        for row in same:
            for where, cls in types:
                if where is None or where(row):
                    group = groups.get(cls)
                    if group is None:
                        group = groups[cls] = []
                    group.append(row)
                    break
    return groups


def _values(results: list[Any]) -> list[Any]:
    """The objects a level of loaded fields produced (lists flattened; errors skipped)."""
    values: list[Any] = []
    for result in results:
        if isinstance(result, asyncio.Future):
            if result.cancelled() or result.exception() is not None:
                continue
            result = result.result()
        if isinstance(result, list):
            values.extend(result)
        elif result is not None:
            values.append(result)
    return values


def skipped(directives: dict[str, dict[str, Any]]) -> bool:
    """Whether @skip or @include (their arguments already resolved) leave a selection out."""
    return bool(directives.get("skip", {}).get("if")) or (
        "include" in directives and not directives["include"].get("if"))


def _selected_fields(cls: type, selections: Sequence[Selection]) -> dict[str, list[Selection]]:
    """Field name -> merged sub-selections, for the fields ``selections`` ask of type ``cls``."""
    definition: StrawberryObjectDefinition = cls.__strawberry_definition__  # type: ignore[attr-defined]
    names = {definition.name, *(interface.name for interface in definition.interfaces)}
    fields: dict[str, list[Selection]] = {}

    def collect(items: Sequence[Selection]) -> None:
        for item in items:
            if skipped(item.directives):
                continue
            if isinstance(item, SelectedField):
                fields.setdefault(item.name, []).extend(item.selections)
            elif isinstance(item, InlineFragment | FragmentSpread) and (
                    item.type_condition is None or item.type_condition in names):
                collect(item.selections)

    collect(selections)
    return fields


_LOADED_FIELDS: dict[tuple[type, object], dict[str, Callable[..., Any]]] = {}


def _loaded_fields(cls: type, info: Info) -> dict[str, Callable[..., Any]]:
    """GraphQL field name -> resolver, for the loaded fields of type ``cls``."""
    converter = info.schema.config.name_converter
    fields = _LOADED_FIELDS.get((cls, converter))
    if fields is None:
        definition: StrawberryObjectDefinition = cls.__strawberry_definition__  # type: ignore[attr-defined]
        fields = _LOADED_FIELDS[cls, converter] = {
            converter.get_graphql_name(field): cast("Callable[..., Any]",
                                                     field.base_resolver.wrapped_func)
            for field in definition.fields
            if field.metadata.get(LOADED) and field.base_resolver is not None
        }
    return fields


# --------------------------------------------------------------------------- the interfaces


@strawberry.interface(description="An object with a global id like 'Image:123'.")
class Node:
    @computed(description="Global id: type name, colon, number.")
    def id(self, root: strawberry.Parent[Any]) -> strawberry.ID:
        return strawberry.ID(format_id(root.kind, root.id))

    @computed(description="The numeric database id.")
    def db_id(self, root: strawberry.Parent[Any]) -> int:
        return int(root.id)


@strawberry.type(description="What the viewer may do with this object.")
class ObjectPermissions:
    can_annotate: bool
    can_edit: bool
    can_delete: bool
    can_link: bool


@strawberry.interface(description="An object owned by an experimenter within a group.")
class OwnedObject(Node):
    @loaded
    def owner(self, root: strawberry.Parent[Any], info: Info) -> Experimenter:
        return ready(info.context.loaders.experimenter_by_id.load(root.owner_id))  # type: ignore[no-any-return]

    @loaded
    def group(self, root: strawberry.Parent[Any], info: Info) -> Group:
        return ready(info.context.loaders.group_by_id.load(root.group_id))  # type: ignore[no-any-return]

    @computed
    def created(self, root: strawberry.Parent[Any]) -> dt.datetime:
        return root.created  # type: ignore[no-any-return]

    @computed
    def updated(self, root: strawberry.Parent[Any]) -> dt.datetime:
        return root.updated  # type: ignore[no-any-return]

    @strawberry.field
    def permissions(self, root: strawberry.Parent[Any], info: Info) -> ObjectPermissions:
        actor = info.context.actor

        def allowed(action: Action) -> bool:
            return can(actor, action, root.owner_id, root.group_id)

        return ObjectPermissions(
            can_annotate=allowed(Action.ANNOTATE), can_edit=allowed(Action.EDIT),
            can_delete=allowed(Action.DELETE), can_link=allowed(Action.LINK),
        )


from schema.accounts import Experimenter, Group  # noqa: E402  (mutual references)
