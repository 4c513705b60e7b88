"""The Schema object: types, limits, and the error policy (expected errors typed, others masked)."""

from __future__ import annotations

import logging
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaskErrors
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from omegraph.settings import Settings
from resolvers.errors import DomainError
from schema.annotations import ANNOTATION_TYPES
from schema.executor import FastExecutionContext
from schema.jobs import ImportFile, Job
from schema.limits import limit_extensions
from schema.mutations import Mutation
from schema.ome import Channel, Fileset, OriginalFile, Pixels, Shape, Well, WellSample
from schema.query import Query
from schema.scalars import SCALAR_MAP
from schema.subscriptions import Subscription

log = logging.getLogger("omegraph.graphql")


def _is_unexpected(error: GraphQLError) -> bool:
    original = error.original_error
    return original is not None and not isinstance(original, DomainError | GraphQLError)


# Rejections by graphql-core and strawberry's limiters carry no code; give them stable ones.
_LIMIT_CODES = (
    ("exceeds maximum operation depth", "QUERY_TOO_DEEP"),
    ("aliases found. Allowed", "TOO_MANY_ALIASES"),
    ("Document contains more than", "TOO_MANY_TOKENS"),
    ("Syntax Error", "GRAPHQL_PARSE_FAILED"),
    ("Validation aborted", "QUERY_TOO_COMPLEX"),
)


# graphql-core's bare refusals, said so a client knows what to change.
_REASONS = {
    "Validation aborted.": "the query is too complex to validate (it expands to too many "
                           "fields); use fewer fragments or fewer repeated fields",
}


def _with_code(error: GraphQLError) -> GraphQLError:
    if error.original_error is not None or (error.extensions or {}).get("code"):
        return error
    for fragment, code in _LIMIT_CODES:
        if fragment in error.message:
            message = _REASONS.get(error.message, error.message)
            return GraphQLError(message, error.nodes, error.source, error.positions,
                                error.path, None, extensions={**(error.extensions or {}),
                                                              "code": code})
    return error


class ErrorPolicy(MaskErrors):
    """Domain errors keep their message and gain ``extensions.code``; the rest are masked."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=_is_unexpected,
                         error_message="Unexpected error; it has been logged.")

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        processed = []
        for error in super()._process_errors(errors):
            original = error.original_error
            if isinstance(original, DomainError):
                error = GraphQLError(
                    original.message, error.nodes, error.source, error.positions, error.path,
                    original, extensions={"code": original.code.value, "field": original.field},
                )
            processed.append(_with_code(error))
        return processed


class OmeGraphSchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError],
                       execution_context: ExecutionContext | None = None) -> None:
        # Expected errors are the client's business; only unexpected ones are logged, with
        # their traceback, and never their variables (which may hold passwords).
        for error in errors:
            if _is_unexpected(error):
                log.error("unexpected error in %s", error.path, exc_info=error.original_error)


def build_schema(settings: Settings) -> strawberry.Schema:
    extra_types: list[Any] = [*ANNOTATION_TYPES, Channel, Fileset, ImportFile, Job, OriginalFile,
                              Pixels,
                              Shape, Well, WellSample]
    return OmeGraphSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=extra_types,
        extensions=[*limit_extensions(settings), ErrorPolicy],
        config=StrawberryConfig(scalar_map=SCALAR_MAP),
        execution_context_class=FastExecutionContext,
    )
