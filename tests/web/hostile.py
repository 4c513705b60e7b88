"""Firing hostile GraphQL requests at a running OMEGraph server, and judging its answers.

Used by ``tests/web/test_hostile_input.py``. Everything goes over real HTTP: requests are
encoded here (so lone surrogates, raw bytes and odd content types reach the server exactly as
written), each answer is timed, and the judges below check that it is a clear refusal that
leaks nothing.

Run as a module, this file serves the real app on a fresh SQLite database (the same setup as
the ``live_server_url`` fixture) in a separate process: the "doomed" server that the tests
point the requests at that would freeze a server, so the shared live server survives them and
the process can be killed whatever state it is in.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import json
import os
import re
import socket
import string
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
from hypothesis import strategies as st

PROBE = "{ me { username } }"
PROBE_SECONDS = 2.0

# What must never appear in an answer (unless the request itself contained it: an echo of the
# client's own input is not a leak). Internals of Python, of the ORM and of the database.
LEAK_MARKERS = (
    "Traceback", 'File "', ".py", "site-packages", "SELECT", "INSERT INTO", "sqlite3",
    "psycopg", "sqlalchemy", "NoneType", "object has no attribute",
    "maximum recursion depth", "set_int_max_str_digits",
)
MASKED = "Unexpected error"  # the error policy's text for a crash: never a clear refusal

SNAPSHOT_QUERY = """
{
  projects(first: 1000, sort: {field: ID}) { totalCount nodes { id name description } }
  datasets(first: 1000, sort: {field: ID}) {
    totalCount nodes { id name description projects { id } }
  }
  annotations(first: 1000, sort: {field: ID}) {
    totalCount nodes { id kind description ... on TagAnnotation { text } }
  }
  groups { id name }
  experimenters { id username active }
}
"""


# -- sending ---------------------------------------------------------------------------------

@dataclass
class Reply:
    status: int
    headers: httpx2.Headers
    content: bytes
    elapsed: float
    sent: bytes  # the request line's target and body, to tell echoes from leaks

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    @property
    def is_json(self) -> bool:
        return self.headers.get("content-type", "").startswith("application/json")

    def json(self) -> Any:
        return json.loads(self.content)

    def __repr__(self) -> str:
        return f"<Reply {self.status} in {self.elapsed:.2f}s: {self.text[:500]!r}>"


def encode(payload: Any) -> bytes:
    """JSON as a careful client writes it: ASCII, so lone surrogates travel as '\\ud800'."""
    return json.dumps(payload, ensure_ascii=True, allow_nan=True).encode("ascii")


@functools.cache
def _client() -> httpx2.Client:
    """One client for the run (building one costs ~15 ms); every request on a new connection,
    so a server that drops one (as uvicorn does after a 500) cannot poison the next."""
    client = httpx2.Client(headers={"connection": "close"})
    atexit.register(client.close)
    return client


def fire(url: str, payload: Any = None, *, content: bytes | None = None, method: str = "POST",
         params: Mapping[str, str] | None = None, headers: Mapping[str, str] | None = None,
         token: str | None = None, timeout: float = 10.0) -> Reply:
    """One request, timed.

    ``payload`` is JSON-encoded here; ``content`` is sent as it is. A timeout raises
    ``httpx2.TimeoutException``.
    """
    all_headers = {"content-type": "application/json"} if (
        payload is not None or content is not None) else {}
    if token:
        all_headers["authorization"] = f"Bearer {token}"
    all_headers.update(headers or {})
    body = encode(payload) if payload is not None else content
    started = time.monotonic()
    client = _client()
    try:
        response = client.request(method, url, content=body, params=params,
                                  headers=all_headers, timeout=timeout)
    finally:
        client.cookies.clear()  # login sets a session cookie: credentials only as asked
    elapsed = time.monotonic() - started
    target = str(response.request.url).encode("utf-8", errors="replace")
    return Reply(response.status_code, response.headers, response.content, elapsed,
                 target + b"\n" + (body or b""))


def graphql(url: str, query: str, token: str | None = None, **variables: Any) -> Reply:
    return fire(url, {"query": query, "variables": variables}, token=token)


# -- judging ---------------------------------------------------------------------------------

def assert_no_leak(reply: Reply) -> None:
    assert reply.status != 500, reply
    sent = reply.sent.decode("utf-8", errors="replace")
    for marker in LEAK_MARKERS:
        if marker in reply.text and marker not in sent:
            raise AssertionError(f"the answer leaks {marker!r}: {reply!r}")


def error_list(reply: Reply) -> list[dict[str, Any]]:
    """The GraphQL errors of a JSON answer: a non-empty list, each with a message."""
    assert reply.is_json, f"not a JSON answer: {reply!r}"
    body = reply.json()
    assert isinstance(body, dict), reply
    errors = body.get("errors")
    assert isinstance(errors, list) and errors, f"no errors in {reply!r}"
    for error in errors:
        assert isinstance(error, dict), reply
        message = error.get("message")
        assert isinstance(message, str) and message.strip(), f"error without a message: {error}"
        assert MASKED not in message, f"the input crashed the server (masked): {reply!r}"
        assert not re.fullmatch(r"'[^']*'", message), f"a KeyError's text: {reply!r}"
        extensions = error.get("extensions")
        if extensions is not None:
            assert isinstance(extensions, dict), error
            code = extensions.get("code")
            assert code is None or (isinstance(code, str) and code.isupper()), error
    return errors


def assert_refused(reply: Reply, *codes: str) -> list[dict[str, Any]]:
    """A clear GraphQL refusal: JSON errors with messages, and one of ``codes`` if given."""
    assert_no_leak(reply)
    assert reply.status in (200, 400), reply
    errors = error_list(reply)
    if codes:
        found = [(e.get("extensions") or {}).get("code") for e in errors]
        assert set(found) & set(codes), f"expected a code in {codes}, got {found}: {reply!r}"
    return errors


def assert_typed_error(reply: Reply, mutation: str, code: str = "INVALID",
                       field: str | None = None) -> dict[str, Any]:
    """A mutation's typed error payload (ValidationError and friends), and no GraphQL errors."""
    assert_no_leak(reply)
    assert reply.status == 200 and reply.is_json, reply
    body = reply.json()
    assert not body.get("errors"), reply
    result: dict[str, Any] = body["data"][mutation]
    assert result["__typename"].endswith("Error"), reply
    assert result["code"] == code, reply
    assert result["message"], reply
    if field is not None:
        assert result["field"] == field, reply
    return result


def assert_answered_or_refused(reply: Reply) -> None:
    """Either a normal GraphQL answer or a clear refusal; never a crash or a leak."""
    assert_no_leak(reply)
    assert reply.status in (200, 400), reply
    assert reply.is_json, reply  # request-level refusals are JSON too (web/graphql.py)
    body = reply.json()
    assert isinstance(body, dict) and ("data" in body or "errors" in body), reply
    if body.get("errors"):
        error_list(reply)


def assert_http_refusal(reply: Reply) -> None:
    """A request the GraphQL layer never saw: a 4xx with a reason, never a crash or leak."""
    assert_no_leak(reply)
    assert 400 <= reply.status < 500, reply
    if reply.status != 405:
        assert reply.text.strip(), reply


# The codes of request-level refusals (web/graphql.py, web/body_limit.py), by HTTP status.
HTTP_CODES = {400: "BAD_REQUEST", 404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED",
              413: "REQUEST_TOO_LARGE", 415: "UNSUPPORTED_MEDIA_TYPE"}


def assert_json_refusal(reply: Reply, *codes: str) -> list[dict[str, Any]]:
    """What every refusal should be: a JSON body with ``errors[].message`` and a code.

    Without ``codes``, a request-level refusal must carry the code of its HTTP status
    (``HTTP_CODES``), or, for a 400, a GraphQL one (a document that does not parse, say).
    """
    assert_http_refusal(reply)
    errors = error_list(reply)
    found = {(e.get("extensions") or {}).get("code") for e in errors}
    assert None not in found, f"a refusal without extensions.code: {reply!r}"
    if codes:
        assert found & set(codes), f"expected a code in {codes}, got {found}: {reply!r}"
    elif reply.status != 400:
        assert found == {HTTP_CODES.get(reply.status)}, reply
    assert reply.json().get("data") is None, reply
    return errors


def assert_too_large(reply: Reply) -> None:
    """A body over the request-size limit (web/body_limit.py): 413, refused before parsing."""
    assert reply.status == 413, reply
    assert_json_refusal(reply, "REQUEST_TOO_LARGE")
    assert len(reply.content) < 1000, "the answer must not echo the input"


def assert_responsive(url: str, token: str, username: str = "root") -> None:
    try:
        reply = graphql(url, PROBE, token)
    except httpx2.TimeoutException as exc:  # pragma: no cover - the failure being reported
        raise AssertionError(f"the probe got no answer: {exc!r}") from exc
    assert reply.elapsed < PROBE_SECONDS, f"the probe took {reply.elapsed:.2f}s"
    assert reply.status == 200 and reply.json() == {"data": {"me": {"username": username}}}, \
        reply


def snapshot(url: str, token: str) -> dict[str, Any]:
    """What 'no data changed' compares: counts, ids and names of everything root can see."""
    reply = graphql(url, SNAPSHOT_QUERY, token)
    assert reply.status == 200, reply
    body = reply.json()
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


def login(url: str, username: str, password: str) -> str:
    reply = graphql(url, """
        mutation($u: String!, $p: String!) {
          login(username: $u, password: $p) {
            __typename ... on LoginPayload { token } ... on Error { code message }
          }
        }""", u=username, p=password)
    result = reply.json()["data"]["login"]
    assert result["__typename"] == "LoginPayload", result
    token: str = result["token"]
    return token


# -- hand-written hostile documents ------------------------------------------------------------

def nested_memberships(levels: int) -> str:
    """``me { memberships { group { memberships { group ... { name } } } } } }``."""
    inner = "name"
    for _ in range(levels):
        inner = f"memberships {{ group {{ {inner} }} }}"
    return f"{{ me {{ {inner} }} }}"


def aliases(count: int, field: str = "__typename") -> str:
    return "{ " + " ".join(f"a{i}: {field}" for i in range(count)) + " }"


def fragment_bomb(levels: int) -> str:
    """Each fragment spreads the one before twice: 2**levels copies of one field."""
    fragments = ["fragment F0 on Experimenter { username }"]
    fragments += [f"fragment F{i} on Experimenter {{ ...F{i - 1} ...F{i - 1} }}"
                  for i in range(1, levels + 1)]
    return f"{{ me {{ ...F{levels} }} }} " + " ".join(fragments)


def circular_bomb() -> str:
    """A fragment cycle in which every fragment spreads the next twice."""
    return ("{ me { ...A } } fragment A on Experimenter { username ...B ...B } "
            "fragment B on Experimenter { username ...A ...A }")


def fragment_chain(length: int) -> str:
    """F{n} spreads F{n-1} ... spreads F0: deep in fragments, one level deep in fields."""
    fragments = ["fragment F0 on Experimenter { username }"]
    fragments += [f"fragment F{i} on Experimenter {{ ...F{i - 1} }}" for i in range(1, length)]
    return f"{{ me {{ ...F{length - 1} }} }} " + " ".join(fragments)


def of_type_chain(levels: int) -> str:
    inner = "name kind"
    for _ in range(levels):
        inner = f"name kind ofType {{ {inner} }}"
    return f"{{ __schema {{ types {{ fields {{ type {{ {inner} }} }} }} }} }}"


def introspection_fan_out(levels: int) -> str:
    """``possibleTypes { interfaces { possibleTypes ...`` multiplies at every level."""
    inner = "name"
    for _ in range(levels):
        inner = f"name possibleTypes {{ name interfaces {{ {inner} }} }}"
    return f'{{ __type(name: "Node") {{ {inner} }} }}'


def nested_json(levels: int, leaf: str = "1") -> str:
    return "[" * levels + leaf + "]" * levels


# -- generated hostile documents and values ---------------------------------------------------

TYPE_REF = "kind name ofType { kind name ofType { kind name ofType { kind name } } }"
INTROSPECTION = f"""
{{ __schema {{
    queryType {{ name }}
    types {{
      name kind enumValues {{ name }} possibleTypes {{ name }}
      fields {{ name args {{ name type {{ {TYPE_REF} }} }} type {{ {TYPE_REF} }} }}
      inputFields {{ name type {{ {TYPE_REF} }} }}
    }}
    directives {{ name }}
}} }}
"""


@dataclass(frozen=True)
class Ref:
    """A type reference, flattened: its named type, and whether it is non-null or a list."""

    name: str
    non_null: bool
    is_list: bool


def _ref(type_: Mapping[str, Any]) -> Ref:
    non_null, is_list = type_["kind"] == "NON_NULL", False
    while type_.get("ofType") is not None:
        is_list = is_list or type_["kind"] == "LIST"
        type_ = type_["ofType"]
    return Ref(type_["name"], non_null, is_list)


@dataclass(frozen=True)
class FieldInfo:
    name: str
    type: str
    args: tuple[tuple[str, Ref], ...]


@dataclass(frozen=True, repr=False)
class Vocabulary:
    """The schema as a schema-aware attacker sees it: its names, and how they connect."""

    query_type: str
    kinds: Mapping[str, str]
    fields_of: Mapping[str, tuple[FieldInfo, ...]]
    possible: Mapping[str, tuple[str, ...]]
    inputs: Mapping[str, tuple[tuple[str, Ref], ...]]
    enums: Mapping[str, tuple[str, ...]]
    directives: tuple[str, ...]

    def __repr__(self) -> str:
        return f"<Vocabulary of {len(self.kinds)} types>"

    @property
    def types(self) -> tuple[str, ...]:
        return (*sorted(self.kinds), "Bogus")

    @property
    def fields(self) -> tuple[str, ...]:
        names = {f.name for fields in self.fields_of.values() for f in fields}
        return tuple(sorted(names | {"__typename", "__schema", "__type", "bogus"}))

    @property
    def arguments(self) -> tuple[str, ...]:
        names = {a for fields in self.fields_of.values() for f in fields for a, _ in f.args}
        return tuple(sorted(names | {"bogus"}))

    @property
    def input_fields(self) -> tuple[str, ...]:
        names = {name for fields in self.inputs.values() for name, _ in fields}
        return tuple(sorted(names | {"bogus"}))

    @property
    def enum_values(self) -> tuple[str, ...]:
        return tuple(sorted({v for values in self.enums.values() for v in values}))


def vocabulary(url: str, token: str) -> Vocabulary:
    reply = graphql(url, INTROSPECTION, token)
    schema = reply.json()["data"]["__schema"]
    types = schema["types"]
    return Vocabulary(
        query_type=schema["queryType"]["name"],
        kinds={t["name"]: t["kind"] for t in types},
        fields_of={t["name"]: tuple(
            FieldInfo(f["name"], _ref(f["type"]).name,
                      tuple((a["name"], _ref(a["type"])) for a in f["args"]))
            for f in t["fields"]) for t in types if t["fields"]},
        possible={t["name"]: tuple(p["name"] for p in t["possibleTypes"])
                  for t in types if t["possibleTypes"]},
        inputs={t["name"]: tuple((f["name"], _ref(f["type"])) for f in t["inputFields"])
                for t in types if t["inputFields"]},
        enums={t["name"]: tuple(v["name"] for v in t["enumValues"])
               for t in types if t["enumValues"]},
        directives=(*sorted(d["name"] for d in schema["directives"]), "bogus"),
    )


# Strings a hostile client likes: escapes, unicode trouble, injection-looking text.
NASTY_STRINGS = (
    "", " ", "Project:1", "Project:0", "Project:-1", "Image:9223372036854775808", "Bogus:1",
    "'; DROP TABLE project; --", "\" OR 1=1 --", "%s%s%n", "${jndi:ldap://x}", "../../etc/passwd",
    "\x00", "a\u0000b", "\u202eevil", "\u200d", "\ufeff", "\U0001F469\u200d\U0001F52C",
    "e\u0301", "\ud800", "\udfff\ud800", "\uffff", "\\", "\\u0000", "{", "}", "\"", "\n",
    "x" * 300, "9" * 40,
)
IDENTIFIER = st.text(string.ascii_letters + "_", min_size=1, max_size=1).flatmap(
    lambda first: st.text(string.ascii_letters + string.digits + "_", max_size=8).map(
        lambda rest: first + rest))


def json_values(keys: Sequence[str]) -> st.SearchStrategy[Any]:
    """Any JSON value a client can send, biased to the schema's input field names."""
    scalars = st.one_of(
        st.none(), st.booleans(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.sampled_from([0, 1, -1, 2**31 - 1, 2**31, -(2**31) - 1, 2**53 + 1, 2**63, 2**64]),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=12),
        st.sampled_from(NASTY_STRINGS),
    )
    key = st.one_of(st.sampled_from(tuple(keys)), st.text(max_size=6))
    return st.recursive(
        scalars,
        lambda inner: st.one_of(st.lists(inner, max_size=4),
                                st.dictionaries(key, inner, max_size=4)),
        max_leaves=12,
    )


def _graphql_string(text: str) -> str:
    # JSON's string syntax is GraphQL's, bar lone surrogates (which the lexer must refuse).
    return json.dumps(text, ensure_ascii=True)


@st.composite
def graphql_literals(draw: st.DrawFn, vocab: Vocabulary, depth: int = 2) -> str:
    choices = ["int", "float", "string", "bool", "null", "enum", "variable"]
    if depth > 0:
        choices += ["list", "object"]
    kind = draw(st.sampled_from(choices))
    if kind == "int":
        return str(draw(st.integers(min_value=-(2**70), max_value=2**70)))
    if kind == "float":
        return repr(draw(st.floats(allow_nan=False, allow_infinity=False)))
    if kind == "string":
        return _graphql_string(draw(st.one_of(st.text(max_size=10),
                                              st.sampled_from(NASTY_STRINGS))))
    if kind == "bool":
        return draw(st.sampled_from(["true", "false"]))
    if kind == "null":
        return "null"
    if kind == "enum":
        return draw(st.sampled_from(vocab.enum_values))
    if kind == "variable":
        return "$" + draw(st.sampled_from(["v0", "v1", "undeclared"]))
    items = draw(st.lists(graphql_literals(vocab, depth - 1), max_size=3))
    if kind == "list":
        return "[" + ", ".join(items) + "]"
    names = draw(st.lists(st.sampled_from(vocab.input_fields), min_size=len(items),
                          max_size=len(items)))
    return "{" + ", ".join(f"{n}: {v}" for n, v in zip(names, items, strict=True)) + "}"


@st.composite
def selections(draw: st.DrawFn, vocab: Vocabulary, depth: int,
               spreads: tuple[str, ...] = ()) -> str:
    """A selection set of any names at all: mostly invalid. Spreads only of ``spreads``."""
    items = []
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        kind = draw(st.sampled_from(["field", "field", "field", "inline", "spread"]))
        if kind == "inline" and depth > 0:
            condition = draw(st.sampled_from(vocab.types))
            inner = draw(selections(vocab, depth - 1, spreads))
            items.append(f"... on {condition} {{ {inner} }}")
            continue
        if kind == "spread" and spreads:
            items.append("..." + draw(st.sampled_from(spreads)))
            continue
        name = draw(st.sampled_from(vocab.fields))
        alias = draw(st.one_of(st.none(), IDENTIFIER))
        text = f"{alias}: {name}" if alias else name
        arguments = draw(st.lists(st.sampled_from(vocab.arguments), max_size=2))
        if arguments:
            values = [draw(graphql_literals(vocab)) for _ in arguments]
            text += "(" + ", ".join(f"{a}: {v}" for a, v in zip(arguments, values,
                                                                  strict=True)) + ")"
        if draw(st.integers(min_value=0, max_value=5)) == 0:
            directive = draw(st.sampled_from(vocab.directives))
            text += f" @{directive}(if: {draw(graphql_literals(vocab, depth=0))})"
        if depth > 0 and draw(st.booleans()):
            text += f" {{ {draw(selections(vocab, depth - 1, spreads))} }}"
        items.append(text)
    return " ".join(items)


SAMPLE_IDS = ("Project:1", "Dataset:1", "Image:1", "Annotation:1", "Experimenter:1", "Group:1",
              "Roi:1", "Shape:1", "Plate:1", "Project:999999")


@st.composite
def typed_literals(draw: st.DrawFn, vocab: Vocabulary, ref: Ref, depth: int = 2) -> str:
    """A literal for ``ref``: mostly of the right type and range, sometimes not at all."""
    if draw(st.integers(min_value=0, max_value=14)) == 0:
        return draw(graphql_literals(vocab, depth=1))
    if ref.is_list and draw(st.booleans()):
        item = Ref(ref.name, non_null=True, is_list=False)
        return "[" + ", ".join(draw(st.lists(typed_literals(vocab, item, depth), max_size=3))) + "]"
    kind = vocab.kinds.get(ref.name)
    if kind == "ENUM":
        return draw(st.sampled_from(vocab.enums[ref.name]))
    if kind == "INPUT_OBJECT":
        if depth <= 0:
            return "{}"
        parts = [f"{name}: {draw(typed_literals(vocab, field, depth - 1))}"
                 for name, field in vocab.inputs[ref.name]
                 if field.non_null or draw(st.integers(min_value=0, max_value=3)) == 0]
        return "{" + ", ".join(parts) + "}"
    if ref.name in ("Int", "Long"):
        return str(draw(st.one_of(st.integers(min_value=-2, max_value=30),
                                  st.sampled_from([2**31 - 1, 2**31, 2**63, -(2**63) - 1])))
                   )
    if ref.name == "Float":
        return repr(draw(st.floats(allow_nan=False, allow_infinity=False)))
    if ref.name == "Boolean":
        return draw(st.sampled_from(["true", "false"]))
    nasty = draw(st.integers(min_value=0, max_value=3)) == 0
    if ref.name == "ID":
        return _graphql_string(draw(st.sampled_from(NASTY_STRINGS if nasty else SAMPLE_IDS)))
    if ref.name == "DateTime":
        return _graphql_string(draw(st.sampled_from(
            ["2026-01-01T00:00:00Z", "1970-01-01T00:00:00+14:00", "2026-01-01T00:00:00",
             "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "yesterday"])))
    return _graphql_string(draw(st.sampled_from(NASTY_STRINGS) if nasty else st.text(max_size=10)))


@st.composite
def typed_selections(draw: st.DrawFn, vocab: Vocabulary, type_name: str, depth: int) -> str:
    """A selection set that follows the schema: mostly valid, so it reaches the resolvers."""
    items = ["__typename"]
    possible = vocab.possible.get(type_name, ())
    if possible and depth > 0 and draw(st.booleans()):
        condition = draw(st.sampled_from(possible))
        inner = draw(typed_selections(vocab, condition, depth - 1))
        items.append(f"... on {condition} {{ {inner} }}")
    fields = vocab.fields_of.get(type_name, ())
    if not fields:
        return " ".join(items)
    for field in draw(st.lists(st.sampled_from(fields), min_size=1, max_size=3,
                               unique_by=lambda f: f.name)):
        if draw(st.integers(min_value=0, max_value=29)) == 0:
            items.append(draw(selections(vocab, depth=min(depth, 1))))
            continue
        alias = draw(st.one_of(st.none(), IDENTIFIER)) if draw(st.booleans()) else None
        text = f"{alias}: {field.name}" if alias else field.name
        arguments = [f"{name}: {draw(typed_literals(vocab, ref))}" for name, ref in field.args
                     if ref.non_null or draw(st.integers(min_value=0, max_value=3)) == 0]
        if arguments:
            text += "(" + ", ".join(arguments) + ")"
        if draw(st.integers(min_value=0, max_value=9)) == 0:
            directive = draw(st.sampled_from(["include", "skip"]))
            text += f" @{directive}(if: {draw(st.sampled_from(['true', 'false']))})"
        if vocab.kinds.get(field.type) in ("OBJECT", "INTERFACE", "UNION"):
            inner = (draw(typed_selections(vocab, field.type, depth - 1)) if depth > 0
                     else "__typename")
            text += f" {{ {inner} }}"
        items.append(text)
    return " ".join(items)


@st.composite
def graphql_documents(draw: st.DrawFn, vocab: Vocabulary) -> str:
    """A read-only document from the schema's own names: sometimes valid, often not."""
    if draw(st.integers(min_value=0, max_value=2)):
        keyword = draw(st.sampled_from(["", "query", "query Q"]))
        document = f"{keyword} {{ {draw(typed_selections(vocab, vocab.query_type, 3))} }}"
    else:
        document = draw(wild_documents(vocab))
    if draw(st.integers(min_value=0, max_value=9)) == 0:
        # Token soup: cut the document somewhere, or splice in a stray character.
        at = draw(st.integers(min_value=0, max_value=len(document)))
        stray = draw(st.sampled_from(["", "{", "}", "(", "$", "@", "...", "\"", "#", "\u00a0",
                                      "\ufeff", "\x00", "\u2028"]))
        document = document[:at] + stray + document[at:][:draw(st.integers(0, 40))]
    return document


@st.composite
def wild_documents(draw: st.DrawFn, vocab: Vocabulary) -> str:
    variables = ""
    if draw(st.booleans()):
        definitions = []
        for name in draw(st.lists(st.sampled_from(["v0", "v1"]), max_size=2, unique=True)):
            type_ = draw(st.sampled_from(vocab.types)) + draw(st.sampled_from(["", "!"]))
            if draw(st.booleans()):
                type_ = f"[{type_}]"
            default = draw(st.one_of(st.none(), graphql_literals(vocab, depth=1)))
            definitions.append(f"${name}: {type_}" + (f" = {default}" if default else ""))
        variables = "(" + ", ".join(definitions) + ")" if definitions else ""
    keyword = draw(st.sampled_from(["", "query", "query Q", "subscription"]))
    if not keyword and variables:
        keyword = "query"
    # Spreads of fragments that exist, of one that does not, and (rarely) cycles: fragments
    # are priced memoised and cycle-safe now (schema/limits.py), so no spread freezes the
    # server (see test_hostile_input.py, "unknown-fragment" and "circular-bomb").
    names = tuple(f"F{i}" for i in range(draw(st.integers(min_value=0, max_value=2))))
    spreads = (*names, "Missing")
    operation = f"{keyword}{variables} {{ {draw(selections(vocab, 3, spreads))} }}"
    fragments = []
    for i, name in enumerate(names):
        condition = draw(st.sampled_from(vocab.types))
        cyclic = draw(st.integers(min_value=0, max_value=9)) == 0
        inner = draw(selections(vocab, 2, names if cyclic else names[:i]))
        fragments.append(f"fragment {name} on {condition} {{ {inner} }}")
    return " ".join([operation, *fragments])


# -- the doomed server -------------------------------------------------------------------------

DOOMED_PASSWORD = "doomed-server-password"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class DoomedServer:
    url: str  # .../graphql
    token: str


@contextlib.contextmanager
def doomed_server(workdir: Path, rootdir: Path) -> Iterator[DoomedServer]:
    """The real app on a fresh database in its own process, killed (SIGKILL) afterwards."""
    port = free_port()
    data_dir = workdir / "doomed-data"
    log_path = workdir / "doomed.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.web.hostile", str(data_dir), str(port)],
            cwd=rootdir, stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ))
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"the doomed server died: {log_path.read_text()}")
                with contextlib.suppress(httpx2.TransportError):
                    if _client().get(f"{base}/health", timeout=1).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError("the doomed server did not start")
                time.sleep(0.05)
            url = f"{base}/graphql"
            yield DoomedServer(url, login(url, "root", DOOMED_PASSWORD))
        finally:
            process.kill()
            process.wait(timeout=10)


def _serve(data_dir: str, port: str) -> None:
    import uvicorn

    from omegraph.app import create_app
    from omegraph.bootstrap import ensure_root
    from omegraph.settings import load_settings
    from store.db import create_db_engine, session_factory
    from store.migrate import upgrade

    settings = load_settings({}, data_dir=Path(data_dir), port=int(port))
    engine = create_db_engine(settings.db_url)
    upgrade(engine)
    with session_factory(engine)() as db:
        ensure_root(db, DOOMED_PASSWORD)
    uvicorn.run(create_app(settings, engine=engine), host="127.0.0.1", port=settings.port,
                log_level="warning", lifespan="on")


if __name__ == "__main__":
    _serve(*sys.argv[1:3])
