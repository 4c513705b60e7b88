"""Custom scalars, registered in the schema config's scalar_map."""

from __future__ import annotations

from typing import Any, NewType

import strawberry

Long = NewType("Long", int)


def _parse_long(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError("Long must be an integer")
    number = int(value)
    if not -(2**63) <= number < 2**63:
        raise ValueError("Long is out of 64-bit range")
    return number


SCALAR_MAP: dict[object, Any] = {
    Long: strawberry.scalar(
        name="Long",
        serialize=int,
        parse_value=_parse_long,
        description="A signed 64-bit integer (GraphQL Int has only 32 bits).",
    ),
}
