"""A graphql-core executor with a fast path for plain leaf fields.

A page of a thousand images resolves tens of thousands of scalar fields (names, sizes, ids).
graphql-core builds a Path, a ResolveInfo and a completion chain for each of them; for a field
whose strawberry resolver needs no Info and no arguments and whose type is a scalar or enum,
none of that is used. Such fields are resolved and coerced here directly; every other field,
and every field whose value is null where null is not allowed or cannot be coerced, takes
graphql-core's normal path, so results and errors are exactly what they would be without it.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
)
from graphql.pyutils import Path, Undefined
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types.field import StrawberryField

from schema.base import ComputedField

# (parent type name, field name) -> (resolve, coerce, nullable) or None when not plain.
_PlainField = tuple[Any, Any, bool] | None
_PLAIN: dict[tuple[str, str], _PlainField] = {}


def _getter(field_def: GraphQLField) -> Callable[[Any], Any]:
    """The cheapest call that gives the field's value, equivalent to strawberry's resolver."""
    definition = (field_def.extensions or {}).get("strawberry-definition")
    if isinstance(definition, ComputedField) and definition.base_resolver is not None:
        compute: Callable[[Any, Any], Any] = definition.base_resolver.wrapped_func  # type: ignore[assignment]
        return lambda row: compute(row, row)
    if type(definition) is StrawberryField and definition.base_resolver is None:
        return attrgetter(definition.python_name)
    resolve = field_def.resolve
    assert resolve is not None
    return lambda row: resolve(row, None)


def _plain_field(parent_type: GraphQLObjectType, name: str,
                 field_def: GraphQLField | None) -> _PlainField:
    key = (parent_type.name, name)
    if key in _PLAIN:
        return _PLAIN[key]
    plan: _PlainField = None
    # strawberry marks resolvers that need neither Info nor arguments ("basic" fields).
    if field_def is not None and getattr(field_def.resolve, "_is_default", False) \
            and not field_def.args:
        field_type = field_def.type
        nullable = not isinstance(field_type, GraphQLNonNull)
        named = field_type.of_type if isinstance(field_type, GraphQLNonNull) else field_type
        if isinstance(named, GraphQLScalarType | GraphQLEnumType):
            plan = (_getter(field_def), named.coerce_output_value, nullable)
    _PLAIN[key] = plan
    return plan


class FastExecutionContext(StrawberryGraphQLCoreExecutionContext):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # (type, id of a collected field set) -> (the set, kept alive so its id stays unique;
        # per field: response name, plain-field plan or None, field details).
        self._plans: dict[tuple[str, int], tuple[Any, list[tuple[str, _PlainField, Any]]]] = {}

    def _plan(self, parent_type: GraphQLObjectType,
              grouped_field_set: Any) -> list[tuple[str, _PlainField, Any]]:
        key = (parent_type.name, id(grouped_field_set))
        cached = self._plans.get(key)
        if cached is not None:
            return cached[1]
        entries = []
        for response_name, details in grouped_field_set.items():
            node = details[0].node
            plan = None
            if not node.arguments and not node.directives:
                name = node.name.value
                plan = _plain_field(parent_type, name, self.schema.get_field(parent_type, name))
            entries.append((response_name, plan, details))
        self._plans[key] = (grouped_field_set, entries)
        return entries

    def execute_fields(self, parent_type: GraphQLObjectType, source_value: Any,
                       path: Path | None, grouped_field_set: Any,
                       position_context: Any) -> Any:
        if self.middleware_manager and self.middleware_manager.middlewares:
            return super().execute_fields(parent_type, source_value, path, grouped_field_set,
                                          position_context)
        fast: dict[str, Any] = {}
        slow: dict[str, Any] = {}
        for response_name, plan, details in self._plan(parent_type, grouped_field_set):
            if plan is not None:
                getter, coerce, nullable = plan
                try:
                    value = getter(source_value)
                    if value is None:
                        if nullable:
                            fast[response_name] = None
                            continue
                    else:
                        coerced = coerce(value)
                        if coerced is not Undefined and coerced is not None:
                            fast[response_name] = coerced
                            continue
                except Exception:  # noqa: BLE001, S110  (the normal path reports it properly)
                    pass
            slow[response_name] = details
        if not slow:
            return fast
        rest = super().execute_fields(parent_type, source_value, path, slow, position_context)
        if isinstance(rest, dict):
            return _in_order(grouped_field_set, fast, rest)
        return _merge_later(grouped_field_set, fast, rest)


def _in_order(grouped_field_set: Any, fast: dict[str, Any], rest: dict[str, Any]) -> dict[str, Any]:
    """Both halves, in the order the query asked for them."""
    return {name: fast[name] if name in fast else rest[name]
            for name in grouped_field_set if name in fast or name in rest}


async def _merge_later(grouped_field_set: Any, fast: dict[str, Any], rest: Any) -> dict[str, Any]:
    return _in_order(grouped_field_set, fast, await rest)
