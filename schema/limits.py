"""Query limits: depth, tokens and aliases (strawberry's), plus a cost rule with page multipliers.

Cost: every field costs 1; a connection or list field with ``first``/``last`` multiplies the
cost of everything below it by that page size (the default page size when not given).
Variables are known here, so ``first: $n`` is priced at its real value.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
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
from strawberry.extensions import (
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)

from omegraph.settings import Settings

PAGE_ARGS = ("first", "last")


class QueryCost(SchemaExtension):
    def __init__(self, max_cost: int, default_page: int) -> None:
        self.max_cost = max_cost
        self.default_page = default_page

    def on_operation(self) -> Iterator[None]:
        variables = self.execution_context.variables or {}
        self.execution_context.validation_rules = (
            *self.execution_context.validation_rules,
            _cost_rule(self.max_cost, self.default_page, variables),
        )
        yield


def _cost_rule(max_cost: int, default_page: int, variables: Mapping[str, Any]) -> type:
    class CostRule(ValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
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
            pricer = _Pricer(schema.type_map, fragments, variables, default_page)
            cost = pricer.selection(node.selection_set, root, depth=0)
            if cost > max_cost:
                self.report_error(GraphQLError(
                    f"query cost {cost} exceeds the limit of {max_cost}; request smaller pages "
                    "or fewer fields",
                    node, extensions={"code": "QUERY_TOO_COSTLY", "cost": cost,
                                      "limit": max_cost},
                ))

    return CostRule


class _Pricer:
    def __init__(self, type_map: Mapping[str, Any],
                 fragments: Mapping[str, FragmentDefinitionNode],
                 variables: Mapping[str, Any], default_page: int) -> None:
        self.type_map = type_map
        self.fragments = fragments
        self.variables = variables
        self.default_page = default_page

    def page(self, field: FieldNode) -> int | None:
        for argument in field.arguments or ():
            if argument.name.value not in PAGE_ARGS:
                continue
            value = argument.value
            if isinstance(value, IntValueNode):
                return max(int(value.value), 1)
            if isinstance(value, VariableNode):
                given = self.variables.get(value.name.value)
                return max(int(given), 1) if isinstance(given, int) else self.default_page
        return None

    def selection(self, selection_set: SelectionSetNode | None, parent: Any, depth: int) -> int:
        if selection_set is None or parent is None or depth > 64:
            return 0
        total = 0
        for item in selection_set.selections:
            if isinstance(item, FieldNode):
                total += self.field(item, parent, depth)
            elif isinstance(item, InlineFragmentNode):
                target = parent
                if item.type_condition is not None:
                    target = self.type_map.get(item.type_condition.name.value, parent)
                total += self.selection(item.selection_set, target, depth + 1)
            elif isinstance(item, FragmentSpreadNode):
                fragment = self.fragments.get(item.name.value)
                if fragment is not None:
                    target = self.type_map.get(fragment.type_condition.name.value, parent)
                    total += self.selection(fragment.selection_set, target, depth + 1)
        return total

    def field(self, field: FieldNode, parent: Any, depth: int) -> int:
        name = field.name.value
        if name.startswith("__"):
            return 0
        fields = parent.fields if isinstance(
            parent, GraphQLObjectType | GraphQLInterfaceType) else {}
        definition = fields.get(name)
        child_type = get_named_type(definition.type) if definition is not None else None
        multiplier = self.page(field)
        if multiplier is None and child_type is not None and child_type.name.endswith(
                "Connection"):
            multiplier = self.default_page
        inner = self.selection(field.selection_set, child_type, depth + 1)
        return 1 + (multiplier or 1) * inner


def limit_extensions(settings: Settings) -> list[Callable[[], SchemaExtension]]:
    """Factories: strawberry builds fresh extension instances for every request."""
    return [
        lambda: QueryDepthLimiter(max_depth=settings.max_query_depth),
        lambda: MaxTokensLimiter(max_token_count=settings.max_query_tokens),
        lambda: MaxAliasesLimiter(max_alias_count=settings.max_query_aliases),
        lambda: QueryCost(settings.max_query_cost, settings.default_page_size),
    ]
