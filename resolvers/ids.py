"""Readable global ids of the form ``Image:123``."""

from __future__ import annotations

from resolvers.errors import Invalid

# Primary keys are 64-bit (BIGINT on PostgreSQL) as in OMERO; larger ids cannot exist.
MAX_ID = 2**63 - 1


def format_id(kind: str, pk: int) -> str:
    return f"{kind}:{pk}"


def parse_id(value: str, field: str = "id",
             kinds: tuple[str, ...] | None = None) -> tuple[str, int]:
    """Split a global id; ``kinds`` restricts which types are acceptable for this argument."""
    kind, sep, number = str(value).partition(":")
    # isascii: str.isdigit() also accepts digits like "²" that int() rejects.
    if not sep or not kind or not (number.isascii() and number.isdigit()) or len(number) > 19:
        raise Invalid(f"{value!r} is not a global id like 'Image:123'", field)
    pk = int(number)
    if not 0 < pk <= MAX_ID:
        raise Invalid(f"{value!r} is out of range", field)
    if kinds is not None and kind not in kinds:
        raise Invalid(f"{value!r} is not of type {' or '.join(kinds)}", field)
    return kind, pk


def parse_typed_id(value: str, kind: str, field: str = "id") -> int:
    return parse_id(value, field, (kind,))[1]
