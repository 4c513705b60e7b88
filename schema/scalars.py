"""Custom scalars, registered in the schema config's scalar_map."""

from __future__ import annotations

import base64
import binascii
from typing import Any, NewType

import strawberry
from graphql import GraphQLError, IntValueNode, StringValueNode, ValueNode

Long = NewType("Long", int)
Bytes = NewType("Bytes", bytes)


# GraphQLError, not ValueError: graphql-core then reports the value as invalid input instead
# of wrapping an exception that the error policy would mask as unexpected.
def _parse_long(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise GraphQLError("Long must be an integer")
    try:
        number = int(value)
    except ValueError:
        raise GraphQLError("Long must be an integer") from None
    if not -(2**63) <= number < 2**63:
        raise GraphQLError("Long is out of 64-bit range")
    return number


def _parse_long_literal(node: ValueNode, _variables: Any = None) -> int:
    if isinstance(node, IntValueNode | StringValueNode) and len(node.value) <= 20:
        return _parse_long(node.value)
    raise GraphQLError("Long must be an integer between -2^63 and 2^63-1")


def _parse_bytes(value: object) -> bytes:
    if not isinstance(value, str):
        raise GraphQLError("Bytes must be a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise GraphQLError("Bytes must be valid base64") from None


def _parse_bytes_literal(node: ValueNode, _variables: Any = None) -> bytes:
    if isinstance(node, StringValueNode):
        return _parse_bytes(node.value)
    raise GraphQLError("Bytes must be a base64 string")


SCALAR_MAP: dict[object, Any] = {
    Long: strawberry.scalar(
        name="Long",
        serialize=int,
        parse_value=_parse_long,
        parse_literal=_parse_long_literal,
        description="A signed 64-bit integer (GraphQL Int has only 32 bits).",
    ),
    Bytes: strawberry.scalar(
        name="Bytes",
        serialize=lambda value: base64.b64encode(value).decode("ascii"),
        parse_value=_parse_bytes,
        parse_literal=_parse_bytes_literal,
        description="Binary data as standard base64 (strictly checked).",
    ),
}
