"""The fast leaf-field path gives exactly graphql-core's results, errors included."""

from __future__ import annotations

import asyncio
import enum
from typing import Any

import strawberry

from schema.executor import FastExecutionContext


@strawberry.enum
class Colour(enum.Enum):
    RED = "red"


class Row:
    def __init__(self, i: int) -> None:
        self.name = f"row {i}"
        self.size = i
        self.maybe: str | None = None if i % 2 else "set"
        self.broken: Any = None if i == 3 else "fine"  # declared non-null below
        self.colour = Colour.RED
        self.ratio = "not a number" if i == 4 else 0.5


@strawberry.type
class Item:
    name: str
    size: int
    maybe: str | None
    broken: str
    colour: Colour
    ratio: float

    @strawberry.field
    def doubled(self, root: strawberry.Parent[Any]) -> int:
        return int(root.size) * 2


@strawberry.type
class Query:
    @strawberry.field
    def items(self) -> list[Item | None]:
        return [Row(i) for i in range(6)]  # type: ignore[misc]


QUERY = "{ items { name size maybe alias: name colour doubled ratio broken } }"


def _run(**kwargs: Any) -> Any:
    result = asyncio.run(strawberry.Schema(Query, **kwargs).execute(QUERY))
    errors = sorted((e.message, tuple(e.path or ())) for e in result.errors or [])
    return result.data, errors


def test_fast_path_matches_graphql_core() -> None:
    fast = _run(execution_context_class=FastExecutionContext)
    plain = _run()
    assert fast == plain
    data, errors = fast
    # The non-null violation (item 3) and the bad float (item 4) null their items, as usual.
    assert data["items"][3] is None
    assert data["items"][4] is None
    assert data["items"][1] == {"name": "row 1", "size": 1, "maybe": None, "alias": "row 1",
                                "colour": "RED", "doubled": 2, "ratio": 0.5, "broken": "fine"}
    assert [path for _, path in errors] == [("items", 3, "broken"), ("items", 4, "ratio")]
