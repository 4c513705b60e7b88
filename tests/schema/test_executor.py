"""The fast paths give exactly graphql-core's results: data (key order included), null
propagation, and errors (messages, paths, locations, order)."""

from __future__ import annotations

import asyncio
import enum
import json
from typing import Annotated, Any

import pytest
import strawberry
from graphql.execution import Executor
from sqlalchemy.orm import Session
from strawberry.scalars import JSON

from schema.base import computed, loaded
from schema.executor import FastExecutionContext
from tests.graphql_client import GraphQLClient
from tests.world import World

# --------------------------------------------------------------------------- a toy schema


@strawberry.enum
class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Row:
    """A plain object standing for an ORM row."""

    def __init__(self, i: int, kind: str = "widget", **extra: Any) -> None:
        self.i = i
        self.kind = kind
        self.name = f"row {i}"
        self.size = i
        self.maybe: str | None = None if i % 2 else "set"
        self.broken: Any = "fine"  # declared non-null
        self.colour: Any = Colour.RED if i % 2 else Colour.BLUE
        self.ratio: Any = 0.5
        self.meta: Any = {"i": i}
        self.parts: Any = [Part(i, k) for k in range(2)]
        self.child: Any = None if i % 3 == 0 else Part(i, 9)
        self.load_key = i
        for key, value in extra.items():
            setattr(self, key, value)


class Part:
    def __init__(self, i: int, k: int) -> None:
        self.label = f"part {i}.{k}"
        self.weight: Any = float(k)
        self.code: Any = k


class Context:
    def __init__(self, loaded: dict[int, Any]) -> None:
        self.loaded = loaded


@strawberry.type
class PartType:
    label: str
    weight: float | None
    code: int

    @computed
    def twice(self, root: strawberry.Parent[Any]) -> int:
        return int(root.code) * 2


@strawberry.interface
class Thing:
    name: str

    @classmethod
    def resolve_type(cls, obj: Any, _info: Any, _type: Any) -> Any:
        return {"widget": "Widget", "gadget": "Gadget"}.get(obj.kind, obj.kind)


@strawberry.interface
class Named:  # strawberry's own resolve_type (reads the Info): never on the fast path
    name: str


@strawberry.type
class Widget(Thing, Named):
    size: int
    maybe: str | None
    broken: str
    colour: Colour
    ratio: float
    meta: JSON | None
    parts: list[PartType]
    child: PartType | None

    @classmethod
    def is_type_of(cls, obj: Any, _info: Any) -> bool:
        return isinstance(obj, Row) and obj.kind in ("widget", "impostor")

    @computed
    def doubled(self, root: strawberry.Parent[Any]) -> int:
        return int(root.size) * 2

    @computed
    def risky(self, root: strawberry.Parent[Any]) -> str | None:
        if root.i == 5:
            raise ValueError("risky failed")
        return "ok"

    @loaded
    def extra(self, root: strawberry.Parent[Any], info: strawberry.Info) -> PartType | None:
        return info.context.loaded.get(root.load_key)

    @strawberry.field
    def greet(self, root: strawberry.Parent[Any], word: str = "hi") -> str:
        return f"{word} {root.name}"

    @strawberry.field
    async def later(self, root: strawberry.Parent[Any]) -> list[PartType]:
        await asyncio.sleep(0)
        return list(root.parts)


@strawberry.type
class Gadget(Thing, Named):
    colour: Colour

    @classmethod
    def is_type_of(cls, obj: Any, _info: Any) -> bool:
        return isinstance(obj, Row) and obj.kind == "gadget"


@strawberry.type
class Query:
    rows: strawberry.Private[list[Any]]

    @strawberry.field
    def widgets(self) -> list[Widget | None]:
        return self.rows  # type: ignore[return-value]

    @strawberry.field
    def strict_widgets(self) -> list[Widget] | None:
        return self.rows  # type: ignore[return-value]

    @strawberry.field
    async def async_widgets(self) -> list[Widget]:
        return self.rows  # type: ignore[return-value]

    @strawberry.field
    def things(self) -> list[Thing | None]:
        return self.rows  # type: ignore[return-value]

    @strawberry.field
    def named(self) -> list[Named | None]:
        return self.rows  # type: ignore[return-value]

    @strawberry.field
    def either(self) -> list[Annotated[Widget | Gadget, strawberry.union("Either")] | None]:
        return self.rows  # type: ignore[return-value]

    @strawberry.field
    def awaitable_items(self) -> list[Widget | None]:
        async def item(row: Any) -> Any:
            await asyncio.sleep(0)
            return row
        return [item(row) for row in self.rows]  # type: ignore[misc]


SCHEMAS = {
    "fast": strawberry.Schema(Query, types=[Widget, Gadget],
                              execution_context_class=FastExecutionContext),
    "stock": strawberry.Schema(Query, types=[Widget, Gadget]),
}

FIELDS = """
  name size maybe alias: name colour doubled ratio broken __typename risky meta
  parts { label weight code twice __typename }
  child { ...PartFields }
  extra { label code }
"""
PART_FRAGMENT = "fragment PartFields on PartType { label w: weight code }"


def _rows(**tweaks: dict[str, Any]) -> list[Any]:
    """Six rows, row i changed by tweaks[str(i)]."""
    return [Row(i, **tweaks.get(str(i), {})) for i in range(6)]


def _run(name: str, query: str, rows: list[Any], loaded: dict[int, Any] | None = None,
         **variables: Any) -> tuple[str, list[Any]]:
    async def go() -> Any:
        context = Context(dict(loaded or {}))
        return await SCHEMAS[name].execute(query, root_value=Query(rows=rows),
                                           context_value=context, variable_values=variables)

    result = asyncio.run(go())
    errors = [error.formatted for error in result.errors or []]
    return json.dumps(result.data), errors


def assert_same(query: str, rows: Any, loaded: dict[int, Any] | None = None,
                **variables: Any) -> tuple[Any, list[Any]]:
    """Fast and stock executions agree exactly; returns the data and errors."""
    fast = _run("fast", query, rows() if callable(rows) else rows, loaded, **variables)
    stock = _run("stock", query, rows() if callable(rows) else rows, loaded, **variables)
    assert fast == stock
    return json.loads(fast[0]), fast[1]


CASES: dict[str, tuple[str, Any]] = {
    "plain": ("{ widgets {" + FIELDS + "} }" + PART_FRAGMENT, _rows),
    "non-null list items": ("{ strictWidgets {" + FIELDS + "} }" + PART_FRAGMENT, _rows),
    "async list": ("{ asyncWidgets {" + FIELDS + "} }" + PART_FRAGMENT, _rows),
    "awaitable items": ("{ awaitableItems { name parts { label } } }", _rows),
    "non-null violation in a list item": (
        "{ widgets { name broken } }", lambda: _rows(**{"3": {"broken": None}})),
    "non-null violation deep, propagating to the root": (
        "{ strictWidgets { name parts { label code } } }",
        lambda: _rows(**{"2": {"parts": [Part(2, 0), None]}})),
    "bad float and bad enum": (
        "{ widgets { ratio colour } }",
        lambda: _rows(**{"1": {"ratio": "nan?"}, "4": {"colour": "GREEN"}})),
    "int out of range": ("{ widgets { child { code } } }",
                         lambda: _rows(**{"1": {"child": _part(code=2**40)}})),
    "error raised by a computed field": ("{ widgets { name risky } }", _rows),
    "exception returned as a value": (
        "{ widgets { name parts { label } } }",
        lambda: _rows(**{"2": {"parts": ValueError("boom")}})),
    "awaitable leaf values": (
        "{ widgets { name meta maybe } }",
        lambda: _rows(**{"2": {"meta": _later({"x": 1}), "maybe": _later("late")}})),
    "not a list": ("{ widgets { parts { label } } }",
                   lambda: _rows(**{"1": {"parts": "not a list"}})),
    "wrong object for the type": ("{ widgets { name } }",
                                  lambda: [*_rows()[:2], Part(0, 0), *_rows()[3:]]),
    "interface with its own resolve_type": (
        "{ things { __typename name ... on Widget { size parts { label } } "
        "... on Gadget { colour } } }",
        lambda: _rows(**{"1": {"kind": "gadget"}, "3": {"kind": "gadget"}})),
    "interface resolving to an unknown or unrelated type": (
        "{ things { __typename name } }",
        lambda: _rows(**{"1": {"kind": "Nothing"}, "2": {"kind": "PartType"},
                         "4": {"kind": None}})),
    "interface resolving to a type that refuses the value": (
        "{ things { name } }", lambda: _rows(**{"2": {"kind": "impostor"}})),
    "strawberry's resolve_type": (
        "{ named { __typename name ... on Widget { size } } }",
        lambda: _rows(**{"1": {"kind": "gadget"}})),
    "union": ("{ either { __typename ... on Widget { name size } ... on Gadget { colour } } }",
              lambda: _rows(**{"0": {"kind": "gadget"}})),
    "arguments and async fields inside": (
        "{ widgets { greet(word: \"yo\") g2: greet later { label twice } } }", _rows),
    "aliases, merged fields and fragments": (
        "query { widgets { ...A ... on Widget { parts { code } n: name } name } } "
        "fragment A on Widget { parts { label } n: name child { label } child { code } }",
        _rows),
}


def _part(**attrs: Any) -> Part:
    part = Part(0, 0)
    part.__dict__.update(attrs)
    return part


def _later(value: Any) -> Any:
    future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().call_soon(future.set_result, value)
    return future


@pytest.mark.parametrize("case", sorted(CASES))
def test_fast_path_matches_graphql_core(case: str) -> None:
    query, rows = CASES[case]
    if case == "awaitable leaf values":
        _same_with_loop(query, rows)
        return
    assert_same(query, rows)


def _same_with_loop(query: str, rows: Any) -> None:
    """For rows holding futures: build them inside each execution's event loop."""
    results = []
    for name in ("fast", "stock"):
        async def go(name: str = name) -> Any:
            return await SCHEMAS[name].execute(query, root_value=Query(rows=rows()),
                                               context_value=Context({}))
        result = asyncio.run(go())
        results.append((json.dumps(result.data),
                        [error.formatted for error in result.errors or []]))
    assert results[0] == results[1]


def test_skip_and_include() -> None:
    query = ("query($a: Boolean!, $b: Boolean!) { widgets { name @skip(if: $a) "
             "parts @include(if: $b) { label } size } }")
    for a in (True, False):
        for b in (True, False):
            assert_same(query, _rows, a=a, b=b)


def test_loaded_fields_ready_pending_and_failed() -> None:
    query = "{ widgets { name extra { label code } } }"

    def loaded() -> dict[int, Any]:
        loop = asyncio.get_running_loop()
        failed = loop.create_future()
        failed.set_exception(ValueError("load failed"))
        return {0: _part(label="ready", code=1), 2: _later(_part(label="pending", code=2)),
                3: failed, 4: _part(label="bad", code="x")}

    results = []
    for name in ("fast", "stock"):
        async def go(name: str = name) -> Any:
            return await SCHEMAS[name].execute(query, root_value=Query(rows=_rows()),
                                               context_value=Context(loaded()))
        result = asyncio.run(go())
        results.append((json.dumps(result.data),
                        [error.formatted for error in result.errors or []]))
    assert results[0] == results[1]
    data = json.loads(results[0][0])
    assert data["widgets"][0]["extra"] == {"label": "ready", "code": 1}
    assert data["widgets"][2]["extra"] == {"label": "pending", "code": 2}
    assert data["widgets"][3]["extra"] is None and data["widgets"][4]["extra"] is None
    assert sorted(e["path"] for e in results[0][1]) == [["widgets", 3, "extra"],
                                                        ["widgets", 4, "extra", "code"]]


def test_the_expected_nulls_and_errors() -> None:
    """A check of the comparison itself: these cases do produce errors and nulls."""
    data, errors = assert_same(*CASES["non-null violation in a list item"])
    assert data["widgets"][3] is None
    assert [e["path"] for e in errors] == [["widgets", 3, "broken"]]
    assert errors[0]["locations"] == [{"line": 1, "column": 18}]
    data, errors = assert_same(*CASES["non-null violation deep, propagating to the root"])
    assert data == {"strictWidgets": None}
    assert [e["path"] for e in errors] == [["strictWidgets", 2, "parts", 1]]
    data, _ = assert_same(*CASES["plain"])
    assert data["widgets"][1] == {
        "name": "row 1", "size": 1, "maybe": None, "alias": "row 1", "colour": "RED",
        "doubled": 2, "ratio": 0.5, "broken": "fine", "__typename": "Widget", "risky": "ok",
        "meta": {"i": 1},
        "parts": [{"label": "part 1.0", "weight": 0.0, "code": 0, "twice": 0,
                   "__typename": "PartType"},
                  {"label": "part 1.1", "weight": 1.0, "code": 1, "twice": 2,
                   "__typename": "PartType"}],
        "child": {"label": "part 1.9", "w": 9.0, "code": 9}, "extra": None,
    }


def test_a_plain_list_completes_without_graphql_core_per_field(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The point of it all: a plain page does not go through execute_field per object."""
    calls = []
    real = Executor.execute_field

    def counting(self: Any, *args: Any) -> Any:
        calls.append(args[2][0].node.name.value)
        return real(self, *args)

    monkeypatch.setattr(Executor, "execute_field", counting)
    _run("fast", "{ widgets {" + FIELDS.replace("risky", "") + "} }" + PART_FRAGMENT,
         [Row(i) for i in range(50)])
    assert calls == ["widgets"]


def test_disabled_is_graphql_core(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(FastExecutionContext, "enabled", False)
    calls = []
    real = Executor.execute_field

    def counting(self: Any, *args: Any) -> Any:
        calls.append(1)
        return real(self, *args)

    monkeypatch.setattr(Executor, "execute_field", counting)
    _run("fast", "{ widgets { name } }", _rows())
    assert len(calls) == 7


# --------------------------------------------------------------------------- the real schema

REAL_QUERIES = {
    "page": """
query($n: Int) {
  images(first: $n) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { cursor node { id name } }
    nodes {
      id dbId name description acquisitionDate series created updated __typename
      permissions { canAnnotate canEdit }
      owner { id username } group { name }
      pixels {
        id sizeX sizeY pixelType physicalSizeX { value unit } physicalSizeZ { value unit }
        channels { id index name color excitationWavelength { value unit } }
      }
      datasets { id name projects { id name } }
      annotations {
        __typename id namespace kind
        ... on TagAnnotation { text }
        ... on MapAnnotation { pairs { key value } }
      }
    }
  }
}""",
    "errors": """
query($n: Int) {
  images(first: $n) { nodes { name } }
  bad: images(first: -1) { nodes { name } }
  projects(first: $n) { nodes { name datasets { name images(first: 2) { nodes { id } } } } }
}""",
}


@pytest.mark.parametrize("name", sorted(REAL_QUERIES))
def test_real_schema_matches_graphql_core(api: GraphQLClient, world: World, db: Session,
                                          monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    from tests.schema.test_dataloaders import _arrange

    lab = world.group("lab", "rwra--")
    alice = world.user("alice", lab)
    token = world.token(alice)
    _arrange(db, alice, lab, 12)
    fast = api.execute(REAL_QUERIES[name], token, n=10)
    monkeypatch.setattr(FastExecutionContext, "enabled", False)
    stock = api.execute(REAL_QUERIES[name], token, n=10)
    assert json.dumps(fast) == json.dumps(stock)
    if name == "page":
        nodes = fast["data"]["images"]["nodes"]
        assert len(nodes) == 10
        assert [p["key"] for p in nodes[0]["annotations"][1]["pairs"]] == [
            "gene", "cell line", "stain"]
    else:
        assert fast["errors"]
