"""A graphql-core executor with fast paths for plain fields and whole plain sub-trees.

A page of a thousand images resolves tens of thousands of fields (names, sizes, ids, pixels,
channels, annotations). graphql-core builds a Path, a ResolveInfo and a completion chain for
each of them; for fields that need none of that, this executor does the work directly:

* Leaf fields whose strawberry resolver needs no Info and no arguments (plain attributes and
  ``computed`` fields) are resolved and coerced in ``execute_fields``.
* A composite value (an object, a list, an interface with its own ``resolve_type``) is
  completed in one tight loop when everything its selection asks for is "plain": leaf and
  object fields resolved by such resolvers or by ``loaded`` resolvers (which read only
  ``info.context``), ``__typename``, no arguments, no ``@defer``/``@stream``. The plan for
  each (type, field set) is compiled once per request.

The fast paths never report anything themselves. The moment a value is not what the plain
case expects -- an error or exception value, a null where null is not allowed, a value that
cannot be coerced, an awaitable (a loader that has not loaded yet), a resolver or type
resolver that reads more of its Info than ``context`` -- the attempt is dropped and
graphql-core completes that field (or value) from scratch on its normal path, so results,
null propagation and errors (paths, locations) are exactly what they would be without it.
The resolvers involved are pure functions of the row or cached loader reads, so running one
again on the normal path gives the same value.
"""

from __future__ import annotations

import inspect
import keyword
from collections.abc import Callable
from operator import attrgetter
from types import GeneratorType
from typing import Any

from graphql import (
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLField,
    GraphQLFloat,
    GraphQLID,
    GraphQLInt,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLString,
    GraphQLUnionType,
)
from graphql.pyutils import Path, Undefined
from graphql.pyutils import is_awaitable as default_is_awaitable
from strawberry.execution.is_awaitable import optimized_is_awaitable
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types.field import StrawberryField

from schema.base import LOADED, ComputedField

Completer = Callable[[Any], Any]

# Directives that only decide whether a field is collected at all.
_COLLECTION_DIRECTIVES = frozenset({"skip", "include"})

_BUILTIN_LEAVES = (GraphQLString, GraphQLID, GraphQLBoolean, GraphQLInt, GraphQLFloat)

# Types of leaf and object values known to be neither awaitable nor exceptions (nor
# Undefined): such values need no check before coercion.
_SAFE_TYPES: set[type] = set()

_MISSING: Any = object()


class _Bail(BaseException):
    """The fast path cannot give graphql-core's exact result here: redo it on the normal path.

    A BaseException so that no resolver's ``except Exception`` can swallow it.
    """


class _ContextOnlyInfo:
    """Stands for the Info given to ``loaded`` resolvers and type checks on the fast path:
    it has the request's context; reading anything else abandons the fast attempt."""

    __slots__ = ("context",)

    def __init__(self, context: Any) -> None:
        self.context = context

    def __getattr__(self, name: str) -> Any:
        raise _Bail(name)


def _check_plain(value: Any) -> None:
    """Refuse values graphql-core would treat specially (raise, await, or read as null)."""
    if value is Undefined or isinstance(value, BaseException) or default_is_awaitable(value):
        raise _Bail
    if type(value) is not GeneratorType:
        _SAFE_TYPES.add(type(value))


def _leaf(named: GraphQLScalarType | GraphQLEnumType, nullable: bool) -> Completer:
    coerce = named.coerce_output_value
    textual = named is GraphQLString or named is GraphQLID
    safe = _SAFE_TYPES

    def complete(value: Any) -> Any:
        if value is None:
            if nullable:
                return None
            raise _Bail
        kind = type(value)
        if kind is str and textual:
            return value
        if kind not in safe:
            _check_plain(value)
        coerced = coerce(value)
        if coerced is None or coerced is Undefined:
            raise _Bail
        return coerced

    return complete


# How a field's value is got from its parent value on the fast path:
# ("attr", python name) a plain attribute; ("computed", f) f(row, row); ("loaded", f)
# f(row, root=row, info=...); ("call", g) g(row); ("const", value) always value (__typename).
Getter = tuple[str, Any]


def _basic_getter(field_def: GraphQLField) -> Getter:
    """The cheapest call that gives a basic field's value, equivalent to strawberry's."""
    definition = (field_def.extensions or {}).get("strawberry-definition")
    if isinstance(definition, ComputedField) and definition.base_resolver is not None:
        return ("computed", definition.base_resolver.wrapped_func)
    if type(definition) is StrawberryField and definition.base_resolver is None \
            and definition.default_resolver is getattr:
        name = definition.python_name
        if name.isidentifier() and not keyword.iskeyword(name) and not name.startswith("__"):
            return ("attr", name)
        return ("call", attrgetter(name))
    resolve = field_def.resolve
    assert resolve is not None
    return ("call", lambda row: resolve(row, None))


def _callable(getter: Getter, info: Any) -> Completer:
    kind, what = getter
    if kind == "attr":
        return attrgetter(what)
    if kind == "computed":
        return lambda row: what(row, row)
    if kind == "loaded":
        return lambda row: what(row, root=row, info=info)
    if kind == "const":
        return lambda _row: what
    return what  # type: ignore[no-any-return]


class FastExecutionContext(StrawberryGraphQLCoreExecutionContext):
    # False: graphql-core's normal path for everything (tests compare the two).
    enabled = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        manager = self.middleware_manager
        # Schema extensions that wrap resolvers must see every field, and a custom
        # is_awaitable may see awaitables where the fast paths do not: no fast paths then.
        self._fast = self.enabled and not (manager and manager.middlewares) \
            and self.is_awaitable in (default_is_awaitable, optimized_is_awaitable)
        self._info = _ContextOnlyInfo(self.context_value)
        # Plans, per request, keyed by the ids of the type and of the collected field set
        # (or field details list), which are kept alive alongside so the ids stay unique.
        self._field_plans: dict[tuple[int, int], tuple[Any, list[tuple[str, Any, Any]]]] = {}
        self._completers: dict[tuple[int, int], tuple[Any, Any, Completer | None]] = {}

    # ----------------------------------------------------------------- plans

    def _getter(self, parent_type: GraphQLObjectType, field_details: Any) -> Getter | None:
        """How to get a field's value from its parent value on the fast path, if it can be."""
        for details in field_details:
            node = details.node
            if node.arguments or details.defer_usage is not None \
                    or details.fragment_variable_values is not None:
                return None
            if any(d.name.value not in _COLLECTION_DIRECTIVES for d in node.directives or ()):
                return None
        name = field_details[0].node.name.value
        if name == "__typename":
            return ("const", parent_type.name)
        field_def = self.schema.get_field(parent_type, name)
        if field_def is None or field_def.args:
            return None
        if getattr(field_def.resolve, "_is_default", False):
            return _basic_getter(field_def)
        definition = (field_def.extensions or {}).get("strawberry-definition")
        if isinstance(definition, StrawberryField) and definition.metadata.get(LOADED) \
                and definition.base_resolver is not None and not definition.is_async \
                and not definition.permission_classes and not definition.extensions:
            return ("loaded", definition.base_resolver.wrapped_func)
        return None

    def _field_plan(self, parent_type: GraphQLObjectType,
                    grouped_field_set: Any) -> list[tuple[str, Any, Any]]:
        """Per field of a collected set: response name, leaf entry (getter, completer) or
        None, field details."""
        key = (id(parent_type), id(grouped_field_set))
        cached = self._field_plans.get(key)
        if cached is not None:
            return cached[1]
        plan = []
        for response_name, field_details in grouped_field_set.items():
            entry: tuple[Completer, Completer | None] | None = None
            getter = self._getter(parent_type, field_details)
            if getter is not None:
                name = field_details[0].node.name.value
                if name == "__typename":
                    entry = (_callable(getter, self._info), None)
                else:
                    field_type = self.schema.get_field(parent_type, name).type  # type: ignore[union-attr]
                    nullable = not isinstance(field_type, GraphQLNonNull)
                    named = field_type if nullable else field_type.of_type  # type: ignore[union-attr]
                    if isinstance(named, GraphQLScalarType | GraphQLEnumType):
                        entry = (_callable(getter, self._info), _leaf(named, nullable))
            plan.append((response_name, entry, field_details))
        self._field_plans[key] = (grouped_field_set, plan)
        return plan

    def _completer(self, return_type: Any, field_details: Any) -> Completer | None:
        """A function completing values of ``return_type`` for the selection of
        ``field_details`` in one go (raising _Bail when it cannot), or None."""
        key = (id(return_type), id(field_details))
        cached = self._completers.get(key)
        if cached is not None:
            return cached[2]
        # Compiling cannot come back to the same key: each level has its own field details.
        completer = self._compile(return_type, field_details)
        self._completers[key] = (return_type, field_details, completer)
        return completer

    def _compile(self, return_type: Any, field_details: Any) -> Completer | None:
        nullable = not isinstance(return_type, GraphQLNonNull)
        named = return_type if nullable else return_type.of_type
        if isinstance(named, GraphQLScalarType | GraphQLEnumType):
            return _leaf(named, nullable)
        if isinstance(named, GraphQLList):
            item = self._completer(named.of_type, field_details)
            return None if item is None else _list(item, nullable)
        if isinstance(named, GraphQLObjectType):
            return self._object(named, field_details, nullable)
        if isinstance(named, GraphQLInterfaceType | GraphQLUnionType):
            return self._abstract(named, field_details, nullable)
        return None

    def _object(self, object_type: GraphQLObjectType, field_details: Any,
                nullable: bool) -> Completer | None:
        grouped_field_set, new_defer_usages, forbidden = self.collect_subfields(
            object_type, field_details)
        if new_defer_usages or forbidden:
            return None
        fields: list[tuple[str, Getter, Any]] = []
        for response_name, sub_details in grouped_field_set.items():
            getter = self._getter(object_type, sub_details)
            if getter is None:
                return None
            if getter[0] == "const":
                fields.append((response_name, getter, None))
                continue
            field_def = self.schema.get_field(object_type, sub_details[0].node.name.value)
            assert field_def is not None
            sub = self._completer(field_def.type, sub_details)
            if sub is None:
                return None
            fields.append((response_name, getter, (field_def.type, sub)))
        return _compile_object(object_type, fields, nullable, self._info)

    def _abstract(self, abstract_type: GraphQLInterfaceType | GraphQLUnionType,
                  field_details: Any, nullable: bool) -> Completer | None:
        resolve_type = abstract_type.resolve_type
        # Only a type's own resolve_type method: strawberry's generated ones read the Info.
        if resolve_type is None or not inspect.ismethod(resolve_type):
            return None
        info = self._info
        safe = _SAFE_TYPES
        by_name: dict[str, Completer | None] = {}

        def runtime(name: str) -> Completer | None:
            runtime_type = self.schema.get_type(name)
            if isinstance(runtime_type, GraphQLObjectType) \
                    and self.schema.is_sub_type(abstract_type, runtime_type):
                return self._object(runtime_type, field_details, False)
            return None

        def complete(value: Any) -> Any:
            if value is None:
                if nullable:
                    return None
                raise _Bail
            if type(value) not in safe:
                _check_plain(value)
            name = resolve_type(value, info, abstract_type)
            if type(name) is not str:
                raise _Bail
            completer = by_name.get(name, _MISSING)
            if completer is _MISSING:
                completer = by_name[name] = runtime(name)
            if completer is None:
                raise _Bail
            return completer(value)

        return complete

    # ----------------------------------------------------------------- execution

    def execute_fields(self, parent_type: GraphQLObjectType, source_value: Any,
                       path: Path | None, grouped_field_set: Any,
                       position_context: Any) -> Any:
        if not self._fast:
            return super().execute_fields(parent_type, source_value, path, grouped_field_set,
                                          position_context)
        fast: dict[str, Any] = {}
        slow: dict[str, Any] = {}
        for response_name, entry, details in self._field_plan(parent_type, grouped_field_set):
            if entry is not None:
                getter, complete = entry
                try:
                    value = getter(source_value)
                    fast[response_name] = value if complete is None else complete(value)
                    continue
                except (_Bail, Exception):  # noqa: BLE001, S110  (the normal path reports it)
                    pass
            slow[response_name] = details
        if not slow:
            return fast
        rest = super().execute_fields(parent_type, source_value, path, slow, position_context)
        if isinstance(rest, dict):
            return _in_order(grouped_field_set, fast, rest)
        return _merge_later(grouped_field_set, fast, rest)

    def complete_value(self, return_type: Any, field_details_list: Any, info: Any,
                       path: Path, result: Any, position_context: Any) -> Any:
        # Only for a field's whole value (not the items or inner types graphql-core recurses
        # into after a fast attempt was dropped), and only for composite types.
        if self._fast and return_type is info.return_type and position_context is None:
            completer = self._value_completer(return_type, field_details_list)
            if completer is not None:
                try:
                    return completer(result)
                except (_Bail, Exception):  # noqa: BLE001, S110  (the normal path reports it)
                    pass
        return super().complete_value(return_type, field_details_list, info, path, result,
                                      position_context)

    def _value_completer(self, return_type: Any, field_details_list: Any) -> Completer | None:
        named = return_type.of_type if isinstance(return_type, GraphQLNonNull) else return_type
        if isinstance(named, GraphQLScalarType | GraphQLEnumType):
            return None  # graphql-core's leaf completion is as quick
        return self._completer(return_type, field_details_list)


def _list(item: Completer, nullable: bool) -> Completer:
    def complete(value: Any) -> Any:
        if value is None:
            if nullable:
                return None
            raise _Bail
        kind = type(value)
        if kind is not list and kind is not tuple:
            raise _Bail
        return [item(element) for element in value]

    return complete


# Inline checks for the common leaf values: a value passing one is its own coerced value
# (as graphql-core's coercion would return it); any other value goes to the leaf completer.
_INLINE_CHECKS = {
    "String": "type({v}) is not str",
    "ID": "type({v}) is not str",
    "Boolean": "type({v}) is not bool",
    "Int": "type({v}) is not int or not -2147483648 <= {v} <= 2147483647",
    "Float": "type({v}) is not float or not -_INF < {v} < _INF",
}


def _compile_object(object_type: GraphQLObjectType, fields: list[tuple[str, Getter, Any]],
                    nullable: bool, info: _ContextOnlyInfo) -> Completer:
    """The completer of one object type for one selection, as straight-line Python code."""
    names: dict[str, Any] = {"_Bail": _Bail, "_safe": _SAFE_TYPES, "_check": _check_plain,
                             "_info": info, "_INF": float("inf"),
                             "_is_type_of": object_type.is_type_of}
    lines = ["def complete(value):",
             "    if value is None:",
             "        return None" if nullable else "        raise _Bail",
             "    if type(value) not in _safe:",
             "        _check(value)"]
    if object_type.is_type_of is not None:
        lines += ["    if _is_type_of(value, _info) is not True:",
                  "        raise _Bail"]
    items = []
    for n, (response_name, (kind, what), sub) in enumerate(fields):
        v = f"v{n}"
        if kind == "const":
            items.append(f"{response_name!r}: {what!r}")
            continue
        if kind == "attr":
            lines.append(f"    {v} = value.{what}")
        elif kind == "computed":
            names[f"f{n}"] = what
            lines.append(f"    {v} = f{n}(value, value)")
        elif kind == "loaded":
            names[f"f{n}"] = what
            lines.append(f"    {v} = f{n}(value, root=value, info=_info)")
        else:
            names[f"f{n}"] = what
            lines.append(f"    {v} = f{n}(value)")
        field_type, complete = sub
        names[f"c{n}"] = complete
        named = field_type.of_type if isinstance(field_type, GraphQLNonNull) else field_type
        check = _INLINE_CHECKS.get(named.name) if named in _BUILTIN_LEAVES else None
        if check is None:
            lines.append(f"    {v} = c{n}({v})")
        else:
            condition = check.format(v=v)
            if field_type is named:  # nullable: None is its own result
                condition = f"{v} is not None and ({condition})"
            lines += [f"    if {condition}:", f"        {v} = c{n}({v})"]
        items.append(f"{response_name!r}: {v}")
    lines.append("    return {" + ", ".join(items) + "}")
    exec("\n".join(lines), names)  # noqa: S102  (names and literals only, see above)
    return names["complete"]  # type: ignore[no-any-return]


def _in_order(grouped_field_set: Any, fast: dict[str, Any], rest: dict[str, Any]) -> dict[str, Any]:
    """Both halves, in the order the query asked for them."""
    return {name: fast[name] if name in fast else rest[name]
            for name in grouped_field_set if name in fast or name in rest}


async def _merge_later(grouped_field_set: Any, fast: dict[str, Any], rest: Any) -> dict[str, Any]:
    return _in_order(grouped_field_set, fast, await rest)
