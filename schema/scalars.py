"""Custom scalars."""

from __future__ import annotations

from typing import NewType

import strawberry


def _parse_long(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError("Long must be an integer")
    number = int(value)
    if not -(2**63) <= number < 2**63:
        raise ValueError("Long is out of 64-bit range")
    return number


Long = strawberry.scalar(
    NewType("Long", int),
    serialize=int,
    parse_value=_parse_long,
    description="A signed 64-bit integer (GraphQL Int has only 32 bits).",
)
