"""Hostile GraphQL over real HTTP: the running server refuses clearly, leaks nothing, stays up.

Every request goes to a real uvicorn serving the real app (``live_server_url``). For every case
the answer must be a clear refusal (JSON ``errors[].message``, with ``extensions.code`` where
the server gives one, or a mutation's typed error), never a 500, never a traceback, file path
or SQL text; right after it a ``{ me { username } }`` probe must answer within 2 s; and the
data root can see (projects, datasets, annotations, groups, users) must not change.

Requests that used to freeze the server are fired at a "doomed" server instead: the same app in a
separate process (``tests/web/hostile.py``), killed after the test, so the shared live server
survives them (they are answered fast since schema/limits.py prices fragments memoised and
cycle-safe, but a regression would freeze the server again). Known bugs are marked
``xfail(strict=True)`` with the reproducer in the reason, so that they flip to failures (and get
their mark removed) once fixed.

Requests refused before GraphQL sees them (a body over the size limit: 413; a body that is not
UTF-8 JSON of an object or array, or holds a lone surrogate: 400) must be JSON refusals with a
code too (``assert_json_refusal``).

Hand-written cases go further than ``tests/schema/test_bad_input.py`` (which runs in-process);
hypothesis adds generated documents and variable values, derandomised so CI is repeatable.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.web.hostile import (
    PROBE_SECONDS,
    Reply,
    Vocabulary,
    aliases,
    assert_answered_or_refused,
    assert_json_refusal,
    assert_no_leak,
    assert_refused,
    assert_responsive,
    assert_too_large,
    assert_typed_error,
    circular_bomb,
    doomed_server,
    encode,
    error_list,
    fire,
    fragment_bomb,
    fragment_chain,
    graphql,
    graphql_documents,
    introspection_fan_out,
    json_values,
    login,
    nested_json,
    nested_memberships,
    of_type_chain,
    snapshot,
    vocabulary,
)

ME = "{ me { username } }"
ERROR = "__typename ... on Error { code message field }"
TEN_MB = 10_000_000
THREE_MB = 3_000_000  # under web/body_limit.py's 4,000,000-byte limit, with the rest of the body
ONE_MB = 1_000_000
HUNDRED_K = 100_000

# Generated cases are derandomised (the same examples on every run, no example database) and
# bounded so the whole module stays well under a minute. The autouse ``unchanged`` fixture is
# function-scoped on purpose: it compares the data before and after the whole test, around all
# its examples; each example does its own per-request checks. So its health check is moot.
GENERATED = settings(max_examples=250, derandomize=True, database=None, deadline=None,
                     print_blob=False,
                     suppress_health_check=[HealthCheck.function_scoped_fixture])


# -- fixtures -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def url(live_server_url: str) -> str:
    return f"{live_server_url}/graphql"


@pytest.fixture(scope="module")
def token(url: str, admin_credentials: tuple[str, str]) -> str:
    return login(url, *admin_credentials)


@pytest.fixture(scope="module")
def seed(url: str, token: str) -> dict[str, str]:
    """A project holding a dataset, tagged: something for hostile requests to aim at."""
    def mutate(query: str, name: str, **variables: Any) -> dict[str, Any]:
        reply = graphql(url, query, token, **variables)
        result: dict[str, Any] = reply.json()["data"][name]
        assert not result["__typename"].endswith("Error"), result
        return result

    project = mutate('mutation { createProject(input: {name: "Hostile target"}) '
                     "{ __typename ... on ProjectPayload { project { id } } } }",
                     "createProject")["project"]["id"]
    dataset = mutate('mutation { createDataset(input: {name: "Hostile dataset"}) '
                     "{ __typename ... on DatasetPayload { dataset { id } } } }",
                     "createDataset")["dataset"]["id"]
    mutate("mutation($p: ID!, $d: ID!) { link(parent: $p, child: $d) { __typename } }", "link",
           p=project, d=dataset)
    tag = mutate('mutation($t: [ID!]!) { annotate(input: {kind: TAG, text: "hostile-tag"}, '
                 "targets: $t) { __typename ... on AnnotationPayload { annotation { id } } } }",
                 "annotate", t=[project])["annotation"]["id"]
    return {"project": project, "dataset": dataset, "tag": tag}


@pytest.fixture(autouse=True)
def unchanged(url: str, token: str, seed: dict[str, str]) -> Iterator[None]:
    """Nothing a test sends may change the data; the server must still answer afterwards."""
    before = snapshot(url, token)
    yield
    assert_responsive(url, token)
    assert snapshot(url, token) == before


@pytest.fixture(scope="module")
def vocab(url: str, token: str) -> Vocabulary:
    return vocabulary(url, token)


def outcome(reply: Reply) -> str:
    """A coarse label of an answer, for hypothesis' statistics (--hypothesis-show-statistics)."""
    if not reply.is_json:
        return f"HTTP {reply.status}"
    body = reply.json()
    codes = sorted({str((e.get("extensions") or {}).get("code")) for e in body.get("errors", [])})
    return f"HTTP {reply.status}, data: {body.get('data') is not None}, codes: {codes}"


def fill(value: Any, seed: dict[str, str]) -> Any:
    """Replace the placeholders '{project}', '{dataset}' and '{tag}' with the seed's ids."""
    if isinstance(value, str) and value.startswith("{") and value.strip("{}") in seed:
        return seed[value.strip("{}")]
    if isinstance(value, list):
        return [fill(item, seed) for item in value]
    if isinstance(value, dict):
        return {key: fill(item, seed) for key, item in value.items()}
    return value


def refused_fast(url: str, token: str, reply: Reply, *codes: str) -> list[dict[str, Any]]:
    errors = assert_refused(reply, *codes)
    assert reply.elapsed < PROBE_SECONDS, reply
    assert_responsive(url, token)
    return errors


# -- the shape of the document: nesting, aliases, fragments, introspection ---------------------

def _spread_aliases(count: int) -> str:
    """Aliases hidden in two fragments, none in the operation itself."""
    half = count // 2
    a = " ".join(f"a{i}: username" for i in range(half))
    b = " ".join(f"b{i}: username" for i in range(count - half))
    return ("{ me { ...A ...B } } "
            f"fragment A on Experimenter {{ {a} }} fragment B on Experimenter {{ {b} }}")


def _deep_in_fragments(levels: int) -> str:
    """Depth built from fragments, each adding one level of memberships/group."""
    fragments = ["fragment G0 on Group { name }"]
    fragments += [f"fragment G{i} on Group {{ memberships {{ group {{ ...G{i - 1} }} }} }}"
                  for i in range(1, levels + 1)]
    return f"{{ me {{ memberships {{ group {{ ...G{levels} }} }} }} }} " + " ".join(fragments)


SCHEMA_DUMP = "__schema { types { name fields { name type { name } } } }"

REFUSED_SHAPES = [
    pytest.param(nested_memberships(30), ["QUERY_TOO_DEEP"], id="nesting-30"),
    pytest.param(nested_memberships(300), ["GRAPHQL_PARSE_FAILED", "QUERY_TOO_DEEP"],
                 id="nesting-300"),
    pytest.param(_deep_in_fragments(40), ["QUERY_TOO_DEEP"], id="nesting-by-fragments"),
    pytest.param("{ " + "... on Query { " * 300 + ME + " }" * 300 + " }",
                 ["GRAPHQL_PARSE_FAILED"], id="inline-fragments-300"),
    pytest.param("{ nodes(ids: " + nested_json(300, '"Project:1"') + ") { id } }",
                 ["GRAPHQL_PARSE_FAILED"], id="list-literal-300"),
    pytest.param("{ projects(filter: " + "{a: " * 300 + "1" + "}" * 300 + ") { totalCount } }",
                 ["GRAPHQL_PARSE_FAILED"], id="object-literal-300"),
    pytest.param(aliases(1000), ["TOO_MANY_ALIASES"], id="aliases-1000"),
    pytest.param(aliases(5000, "me { username }"), ["TOO_MANY_TOKENS"], id="aliases-5000"),
    pytest.param(_spread_aliases(60), ["TOO_MANY_ALIASES"], id="aliases-in-fragments"),
    pytest.param(aliases(200, SCHEMA_DUMP), ["TOO_MANY_ALIASES"], id="aliased-schema-200"),
    pytest.param("{ " + " ".join([SCHEMA_DUMP] * 400) + " }", ["TOO_MANY_TOKENS"],
                 id="repeated-schema-400"),
    pytest.param("{ me { ...F } } fragment F on Experimenter { "
                 + " ".join(["username"] * 5000) + " }", ["TOO_MANY_TOKENS"],
                 id="huge-fragment"),
    pytest.param("{ me { " + " ".join(["...F"] * 2500) + " } } "
                 "fragment F on Experimenter { username }", ["TOO_MANY_TOKENS"],
                 id="spreads-2500"),
    pytest.param("{ me { ...Missing } }", [], id="unknown-fragment"),
    pytest.param("{ me { " + " ".join(f"...F{i}" for i in range(1500)) + " } }", [],
                 id="spreads-of-1500-unknown-fragments"),
    pytest.param("{ me { ...A } } fragment A on Experimenter { ...B } "
                 "fragment B on Experimenter { ...A }", [], id="circular-fragments"),
    pytest.param("{ me { ...A } } fragment A on Experimenter { username ...A }", [],
                 id="self-spreading-fragment"),
    pytest.param("{ me { ...A } } fragment A on Experimenter { ...B } fragment B on "
                 "Experimenter { ...C } fragment C on Experimenter { username ...A }", [],
                 id="three-fragment-cycle"),
    pytest.param(introspection_fan_out(6), [], id="introspection-fan-out"),
    pytest.param('{ __type(name: "Query") { ...T } } '
                 "fragment T on __Type { fields { type { ...U } } } "
                 "fragment U on __Type { fields { type { ...V } } } "
                 "fragment V on __Type { fields { type { fields { name } } } }", [],
                 id="introspection-depth-by-fragments"),
    pytest.param("{ __schema { types { fields { type { fields { type { fields { type { "
                 "fields { name } } } } } } } } } }", [], id="introspection-fields-loop"),
    pytest.param("{ me { username " + "@include(if: true) " * 2500 + "} }",
                 ["TOO_MANY_TOKENS"], id="directives-2500"),
    pytest.param("{ me @skip(if: false) @skip(if: false) { username } }", [],
                 id="repeated-directive"),
    pytest.param("{ me @bogus { username } }", [], id="unknown-directive"),
    pytest.param("{ " + "a" * ONE_MB + " }", [], id="field-name-1mb"),
    pytest.param("{ me { username } } " + "#\n" * 300_000, ["TOO_MANY_TOKENS"],
                 id="comment-lines-300k"),
    pytest.param("{ me { username } } { me { id } }", [], id="two-anonymous-operations"),
    pytest.param("{ me { username } } query Q { me { id } }", [], id="anonymous-and-named"),
    pytest.param("query A { me { username } } query A { me { id } }", [],
                 id="duplicate-operation-names"),
    pytest.param("subscription { me { username } }", [], id="subscription"),
    pytest.param(f"{{ projects(first: {2**70}) {{ totalCount }} }}", [],
                 id="page-size-2**70-literal"),
    pytest.param("{ me { username } ", ["GRAPHQL_PARSE_FAILED"], id="unclosed"),
]


@pytest.mark.parametrize(("document", "codes"), REFUSED_SHAPES)
def test_hostile_document_shapes_are_refused(url: str, token: str, document: str,
                                             codes: list[str]) -> None:
    reply = fire(url, {"query": document}, token=token)
    refused_fast(url, token, reply, *codes)
    assert reply.json().get("data") is None


def test_empty_selection_set_is_refused_or_empty(url: str, token: str) -> None:
    """``{ }``: the spec's grammar wants a syntax error, but graphql-core 3.3 parses empty
    selection sets (graphql-spec#1227) and the answer is ``{"data": {}}``. Either is fine;
    what was a bug is the crash text ("max() arg is an empty sequence") it used to get."""
    reply = fire(url, {"query": "{ }"}, token=token)
    assert_no_leak(reply)
    assert reply.elapsed < PROBE_SECONDS, reply
    if reply.json().get("errors"):
        refused_fast(url, token, reply, "GRAPHQL_PARSE_FAILED")
    else:
        assert (reply.status, reply.json()) == (200, {"data": {}}), reply


AFFORDABLE_SHAPES = [
    pytest.param(of_type_chain(60), id="of-type-chain-60"),
    pytest.param(aliases(49, SCHEMA_DUMP), id="aliased-schema-49"),
    pytest.param(fragment_bomb(10), id="fragment-bomb-10"),
    pytest.param(fragment_chain(100), id="fragment-chain-100"),
    pytest.param("{ " + "... on Query { " * 150 + ME + " }" * 150 + " }",
                 id="inline-fragments-150"),
    pytest.param("{ me { " + " ".join(["...F"] * 1900) + " } } "
                 "fragment F on Experimenter { username }", id="spreads-1900"),
    pytest.param(ME + " #" + "c" * ONE_MB, id="comment-1mb"),
    pytest.param(ME + " " * ONE_MB, id="whitespace-1mb"),
    pytest.param("query A { me { username } } mutation B { createProject(input: "
                 '{name: "second operation"}) { __typename } }', id="named-operations"),
]


@pytest.mark.parametrize("document", AFFORDABLE_SHAPES)
def test_large_but_affordable_documents_are_answered(url: str, token: str,
                                                     document: str) -> None:
    """Big documents under every limit get an ordinary answer, quickly, or a clear refusal.

    Several named operations and no operationName: strawberry runs the first (the spec asks
    for an error); what matters here is that the mutation after it never runs.
    """
    reply = fire(url, {"query": document}, token=token)
    assert_answered_or_refused(reply)
    assert reply.elapsed < PROBE_SECONDS, reply
    assert_responsive(url, token)


@pytest.mark.parametrize(("payload", "what"), [
    # 2**30 copies of one field: refused by the cost or alias limit, priced memoised.
    pytest.param({"query": fragment_bomb(30)}, "fragment bomb", id="fragment-bomb-30"),
    # A fragment spreading its cycle twice: graphql-core's NoFragmentCycles refuses it.
    pytest.param({"query": circular_bomb()}, "circular fragment bomb", id="circular-bomb"),
    # 100k ShapeInputs (3 MB): LIST_TOO_LONG before graphql-core coerces a single item.
    pytest.param({"query": "mutation($s: [ShapeInput!]!) { createRoi(image: \"Image:1\", "
                           f"shapes: $s) {{ {ERROR} }} }}",
                  "variables": {"s": [{"kind": "POINT", "x": 1, "y": 1}] * HUNDRED_K}},
                 "100k shapes", id="shapes-100k"),
])
def test_server_freezing_requests_are_refused_fast(tmp_path: Path, pytestconfig: pytest.Config,
                                                   payload: dict[str, Any], what: str) -> None:
    with doomed_server(tmp_path, pytestconfig.rootpath) as server:
        try:
            reply = fire(server.url, payload, token=server.token, timeout=PROBE_SECONDS)
        except httpx2.TimeoutException:
            pytest.fail(f"the {what} got no answer within {PROBE_SECONDS} s")
        assert reply.elapsed < PROBE_SECONDS, reply
        if reply.is_json and not reply.json().get("errors"):
            assert_typed_error(reply, "createRoi")
        else:
            assert_refused(reply)
        assert_responsive(server.url, server.token)


# -- enormous strings and lists ----------------------------------------------------------------

CREATE = f"""
mutation($name: String!, $description: String) {{
  createProject(input: {{name: $name, description: $description}}) {{
    {ERROR} ... on ProjectPayload {{ project {{ id name }} }}
  }}
}}"""
UPDATE = (f"mutation($id: ID!, $name: String) {{ update(input: {{id: $id, name: $name}}) "
          f"{{ {ERROR} }} }}")
ANNOTATE = f"""
mutation($targets: [ID!]!, $kind: AnnotationKind!, $text: String, $pairs: [KeyValueInput!]) {{
  annotate(input: {{kind: $kind, text: $text, pairs: $pairs}}, targets: $targets) {{ {ERROR} }}
}}"""


# Strings under the request-size limit reach the resolvers, which refuse them by length.
@pytest.mark.parametrize(("mutation", "query", "variables", "field"), [
    pytest.param("createProject", CREATE, {"name": "x" * THREE_MB}, "name", id="name-3mb"),
    pytest.param("createProject", CREATE, {"name": "ok", "description": "d" * THREE_MB},
                 "description", id="description-3mb"),
    pytest.param("createProject", CREATE, {"name": "\U0001F9EC" * 250_000}, "name",
                 id="astral-name-250k-chars"),  # 3 MB as '\ud83e\uddec' escapes
    pytest.param("createProject", 'mutation { createProject(input: {name: "'
                 + "x" * ONE_MB + f'"}}) {{ {ERROR} }} }}', {}, "name", id="inline-name-1mb"),
    pytest.param("update", UPDATE, {"id": "{project}", "name": "x" * THREE_MB}, "name",
                 id="rename-3mb"),
    pytest.param("annotate", ANNOTATE, {"targets": ["{project}"], "kind": "TAG",
                                        "text": "t" * THREE_MB}, "text", id="tag-3mb"),
    pytest.param("annotate", ANNOTATE, {"targets": ["{project}"], "kind": "COMMENT",
                                        "text": "c" * THREE_MB}, "text", id="comment-3mb"),
])
def test_enormous_strings_are_refused_and_not_stored(url: str, token: str,
                                                     seed: dict[str, str], mutation: str,
                                                     query: str, variables: dict[str, Any],
                                                     field: str) -> None:
    reply = fire(url, {"query": query, "variables": fill(variables, seed)}, token=token)
    result = assert_typed_error(reply, mutation, "INVALID", field)
    assert "at most" in result["message"]
    assert len(reply.content) < 1000, "the answer must not echo the input"
    assert reply.elapsed < PROBE_SECONDS, reply
    assert_responsive(url, token)


# Bodies over the limit never reach GraphQL: 413 REQUEST_TOO_LARGE, before parsing.
@pytest.mark.parametrize(("query", "variables"), [
    pytest.param(CREATE, {"name": "x" * TEN_MB}, id="name-10mb"),
    pytest.param(CREATE, {"name": "ok", "description": "d" * TEN_MB}, id="description-10mb"),
    pytest.param(CREATE, {"name": "\U0001F9EC" * ONE_MB}, id="astral-name-1m-chars"),
    pytest.param(UPDATE, {"id": "{project}", "name": "x" * TEN_MB}, id="rename-10mb"),
    pytest.param(ANNOTATE, {"targets": ["{project}"], "kind": "TAG", "text": "t" * TEN_MB},
                 id="tag-10mb"),
    pytest.param(ANNOTATE, {"targets": ["{project}"], "kind": "COMMENT", "text": "c" * TEN_MB},
                 id="comment-10mb"),
    pytest.param("query($s: String) { projects(filter: {nameContains: $s}) { totalCount } }",
                 {"s": "x" * TEN_MB}, id="filter-10mb"),
    pytest.param("query($id: ID!) { node(id: $id) { id } }", {"id": "Project:" + "9" * TEN_MB},
                 id="id-10mb"),
    pytest.param("query($c: String) { projects(first: 1, after: $c) { totalCount } }",
                 {"c": "A" * TEN_MB}, id="cursor-10mb"),
    pytest.param("{ me { username } } #" + "c" * TEN_MB, {}, id="comment-in-document-10mb"),
])
def test_bodies_over_the_size_limit_are_refused(url: str, token: str, seed: dict[str, str],
                                                query: str, variables: dict[str, Any]) -> None:
    reply = fire(url, {"query": query, "variables": fill(variables, seed)}, token=token)
    assert_too_large(reply)
    assert reply.elapsed < PROBE_SECONDS, reply
    assert_responsive(url, token)


@pytest.mark.parametrize(("query", "variables", "field"), [
    pytest.param("query($s: String) { projects(filter: {nameContains: $s}) { totalCount } }",
                 {"s": "x" * THREE_MB}, "filter.nameContains", id="filter-3mb"),
    pytest.param("query($id: ID!) { node(id: $id) { id } }",
                 {"id": "Project:" + "9" * THREE_MB}, "id", id="id-3mb"),
    pytest.param("query($c: String) { projects(first: 1, after: $c) { totalCount } }",
                 {"c": "A" * THREE_MB}, "after", id="cursor-3mb"),
])
def test_enormous_query_arguments_are_invalid(url: str, token: str, query: str,
                                              variables: dict[str, Any], field: str) -> None:
    reply = fire(url, {"query": query, "variables": variables}, token=token)
    errors = refused_fast(url, token, reply, "INVALID")
    assert errors[0]["extensions"]["field"] == field
    # Some messages quote the value whole; the answer may not be bigger than the question.
    assert len(reply.content) < len(reply.sent) + 2000


def test_enormous_bearer_token_is_refused(url: str, token: str) -> None:
    reply = fire(url, {"query": ME}, headers={"authorization": "Bearer " + "x" * ONE_MB})
    assert_no_leak(reply)
    assert reply.status == 401, reply
    assert [e["extensions"]["code"] for e in error_list(reply)] == ["UNAUTHENTICATED"]
    assert reply.elapsed < PROBE_SECONDS, reply
    assert_responsive(url, token)


HUNDRED_K_IDS = [f"Project:{n}" for n in range(1, HUNDRED_K + 1)]


@pytest.mark.parametrize(("query", "variables"), [
    pytest.param("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": HUNDRED_K_IDS},
                 id="nodes"),
    pytest.param("query($ids: [ID!]!) { nodes(ids: $ids) { id } }",
                 {"ids": HUNDRED_K_IDS[:1001]}, id="nodes-1001"),
    pytest.param(f"mutation($ids: [ID!]!) {{ delete(ids: $ids, includeChildren: true) "
                 f"{{ {ERROR} }} }}", {"ids": HUNDRED_K_IDS}, id="delete"),
    pytest.param(f"mutation($ids: [ID!]!) {{ delete(ids: $ids) {{ {ERROR} }} }}",
                 {"ids": ["{project}"] * HUNDRED_K}, id="delete-same-id"),
    pytest.param(ANNOTATE, {"targets": HUNDRED_K_IDS, "kind": "TAG", "text": "t"},
                 id="annotate-targets"),
    pytest.param(f"mutation($a: ID!, $t: [ID!]!) {{ linkAnnotation(annotation: $a, "
                 f"targets: $t) {{ {ERROR} }} }}", {"a": "{tag}", "t": HUNDRED_K_IDS},
                 id="link-annotation-targets"),
    pytest.param(ANNOTATE, {"targets": ["{project}"], "kind": "MAP",
                            "pairs": [{"key": "k", "value": "v"}] * HUNDRED_K},
                 id="map-pairs"),
])
def test_enormous_lists_are_refused(url: str, token: str, seed: dict[str, str], query: str,
                                    variables: dict[str, Any]) -> None:
    """Variable lists over 1000 items are refused before coercion (schema/limits.py), as a
    whole operation: LIST_TOO_LONG, fast, not a mutation's typed error (the resolvers' own
    limits, 1000 targets, pairs or shapes, are no longer reachable through a variable)."""
    reply = fire(url, {"query": query, "variables": fill(variables, seed)}, token=token)
    errors = refused_fast(url, token, reply, "LIST_TOO_LONG")
    assert reply.json().get("data") is None, reply
    assert len(errors) == 1 and len(reply.content) < 1000, reply


@pytest.mark.parametrize("item", [None, ["Project:1"], {"id": "Project:1"}, 1.5],
                         ids=["nulls", "lists", "objects", "floats"])
def test_enormous_lists_of_wrong_items_get_a_bounded_error_list(url: str, token: str,
                                                                item: Any) -> None:
    reply = fire(url, {"query": "query($ids: [ID!]!) { nodes(ids: $ids) { id } }",
                       "variables": {"ids": [item] * HUNDRED_K}}, token=token)
    errors = refused_fast(url, token, reply)
    assert len(errors) <= 101, f"{len(errors)} errors for one bad variable"
    assert len(reply.content) < 100_000


# -- wrong types -------------------------------------------------------------------------------

FIRST = "query($n: Int) { projects(first: $n) { totalCount } }"
NODE = "query($id: ID!) { node(id: $id) { id } }"
NODES = "query($ids: [ID!]!) { nodes(ids: $ids) { id } }"
SORTED = "query($s: Sort) { projects(sort: $s) { totalCount } }"
FILTERED = "query($f: ObjectFilter) { projects(filter: $f) { totalCount } }"
INCLUDE = "query($x: Boolean!) { me @include(if: $x) { username } }"
LONG = (f"mutation($v: Long) {{ annotate(input: {{kind: LONG, longValue: $v}}, targets: []) "
        f"{{ {ERROR} }} }}")
MASK = ("mutation($m: Bytes) { createRoi(image: \"Image:1\", shapes: [{kind: MASK, mask: $m}]) "
        f"{{ {ERROR} }} }}")
SHAPE = (f"mutation($s: ShapeInput!) {{ createRoi(image: \"Image:1\", shapes: [$s]) "
         f"{{ {ERROR} }} }}")
CREATE_INPUT = f"mutation($i: CreateContainerInput!) {{ createProject(input: $i) {{ {ERROR} }} }}"

WRONG_VARIABLES: list[Any] = [
    (FIRST, {"n": "5"}), (FIRST, {"n": {"a": 1}}), (FIRST, {"n": 1.5}), (FIRST, {"n": True}),
    (FIRST, {"n": [1]}), (FIRST, {"n": 2**70}), (FIRST, {"n": -(2**31) - 1}),
    (FIRST, {"n": 1e308}), (FIRST, {"n": float("inf")}), (FIRST, {"n": float("nan")}),
    (NODE, {"id": {"a": 1}}), (NODE, {"id": None}), (NODE, {}), (NODE, {"id": [1]}),
    (NODE, {"id": 1.5}), (NODE, {"id": True}), (NODE, {"id": 2**70}),
    (NODES, {"ids": None}), (NODES, {"ids": [None]}), (NODES, {"ids": {"a": 1}}),
    (NODES, {"ids": [["Project:1"]]}),
    (SORTED, {"s": {"field": "BOGUS"}}), (SORTED, {"s": {"field": 1}}), (SORTED, {"s": "NAME"}),
    (SORTED, {"s": {"bogus": 1}}), (SORTED, {"s": {"field": "NAME", "descending": "yes"}}),
    (FILTERED, {"f": {"createdAfter": "yesterday"}}), (FILTERED, {"f": {"createdAfter": 5}}),
    (FILTERED, {"f": {"keyValue": {}}}), (FILTERED, {"f": {"keyValue": {"key": None}}}),
    (FILTERED, {"f": {"createdAfter": "2026-13-45T99:99:99Z"}}), (FILTERED, {"f": []}),
    (INCLUDE, {"x": "yes"}), (INCLUDE, {"x": 1}), (INCLUDE, {"x": None}),
    (LONG, {"v": 2**70}), (LONG, {"v": "x"}), (LONG, {"v": 1.5}),
    (MASK, {"m": "abc"}), (MASK, {"m": "\ud800"}), (MASK, {"m": [1, 2]}),
    # Bytes (schema/scalars.py) refuses a number with its own message; it used to answer with
    # the text of an AttributeError from strawberry's Base64.
    pytest.param(MASK, {"m": 5}, id="mask-5"),
    (SHAPE, {"s": {"kind": "circle"}}), (SHAPE, {"s": {"kind": "POINT", "x": "1"}}),
    (SHAPE, {"s": {"kind": "POINT", "theZ": 2**40}}), (SHAPE, {"s": {}}),
    (CREATE_INPUT, {"i": {"name": None}}), (CREATE_INPUT, {"i": {"name": ["a"]}}),
    (CREATE_INPUT, {"i": {"name": "ok", "owner": "Experimenter:1"}}),
    (CREATE_INPUT, {"i": "name"}), (CREATE_INPUT, {"i": {"name": "ok", "group": 1.5}}),
]


@pytest.mark.parametrize(("query", "variables"), [
    case if hasattr(case, "marks") else
    pytest.param(*case, id=f"{case[0].split('{')[1].split('(')[0].strip()}-"
                           f"{json.dumps(case[1])[:40]}")
    for case in WRONG_VARIABLES])
def test_variables_of_the_wrong_type_are_refused(url: str, token: str, query: str,
                                                 variables: dict[str, Any]) -> None:
    reply = fire(url, {"query": query, "variables": variables}, token=token)
    refused_fast(url, token, reply)
    body = reply.json()
    # Coercion failures stop the whole operation; ids of the wrong form fail only their field.
    assert body.get("data") in (None, {"node": None})


WRONG_LITERALS = [
    pytest.param("{ projects(first: 1.5) { totalCount } }", id="float-for-int"),
    pytest.param('{ projects(first: "5") { totalCount } }', id="string-for-int"),
    pytest.param(f"{{ projects(first: {2**31}) {{ totalCount }} }}", id="int-beyond-32-bits"),
    pytest.param("{ node(id: {a: 1}) { id } }", id="object-for-id"),
    pytest.param("{ node(id: [1]) { id } }", id="list-for-id"),
    pytest.param("{ node(id: null) { id } }", id="null-for-non-null"),
    pytest.param("{ node { id } }", id="missing-argument"),
    pytest.param('{ projects(sort: {field: "NAME"}) { totalCount } }', id="string-for-enum"),
    pytest.param("{ projects(sort: {field: BOGUS}) { totalCount } }", id="unknown-enum"),
    pytest.param("{ projects(filter: {bogus: 1}) { totalCount } }", id="unknown-input-field"),
    pytest.param("{ projects(filter: {keyValue: {value: \"v\"}}) { totalCount } }",
                 id="missing-input-field"),
    pytest.param('{ projects(filter: {createdAfter: "garbage"}) { totalCount } }',
                 id="bad-datetime"),
    pytest.param("{ me(bogus: 1) { username } }", id="unknown-argument"),
    pytest.param("{ me { username(first: 1) } }", id="argument-on-leaf"),
    pytest.param("{ me }", id="object-without-selection"),
    pytest.param("{ me { username { x } } }", id="selection-on-leaf"),
    pytest.param(f"mutation {{ annotate(input: {{kind: LONG, longValue: {2**70}}}, "
                 "targets: []) { __typename } }", id="long-literal-2**70"),

    pytest.param('mutation { annotate(input: {kind: LONG, longValue: "x"}, targets: []) '
                 "{ __typename } }", id="string-for-long-literal"),

    pytest.param('mutation { createRoi(image: "Image:1", shapes: [{kind: MASK, mask: 5}]) '
                 "{ __typename } }", id="number-for-bytes-literal"),

    pytest.param("query($n: Int = %s) { projects(first: $n) { totalCount } }" % ("9" * 5000),
                 id="int-default-5000-digits"),
    pytest.param("{ projects(first: %s) { totalCount } }" % ("9" * 5000),
                 id="int-literal-5000-digits"),
    pytest.param(fragment_chain(300), id="fragment-chain-300"),
]


@pytest.mark.parametrize("document", WRONG_LITERALS)
def test_literals_of_the_wrong_type_are_refused(url: str, token: str, document: str) -> None:
    reply = fire(url, {"query": document}, token=token)
    refused_fast(url, token, reply)
    assert reply.json().get("data") is None


ABORTING = "{ me { ...F } } fragment F on Experimenter { " + " ".join(["username"] * 1000) + " }"


def test_every_limit_refusal_has_a_code(url: str, token: str) -> None:
    """A fragment of 1,000 identical fields (under the token limit) exhausts graphql-core's
    validation budget; the bare "Validation aborted." gets a code now (schema/build.py)."""
    reply = fire(url, {"query": ABORTING}, token=token)
    errors = refused_fast(url, token, reply, "QUERY_TOO_COMPLEX")
    assert all((error.get("extensions") or {}).get("code") for error in errors), reply
    assert reply.json().get("data") is None


def test_every_limit_refusal_has_a_reason(url: str, token: str) -> None:
    reply = fire(url, {"query": ABORTING}, token=token)
    errors = refused_fast(url, token, reply)
    for error in errors:
        assert error["message"] != "Validation aborted.", error


# -- unicode -----------------------------------------------------------------------------------

CREATE_NAMED = f"""
mutation($name: String!) {{
  createProject(input: {{name: $name}}) {{
    {ERROR} ... on ProjectPayload {{ project {{ id name }} }}
  }}
}}"""
READ_NAME = "query($id: ID!) { node(id: $id) { ... on Project { name } } }"
DELETE = f"mutation($ids: [ID!]!) {{ delete(ids: $ids) {{ {ERROR} }} }}"


# What create_named returns for a request refused before GraphQL saw it.
BAD_REQUEST = {"__typename": "BadRequest", "code": "BAD_REQUEST", "field": None}


def has_surrogate(text: str) -> bool:
    return any(unicodedata.category(c) == "Cs" for c in text)


def create_named(url: str, token: str, name: str, ascii_wire: bool = True) -> dict[str, Any]:
    """The createProject payload, or ``BAD_REQUEST``: a name holding a lone surrogate is not
    Unicode text, and the whole body is refused (400, BAD_REQUEST) before GraphQL runs."""
    payload = {"query": CREATE_NAMED, "variables": {"name": name}}
    content = encode(payload) if ascii_wire else json.dumps(payload, ensure_ascii=False).encode(
        "utf-8", errors="surrogatepass")
    reply = fire(url, content=content, token=token)
    return named_result(reply, name)


def named_result(reply: Reply, name: str) -> dict[str, Any]:
    assert_no_leak(reply)
    if reply.status == 400 and has_surrogate(name):
        assert_json_refusal(reply, "BAD_REQUEST")
        return BAD_REQUEST
    assert reply.status == 200 and reply.is_json, reply
    body = reply.json()
    assert not body.get("errors"), reply
    result: dict[str, Any] = body["data"]["createProject"]
    return result


def assert_round_trip_or_refused(url: str, token: str, name: str, result: dict[str, Any],
                                 must: str | None = None) -> None:
    """Stored exactly as its NFC form, stripped (then deleted again), or refused for 'name'."""
    if result["__typename"] == "ProjectPayload":
        expected = unicodedata.normalize("NFC", name).strip()
        project = result["project"]
        try:
            assert must != "refuse", f"{name!r} was accepted: {result}"
            assert project["name"] == expected
            stored = graphql(url, READ_NAME, token, id=project["id"]).json()
            assert stored == {"data": {"node": {"name": expected}}}, stored
        finally:
            deleted = graphql(url, DELETE, token, ids=[project["id"]]).json()
            assert deleted["data"]["delete"]["__typename"] == "DeletePayload", deleted
    elif result is BAD_REQUEST:
        assert must != "accept", f"{name!r} was refused: {result}"
    else:
        assert must != "accept", f"{name!r} was refused: {result}"
        assert (result["__typename"], result["code"], result["field"]) == (
            "ValidationError", "INVALID", "name"), result
        assert result["message"]


ALLOWED_NAMES = {
    "combining-acute": "Ce\u0301llule",
    "angstrom-sign": "\u212b 5",  # NFC: U+00C5
    "hangul-jamo": "\u1100\u1161\u11a8",  # NFC: one syllable
    "combining-stack": "Z" + "\u0351\u0300\u0316\u0301\u0323" * 10,  # NFC reorders the marks
    "skin-tone": "Zellkern \U0001F44D\U0001F3FD",
    "flag": "\U0001F1E9\U0001F1EA Labor",
    "keycap": "1\ufe0f\u20e3 Tag",
    "astral": "\U0001F52C\U0001F9EC\U0001F9A0",
    "arabic": "\u0645\u062c\u0647\u0631",
    "hebrew-and-latin": "\u05e9\u05dc\u05d5\u05dd abc",
    "devanagari": "\u0915\u094b\u0936\u093f\u0915\u093e",
    "cjk": "\u7d30\u80de\u5206\u88c2",
    "fraktur": "\U0001D510\U0001D526\U0001D528",
    "fullwidth-and-ligature": "\uff21\uff22 \ufb01bre",
    "surrounding-spaces": "\u3000 padded \u2003",
    # ZWJ and ZWNJ join emoji and shape Persian or Indic words (resolvers/validate.py).
    "zwj-scientist": "\U0001F469\u200d\U0001F52C",
    "zwj-family": "\U0001F468\u200d\U0001F469\u200d\U0001F467\u200d\U0001F466",
    "zwnj-persian": "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",
}
REFUSED_NAMES = {
    "lone-high-surrogate": "\ud800",
    "lone-low-surrogate": "a\udfffb",
    "reversed-surrogate-pair": "\ude00\ud83d",
    "nul": "\x00",
    "escape-sequence": "\x1b]0;owned\x07",
    "c1-control": "a\x9bb",
    "rtl-override": "gpj.\u202eexe",
    "ltr-embedding": "\u202aabc\u202c",
    "isolate": "\u2066abc\u2069",
}
# Single-line names: U+2028 and U+2029 are refused like '\\n' (resolvers/validate.py).
SEPARATOR_NAMES = {"line-separator": "a\u2028b", "paragraph-separator": "a\u2029b"}

# Either answer is defensible for these, as long as it is one of the two. Today tag
# characters, private-use, noncharacters and unassigned code points are refused ("control
# characters": categories Cf, Co, Cn); the emoji variation selector and the lone combining mark
# are stored.
EITHER_NAMES = {
    "tag-sequence-flag": "\U0001F3F4\U000E0067\U000E0062\U000E0073\U000E0063\U000E0074"
                         "\U000E007F",
    "variation-selector": "\u2764\ufe0f",
    "private-use": "\ue000",
    "noncharacter": "\ufffe",
    "unassigned": "\U000e0fff",
    "only-combining": "\u0301",
}


@pytest.mark.parametrize("ascii_wire", [True, False], ids=["escaped", "utf8"])
@pytest.mark.parametrize("name", ALLOWED_NAMES.values(), ids=ALLOWED_NAMES.keys())
def test_allowed_unicode_names_round_trip_nfc(url: str, token: str, name: str,
                                              ascii_wire: bool) -> None:
    result = create_named(url, token, name, ascii_wire)
    assert_round_trip_or_refused(url, token, name, result, must="accept")


@pytest.mark.parametrize("name", [
    *(pytest.param(text, id=name) for name, text in REFUSED_NAMES.items()),
    *(pytest.param(text, id=name) for name, text in SEPARATOR_NAMES.items()),
])
def test_dangerous_unicode_names_are_refused(url: str, token: str, name: str) -> None:
    result = create_named(url, token, name)
    assert_round_trip_or_refused(url, token, name, result, must="refuse")


@pytest.mark.parametrize("name", EITHER_NAMES.values(), ids=EITHER_NAMES.keys())
def test_other_unicode_names_round_trip_or_are_refused(url: str, token: str, name: str) -> None:
    result = create_named(url, token, name, ascii_wire=False)
    assert_round_trip_or_refused(url, token, name, result)


@pytest.mark.parametrize(("raw", "expected"), [
    pytest.param(b'"\xed\xa0\x80"', "refused", id="cesu-8-surrogate"),  # not UTF-8: a 400
    pytest.param(b'"\\ud83d\\ude00"', "accepted", id="escaped-surrogate-pair"),
    pytest.param(b'"a\\u0000b"', "refused", id="escaped-nul"),
    pytest.param(b'"\xef\xbb\xbfbom"', "refused", id="bom-inside"),
])
def test_names_on_the_wire(url: str, token: str, raw: bytes, expected: str) -> None:
    body = (b'{"query": ' + json.dumps(CREATE_NAMED).encode() + b', "variables": {"name": '
            + raw + b"}}")
    reply = fire(url, content=body, token=token)
    name = json.loads(raw.decode("utf-8", errors="surrogatepass"))
    result = named_result(reply, name)
    assert_round_trip_or_refused(url, token, name, result,
                                 must="accept" if expected == "accepted" else "refuse")


@pytest.mark.parametrize("document", [
    "{ m\u0435 { username } }",  # CYRILLIC SMALL LETTER IE
    "{ me\x00 { username } }",
    "{ me { user\u200bname } }",
    "{ me { username } }\u2028{",
    "{ \u202eem { username } }",
    "{ me { username } } #\ud800",
    'mutation { createProject(input: {name: "\\ud800"}) { __typename } }',
    'mutation { createProject(input: {name: "\ud800"}) { __typename } }',
], ids=["homoglyph", "nul", "zero-width-space", "line-separator", "rtl-override",
        "surrogate-in-comment", "escaped-surrogate-literal", "raw-surrogate-literal"])
def test_unicode_tricks_in_the_document_are_syntax_errors(url: str, token: str,
                                                          document: str) -> None:
    """Syntax errors; a lone surrogate (sent as a JSON escape) is not text, and the whole
    body is refused before parsing (400 BAD_REQUEST), like any JSON holding one."""
    reply = fire(url, {"query": document}, token=token)
    if has_surrogate(document):
        assert reply.status == 400, reply
        assert_json_refusal(reply, "BAD_REQUEST")
        assert_responsive(url, token)
    else:
        refused_fast(url, token, reply, "GRAPHQL_PARSE_FAILED")


@pytest.mark.parametrize(("content", "headers"), [
    pytest.param(b'\xef\xbb\xbf{"query": "{ me { username } }"}', {}, id="utf-8-bom"),
    pytest.param(b'{"query": "{ me { username } }"}',
                 {"content-type": "application/json; charset=latin-1"}, id="wrong-charset"),
])
def test_odd_but_valid_encodings_are_answered(url: str, token: str, content: bytes,
                                              headers: dict[str, str]) -> None:
    reply = fire(url, content=content, headers=headers, token=token)
    assert_no_leak(reply)
    assert reply.json() == {"data": {"me": {"username": "root"}}}, reply


# -- the HTTP envelope -------------------------------------------------------------------------

CREATE_BATCHED = 'mutation { createProject(input: {name: "batched"}) { __typename } }'
GET_MUTATION = 'mutation { createProject(input: {name: "by GET"}) { __typename } }'

HTTP_CASES = [
    pytest.param({"content": b'{"query": '}, id="truncated-json"),
    pytest.param({"content": b'{"query": "{ me { username } }"} trailing'}, id="trailing-garbage"),
    pytest.param({"content": b"{'query': '{ me { username } }'}"}, id="single-quotes"),
    pytest.param({"content": b'{"query": "{ me { username } }",}'}, id="trailing-comma"),
    pytest.param({"content": b'{"query": "a\x00b"}'}, id="raw-nul-in-json"),
    # JSON between systems must be UTF-8 (RFC 8259, 8.1); Python's json guessed UTF-16 once.
    pytest.param({"content": '{"query": "{ me { username } }"}'.encode("utf-16")}, id="utf-16"),
    pytest.param({"content": b""}, id="empty-body"),
    pytest.param({"content": b"   \n"}, id="blank-body"),
    pytest.param({"content": b"{}"}, id="no-query"),
    pytest.param({"content": b'{"query": null}'}, id="null-query"),
    pytest.param({"content": b'{"variables": {}}'}, id="only-variables"),
    pytest.param({"content": b'{"query": 5}'}, id="number-query"),
    pytest.param({"content": b'{"query": ["{ me { username } }"]}'}, id="list-query"),
    pytest.param({"content": b'{"query": {"q": 1}}'}, id="object-query"),
    pytest.param({"content": b'{"query": "{ me { username } }", "variables": []}'},
                 id="list-variables"),
    pytest.param({"content": b'{"query": "{ me { username } }", "variables": "x"}'},
                 id="string-variables"),
    pytest.param({"content": b'{"query": "{ me { username } }", "extensions": 5}'},
                 id="number-extensions"),
    pytest.param({"content": b'{"query": "{ me { username } }", "operationName": 5}'},
                 id="number-operation-name"),
    pytest.param({"payload": {"query": "query A { me { username } }", "operationName": "B"}},
                 id="unknown-operation-name"),
    pytest.param({"payload": {"query": ME, "operationName": "A"}},
                 id="operation-name-for-anonymous"),
    pytest.param({"payload": {"query": "query A { me { username } }", "operationName": ""}},
                 id="empty-operation-name"),
    pytest.param({"payload": {"query": "query A { me { username } }",
                              "operationName": "x" * ONE_MB}}, id="operation-name-1mb"),
    pytest.param({"payload": {"query": "fragment F on Query { me { username } }"}},
                 id="only-a-fragment"),
    pytest.param({"payload": {"query": "type Owned { id: ID }"}}, id="sdl-not-an-operation"),
    pytest.param({"payload": [{"query": CREATE_BATCHED}] * 1000}, id="batch-of-1000"),
    pytest.param({"payload": [{"query": ME}]}, id="batch-of-1"),
    pytest.param({"payload": []}, id="empty-batch"),
    pytest.param({"payload": [None, 1, "x"]}, id="batch-of-junk"),
    pytest.param({"content": b'{"query": "{ me { username } }"}',
                  "headers": {"content-type": "text/plain"}}, id="text-plain"),
    pytest.param({"content": b"query=%7B+me+%7B+username+%7D+%7D",
                  "headers": {"content-type": "application/x-www-form-urlencoded"}},
                 id="form-urlencoded"),
    pytest.param({"content": b"--x\r\n\r\n--x--\r\n",
                  "headers": {"content-type": "multipart/form-data; boundary=x"}},
                 id="multipart"),
    pytest.param({"content": b"<query>{ me { username } }</query>",
                  "headers": {"content-type": "application/xml"}}, id="xml"),
    pytest.param({"content": ME.encode(), "headers": {"content-type": "application/graphql"}},
                 id="application-graphql"),
    pytest.param({"content": b'{"query": "{ me { username } }"}', "headers": {
        "content-type": ""}}, id="no-content-type"),
    pytest.param({"method": "GET", "params": {"query": GET_MUTATION}}, id="get-mutation"),
    pytest.param({"method": "GET", "params": {
        "query": "query A { me { username } } " + GET_MUTATION.replace("mutation", "mutation M"),
        "operationName": "M"}}, id="get-mutation-by-operation-name"),
    pytest.param({"method": "GET", "params": {"query": GET_MUTATION}, "token": None},
                 id="get-mutation-anonymous"),
    pytest.param({"method": "GET", "params": {"variables": "{}"},
                  "headers": {"accept": "application/json"}}, id="get-without-query"),
    pytest.param({"method": "GET", "params": {"query": ME, "variables": "{bad"}},
                 id="get-malformed-variables"),
    pytest.param({"method": "GET", "params": {"query": ME, "variables": "[1]"}},
                 id="get-list-variables"),
    pytest.param({"method": "PUT", "payload": {"query": ME}}, id="put"),
    pytest.param({"method": "PATCH", "payload": {"query": ME}}, id="patch"),
    pytest.param({"method": "DELETE"}, id="delete"),
]

# Bodies that used to crash strawberry's parse_http_body (HTTP 500): web/graphql.py parses
# them with orjson now and refuses them with a JSON 400 (BAD_REQUEST).
FORMER_500_CASES = [
    pytest.param({"content": raw}, id=name)
    for name, raw in [
        ("json-null-body", b"null"),
        ("json-number-body", b"42"),
        ("json-string-body", b'"{ me { username } }"'),
        ("json-boolean-body", b"true"),
        ("deeply-nested-body", nested_json(100_000).encode()),
        ("deeply-nested-variables", b'{"query": "{ me { username } }", "variables": {"v": '
         + nested_json(5_000).encode() + b"}}"),
        ("integer-of-5000-digits", b'{"query": "{ me { username } }", "variables": {"n": '
         + b"9" * 5000 + b"}}"),
        ("invalid-utf8", b'{"query": "{ me { username } }", "variables": {"s": "\xff"}}'),
        ("overlong-utf8", b'{"query": "{ me { username } }", "variables": {"s": "\xc0\xaf"}}'),
    ]
] + [
    # Echoed by strawberry's plain-text 400 once, which could not encode the surrogate.
    pytest.param({"content": b'{"query": "query A { me { username } }", '
                             b'"operationName": "\\ud800"}'},
                 id="lone-surrogate-operation-name"),
    pytest.param({"method": "GET", "params": {"query": ME, "variables": '{"v": '
                                              + nested_json(5_000) + "}"}},
                 id="get-deeply-nested-variables"),
]


def _send(url: str, token: str, case: dict[str, Any]) -> Reply:
    case = dict(case)
    return fire(url, case.pop("payload", None), token=case.pop("token", token),
                content=case.pop("content", None), method=case.pop("method", "POST"),
                params=case.pop("params", None), headers=case.pop("headers", None))


@pytest.mark.parametrize("case", HTTP_CASES + FORMER_500_CASES)
def test_malformed_requests_are_refused(url: str, token: str, case: dict[str, Any]) -> None:
    """Refused with a JSON ``errors[].message`` and the code of the status (BAD_REQUEST,
    NOT_FOUND, METHOD_NOT_ALLOWED, UNSUPPORTED_MEDIA_TYPE), PUT/PATCH/DELETE included."""
    reply = _send(url, token, case)
    assert_json_refusal(reply)
    assert reply.elapsed < PROBE_SECONDS, reply
    assert_responsive(url, token)


# -- variables and operations that don't match the document ------------------------------------

@pytest.mark.parametrize(("query", "variables"), [
    pytest.param("{ node(id: $x) { id } }", {"x": "Project:1"}, id="undeclared"),
    pytest.param("query($id: ID!) { me { username } }", {"id": "Project:1"}, id="unused"),
    pytest.param("query($id: Int!) { node(id: $id) { id } }", {"id": 1}, id="type-mismatch"),
    pytest.param("query($id: ID) { node(id: $id) { id } }", {"id": "Project:1"},
                 id="nullable-for-non-null"),
    pytest.param("query($id: ID!, $id: ID!) { node(id: $id) { id } }", {"id": "Project:1"},
                 id="declared-twice"),
    pytest.param("query($id: Bogus!) { node(id: $id) { id } }", {"id": 1}, id="unknown-type"),
    pytest.param("query($f: ProjectConnection) { me { username } }", {}, id="output-type"),
    pytest.param("query($id: ID!) { node(id: $id) { id } }", {}, id="missing-required"),
    pytest.param("query($id: ID!) { node(id: $id) { id } }", {"ID": "Project:1"},
                 id="wrong-case"),
    pytest.param("query($ids: [ID!]! = [null]) { nodes(ids: $ids) { id } }", {},
                 id="bad-default"),
    pytest.param("query($n: Int = $m) { projects(first: $n) { totalCount } }", {"m": 1},
                 id="variable-in-default"),
    pytest.param("query($s: Sort = {field: BOGUS}) { projects(sort: $s) { totalCount } }", {},
                 id="bad-enum-default"),
])
def test_variables_that_do_not_match_are_refused(url: str, token: str, query: str,
                                                 variables: dict[str, Any]) -> None:
    reply = fire(url, {"query": query, "variables": variables}, token=token)
    refused_fast(url, token, reply)
    assert reply.json().get("data") is None


def test_variables_nobody_declared_are_ignored(url: str, token: str) -> None:
    reply = fire(url, {"query": ME, "variables": {"x": 1, "": 2, "$me": {"a": []},
                                                  "__proto__": {"admin": True}}}, token=token)
    assert_no_leak(reply)
    assert reply.json() == {"data": {"me": {"username": "root"}}}


def test_a_lone_surrogate_anywhere_in_the_body_is_refused(url: str, token: str) -> None:
    """Even in the name of a variable nobody declared: the body is not text (400)."""
    reply = fire(url, {"query": ME, "variables": {"\ud800": 3}}, token=token)
    assert reply.status == 400, reply
    assert_json_refusal(reply, "BAD_REQUEST")
    assert_responsive(url, token)


# -- filters a list cannot use -----------------------------------------------------------------



def test_filters_a_list_cannot_use_are_refused(url: str, token: str) -> None:
    # Jobs have their own filter type, without names: refused when the query is validated.
    reply = graphql(url, '{ jobs(filter: {nameContains: "x"}) { totalCount } }', token)
    errors = refused_fast(url, token, reply)
    assert "nameContains" in errors[0]["message"]
    reply = graphql(url, '{ images(filter: {parent: "Screen:1"}) { totalCount } }', token)
    refused_fast(url, token, reply, "INVALID")


# -- generated documents and values ------------------------------------------------------------

@GENERATED
@given(data=st.data())
def test_generated_documents_are_answered_or_refused(url: str, token: str, vocab: Vocabulary,
                                                     data: st.DataObject) -> None:
    """Documents built from the schema's own field, argument, type and enum names."""
    document = data.draw(graphql_documents(vocab), label="document")
    variables = data.draw(st.dictionaries(st.sampled_from(["v0", "v1"]),
                                          json_values(vocab.input_fields), max_size=2),
                          label="variables")
    reply = fire(url, {"query": document, "variables": variables}, token=token,
                 timeout=2 * PROBE_SECONDS)
    assert_answered_or_refused(reply)
    event(outcome(reply))
    assert reply.elapsed < PROBE_SECONDS, reply
    assert_responsive(url, token)


READ_OPERATIONS = [NODE, NODES, FIRST, SORTED, FILTERED, INCLUDE, """
query($f: AnnotationFilter, $l: Int, $b: String, $s: Sort) {
  annotations(filter: $f, last: $l, before: $b, sort: $s) { totalCount nodes { id } }
}""", """
query($id: ID!, $n: Int, $a: String, $f: ObjectFilter) {
  node(id: $id) { ... on Dataset { images(first: $n, after: $a, filter: $f) { totalCount } } }
}"""]
# Mutations are sent without a token: coercion still runs on every value, nothing can write.
WRITE_OPERATIONS = [CREATE_INPUT, LONG, MASK, SHAPE, """
mutation($a: AnnotationInput!, $t: [ID!]!, $g: ID) {
  annotate(input: $a, targets: $t, group: $g) { __typename }
}""", """
mutation($u: UpdateInput!) { update(input: $u) { __typename } }
""", """
mutation($ids: [ID!]!, $c: Boolean!) { delete(ids: $ids, includeChildren: $c) { __typename } }
""", """
mutation($u: CreateUserInput!) { createUser(input: $u) { __typename } }
""", """
mutation($g: UpdateGroupInput!) { updateGroup(input: $g) { __typename } }
""", """
mutation($i: ID!, $s: [ShapeInput!]!, $n: String) {
  createRoi(image: $i, shapes: $s, name: $n) { __typename }
}"""]


def _variable_names(query: str) -> list[str]:
    header = query.split(")")[0]
    return [part.split(":")[0].strip().lstrip("$") for part in header.split("(", 1)[1].split(",")]


@GENERATED
@given(data=st.data())
def test_generated_variable_values_are_refused_or_answered(url: str, token: str,
                                                           vocab: Vocabulary,
                                                           data: st.DataObject) -> None:
    write = data.draw(st.booleans(), label="write")
    query = data.draw(st.sampled_from(WRITE_OPERATIONS if write else READ_OPERATIONS),
                      label="query")
    values = json_values(vocab.input_fields)
    variables = {name: data.draw(values, label=name) for name in _variable_names(query)
                 if data.draw(st.integers(min_value=0, max_value=5), label=f"{name}?")}
    reply = fire(url, {"query": query, "variables": variables}, token=None if write else token,
                 timeout=2 * PROBE_SECONDS)
    assert_answered_or_refused(reply)
    event(outcome(reply))
    if write:
        errors = assert_refused(reply)  # coercion, or else no token: never a success
        assert reply.json().get("data") is None, reply
        assert errors
    assert reply.elapsed < PROBE_SECONDS, reply
    assert_responsive(url, token)


SPECIAL_CHARACTERS = "".join([*REFUSED_NAMES.values(), *EITHER_NAMES.values(),
                              *SEPARATOR_NAMES.values(),
                              *ALLOWED_NAMES.values(), " \t\n\u00a0\u0301\u0308"])


@settings(GENERATED, max_examples=120)
@given(name=st.text(st.one_of(st.characters(), st.sampled_from(SPECIAL_CHARACTERS)),
                    min_size=1, max_size=12))
def test_generated_names_round_trip_nfc_or_are_refused(url: str, token: str,
                                                       name: str) -> None:
    result = create_named(url, token, name)
    event(result["__typename"])
    must = "refuse" if any(unicodedata.category(c) in ("Cs", "Cc") for c in name) else None
    assert_round_trip_or_refused(url, token, name, result, must=must)
