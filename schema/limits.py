"""Query limits, measured in one pass that is safe against hostile documents.

Depth, aliases and cost are measured over the operation with its fragments expanded, but
each fragment is measured once per parent type (memoised) and a fragment that spreads itself
counts as nothing (graphql-core reports the cycle), so fragment bombs and cycles cost linear
time. Strawberry's own depth and alias limiters expand fragments without memoising; they are
replaced by this rule. The token limit stays with graphql-core's parser.

Cost: every field costs 1; a connection or list field with ``first``/``last`` multiplies the
cost of everything below it by that page size (the default page size when not given).
Variables are known here, so ``first: $n`` is priced at its real value, and list variables
longer than the list cap are refused before graphql-core coerces them item by item.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLObjectType,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationRule,
    VariableNode,
    get_named_type,
)
from strawberry.extensions import MaxTokensLimiter, SchemaExtension

from omegraph.settings import Settings

PAGE_ARGS = ("first", "last")
# Beyond this nesting the query is refused by the depth limit anyway; stop measuring there.
MAX_WALK = 200


@dataclass(frozen=True)
class Limits:
    max_depth: int
    max_aliases: int
    max_cost: int
    default_page: int
    max_list: int


@dataclass(frozen=True)
class Measure:
    cost: int
    depth: int
    aliases: int

    def plus(self, other: Measure) -> Measure:
        return Measure(self.cost + other.cost, max(self.depth, other.depth),
                       self.aliases + other.aliases)


ZERO = Measure(0, 0, 0)


class QueryLimits(SchemaExtension):
    def __init__(self, limits: Limits) -> None:
        self.limits = limits

    def on_operation(self) -> Iterator[None]:
        variables = self.execution_context.variables or {}
        self.execution_context.validation_rules = (
            *self.execution_context.validation_rules,
            _limits_rule(self.limits, variables),
        )
        yield


def _longest_list(value: Any, depth: int = 0) -> int:
    """The longest list anywhere in a JSON value (bounded walk: deep values are refused)."""
    if depth > 32:
        return 1 << 30
    if isinstance(value, list):
        inner = max((_longest_list(item, depth + 1) for item in value[:10_000]), default=0)
        return max(len(value), inner)
    if isinstance(value, dict):
        return max((_longest_list(item, depth + 1) for item in value.values()), default=0)
    return 0


def _limits_rule(limits: Limits, variables: Mapping[str, Any]) -> type:
    class LimitsRule(ValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            if _longest_list(variables) > limits.max_list:
                self._refuse(node, f"a list in the variables is longer than {limits.max_list} "
                             "items or nested too deeply", "LIST_TOO_LONG")
                return
            schema = self.context.schema
            root = {
                "query": schema.query_type,
                "mutation": schema.mutation_type,
                "subscription": schema.subscription_type,
            }[node.operation.value]
            fragments = {
                d.name.value: d for d in self.context.document.definitions
                if isinstance(d, FragmentDefinitionNode)
            }
            measured = _Walker(schema.type_map, fragments, variables,
                               limits.default_page).selection(node.selection_set, root, 0)
            name = node.name.value if node.name else "anonymous"
            if measured.depth > limits.max_depth:
                self._refuse(node, f"'{name}' exceeds maximum operation depth of "
                             f"{limits.max_depth}", "QUERY_TOO_DEEP")
            if measured.aliases > limits.max_aliases:
                self._refuse(node, f"{measured.aliases} aliases found. Allowed: "
                             f"{limits.max_aliases}", "TOO_MANY_ALIASES")
            if measured.cost > limits.max_cost:
                self._refuse(node, f"query cost {measured.cost} exceeds the limit of "
                             f"{limits.max_cost}; request smaller pages or fewer fields",
                             "QUERY_TOO_COSTLY", cost=measured.cost, limit=limits.max_cost)

        def _refuse(self, node: OperationDefinitionNode, message: str, code: str,
                    **extra: Any) -> None:
            self.report_error(GraphQLError(message, node, extensions={"code": code, **extra}))

    return LimitsRule


class _Walker:
    def __init__(self, type_map: Mapping[str, Any],
                 fragments: Mapping[str, FragmentDefinitionNode],
                 variables: Mapping[str, Any], default_page: int) -> None:
        self.type_map = type_map
        self.fragments = fragments
        self.variables = variables
        self.default_page = default_page
        self.memo: dict[tuple[str, str], Measure] = {}
        self.active: set[str] = set()

    def page(self, field: FieldNode) -> int | None:
        for argument in field.arguments or ():
            if argument.name.value not in PAGE_ARGS:
                continue
            value = argument.value
            if isinstance(value, IntValueNode) and len(value.value) < 10:
                return max(int(value.value), 1)
            if isinstance(value, VariableNode):
                given = self.variables.get(value.name.value)
                if isinstance(given, int) and not isinstance(given, bool):
                    return max(min(given, 1 << 31), 1)
            return self.default_page
        return None

    def selection(self, selection_set: SelectionSetNode | None, parent: Any,
                  depth: int) -> Measure:
        if selection_set is None or depth > MAX_WALK:
            return ZERO
        total = ZERO
        for item in selection_set.selections:
            if isinstance(item, FieldNode):
                total = total.plus(self.field(item, parent, depth))
            elif isinstance(item, InlineFragmentNode):
                target = parent
                if item.type_condition is not None:
                    target = self.type_map.get(item.type_condition.name.value, parent)
                total = total.plus(self.selection(item.selection_set, target, depth + 1))
            elif isinstance(item, FragmentSpreadNode):
                total = total.plus(self.spread(item.name.value, parent, depth))
        return total

    def spread(self, name: str, parent: Any, depth: int) -> Measure:
        fragment = self.fragments.get(name)
        if fragment is None or name in self.active:
            return ZERO  # unknown fragments and cycles are graphql-core's errors to report
        target = self.type_map.get(fragment.type_condition.name.value, parent)
        key = (name, getattr(target, "name", ""))
        cached = self.memo.get(key)
        if cached is None:
            self.active.add(name)
            try:
                cached = self.selection(fragment.selection_set, target, 0)
            finally:
                self.active.discard(name)
            self.memo[key] = cached
        # Depth inside a fragment is relative: shift it to where it is spread.
        return Measure(cached.cost, cached.depth + depth if cached.depth else 0, cached.aliases)

    def field(self, field: FieldNode, parent: Any, depth: int) -> Measure:
        name = field.name.value
        alias = 1 if field.alias is not None else 0
        if name.startswith("__") and field.selection_set is None:
            return Measure(0, 0, alias)
        fields = parent.fields if isinstance(
            parent, GraphQLObjectType | GraphQLInterfaceType) else {}
        definition = fields.get(name)
        child_type = get_named_type(definition.type) if definition is not None else None
        multiplier = self.page(field)
        if multiplier is None and child_type is not None and child_type.name.endswith(
                "Connection"):
            multiplier = self.default_page
        inner = self.selection(field.selection_set, child_type, depth + 1)
        return Measure(1 + (multiplier or 1) * inner.cost, max(depth + 1, inner.depth),
                       alias + inner.aliases)


def limit_extensions(settings: Settings) -> list[Callable[[], SchemaExtension]]:
    """Factories: strawberry builds fresh extension instances for every request."""
    limits = Limits(max_depth=settings.max_query_depth, max_aliases=settings.max_query_aliases,
                    max_cost=settings.max_query_cost, default_page=settings.default_page_size,
                    max_list=settings.max_list_input)
    return [
        lambda: MaxTokensLimiter(max_token_count=settings.max_query_tokens),
        lambda: QueryLimits(limits),
    ]
