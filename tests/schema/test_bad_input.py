"""Bad input gets a clear, typed error and changes nothing.

Every case asserts the error's type or ``extensions.code`` and, where the API names one, the
input field at fault; every case that could write compares a snapshot of every table before and
after the request.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import json
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from resolvers.passwords import hash_password
from store.base import utcnow
from store.models import (
    AuthSession,
    Dataset,
    Experimenter,
    ExperimenterGroup,
    Image,
    Project,
    Roi,
    Shape,
)
from tests.graphql_client import GraphQLClient
from tests.world import World, gid, snapshot

PASSWORD = "correct horse battery"


@dataclass
class Lab:
    group: ExperimenterGroup
    closed: ExperimenterGroup
    alice: Experimenter
    bob: Experimenter
    carol: Experimenter
    project: Project
    dataset: Dataset
    image: Image
    roi: Roi
    shape: Shape
    bobs_project: Project
    carols_project: Project
    token: str
    ids: dict[str, str]


@pytest.fixture
def lab(world: World) -> Lab:
    """Alice and Bob share a read-annotate group; Carol works alone in a private one."""
    group = world.group("lab", "rwra--")
    closed = world.group("closed", "rw----")
    alice = world.user("alice", group)
    bob = world.user("bob", group)
    carol = world.user("carol", closed)
    project = world.add(Project, alice, group, name="Mitosis", description="cells dividing")
    dataset = world.add(Dataset, alice, group, name="Day 1")
    image = world.add(Image, alice, group, name="cell.tif")
    roi = world.add(Roi, alice, group, image_id=image.id, name="nucleus")
    shape = world.add(Shape, alice, group, roi_id=roi.id, shape_kind="point", x=1.0, y=2.0)
    bobs_project = world.add(Project, bob, group, name="Bob's")
    carols_project = world.add(Project, carol, closed, name="Carol's")
    ids = {
        "project": gid(project), "dataset": gid(dataset), "image": gid(image), "roi": gid(roi),
        "shape": gid(shape), "group": gid(group), "closed": gid(closed), "alice": gid(alice),
        "bobs_project": gid(bobs_project), "carols_project": gid(carols_project),
    }
    return Lab(group, closed, alice, bob, carol, project, dataset, image, roi, shape,
               bobs_project, carols_project, world.token(alice), ids)


def fill(value: Any, ids: dict[str, str]) -> Any:
    """Replace '{name}' placeholders in (nested) variables with the lab's global ids."""
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, list):
        return [fill(item, ids) for item in value]
    return value


ERROR = "__typename ... on Error { code message field }"

# Mutation name -> (operation text, its result field). Each takes its arguments as variables.
MUTATIONS = {
    "update": f"""
        mutation($id: ID!, $name: String, $description: String) {{
          update(input: {{id: $id, name: $name, description: $description}}) {{ {ERROR} }}
        }}""",
    "delete": f"mutation($ids: [ID!]!) {{ delete(ids: $ids) {{ {ERROR} }} }}",
    "link": f"""
        mutation($parent: ID!, $child: ID!) {{
          link(parent: $parent, child: $child) {{ {ERROR} }}
        }}""",
    "annotate": f"""
        mutation($targets: [ID!]!, $kind: AnnotationKind! = TAG, $text: String = "tag") {{
          annotate(input: {{kind: $kind, text: $text}}, targets: $targets) {{ {ERROR} }}
        }}""",
    "createProject": f"""
        mutation($name: String!, $description: String, $group: ID) {{
          createProject(input: {{name: $name, description: $description, group: $group}}) {{
            {ERROR} ... on ProjectPayload {{ project {{ id name description }} }}
          }}
        }}""",
    "createRoi": f"""
        mutation($image: ID!) {{
          createRoi(image: $image, shapes: [{{kind: POINT, x: 1, y: 1}}]) {{ {ERROR} }}
        }}""",
    "addShapes": f"""
        mutation($roi: ID!) {{
          addShapes(roi: $roi, shapes: [{{kind: POINT, x: 1, y: 1}}]) {{ {ERROR} }}
        }}""",
    "updateShape": f"""
        mutation($id: ID!) {{
          updateShape(id: $id, shape: {{kind: POINT, x: 5, y: 5}}) {{ {ERROR} }}
        }}""",
    "updateAnnotation": f"""
        mutation($id: ID!) {{
          updateAnnotation(id: $id, input: {{kind: TAG, text: "t"}}) {{ {ERROR} }}
        }}""",
    "linkAnnotation": f"""
        mutation($annotation: ID!, $targets: [ID!]!) {{
          linkAnnotation(annotation: $annotation, targets: $targets) {{ {ERROR} }}
        }}""",
    "unlinkAnnotation": f"""
        mutation($annotation: ID!, $target: ID!) {{
          unlinkAnnotation(annotation: $annotation, target: $target) {{ {ERROR} }}
        }}""",
    "addGroupMember": f"""
        mutation($group: ID!, $user: ID!) {{
          addGroupMember(group: $group, user: $user) {{ {ERROR} }}
        }}""",
    "changePassword": f"""
        mutation($user: ID) {{
          changePassword(newPassword: "long enough 123", user: $user) {{ {ERROR} }}
        }}""",
}


def mutate(api: GraphQLClient, token: str | None, mutation: str, /, **variables: Any
           ) -> dict[str, Any]:
    result: dict[str, Any] = api.data(MUTATIONS[mutation], token, **variables)[mutation]
    return result


def assert_error(result: dict[str, Any], typename: str, code: str, field: str | None) -> None:
    assert (result["__typename"], result["code"], result["field"]) == (typename, code, field), \
        result
    assert result["message"]


def query_error(api: GraphQLClient, token: str | None, query: str, **variables: Any
                ) -> dict[str, Any]:
    """The single error of a query that must fail as a whole or in one field."""
    errors = api.errors(query, token, **variables)
    assert len(errors) == 1, errors
    error: dict[str, Any] = errors[0]
    return error


# -- unknown ids -------------------------------------------------------------------------------

UNKNOWN = [
    pytest.param("update", {"id": "Project:999999", "name": "x"}, "id", id="update"),
    pytest.param("update", {"id": "Project:2147483647", "name": "x"}, "id", id="update-max-id"),
    pytest.param("delete", {"ids": ["Project:999999"]}, "ids.0", id="delete"),
    pytest.param("link", {"parent": "Project:999999", "child": "{dataset}"}, "parent",
                 id="link-parent"),
    pytest.param("link", {"parent": "{project}", "child": "Dataset:999999"}, "child",
                 id="link-child"),
    pytest.param("annotate", {"targets": ["{image}", "Image:999999"]}, "targets.1",
                 id="annotate"),
    pytest.param("createRoi", {"image": "Image:999999"}, "image", id="createRoi"),
    pytest.param("addShapes", {"roi": "Roi:999999"}, "roi", id="addShapes"),
    pytest.param("updateShape", {"id": "Shape:999999"}, "id", id="updateShape"),
    pytest.param("updateAnnotation", {"id": "Annotation:999999"}, "id", id="updateAnnotation"),
    pytest.param("linkAnnotation", {"annotation": "Annotation:999999", "targets": ["{image}"]},
                 "annotation", id="linkAnnotation"),
    pytest.param("unlinkAnnotation", {"annotation": "Annotation:999999", "target": "{image}"},
                 "annotation", id="unlinkAnnotation"),
    # Another group's object is as unknown as a missing one.
    pytest.param("update", {"id": "{carols_project}", "name": "x"}, "id", id="invisible"),
]


@pytest.mark.parametrize(("mutation", "variables", "field"), UNKNOWN)
def test_unknown_ids_are_not_found(api: GraphQLClient, db: Session, lab: Lab, mutation: str,
                                   variables: dict[str, Any], field: str) -> None:
    before = snapshot(db)
    variables = {key: fill(value, lab.ids) for key, value in variables.items()}
    result = mutate(api, lab.token, mutation, **variables)
    assert_error(result, "NotFoundError", "NOT_FOUND", field)
    assert snapshot(db) == before


@pytest.mark.parametrize("group", ["Group:999999", "{closed}"], ids=["missing", "not-mine"])
def test_creating_in_an_unknown_group_is_denied(api: GraphQLClient, db: Session, lab: Lab,
                                                group: str) -> None:
    """A group you are not in is refused the same way whether or not it exists."""
    before = snapshot(db)
    result = mutate(api, lab.token, "createProject", name="P", group=fill(group, lab.ids))
    assert_error(result, "PermissionDeniedError", "PERMISSION_DENIED", "group")
    assert snapshot(db) == before


def test_unknown_ids_read_as_null(api: GraphQLClient, lab: Lab) -> None:
    query = """
    query($ids: [ID!]!, $invisible: ID!) {
      project: node(id: "Project:999999") { id }
      user: node(id: "Experimenter:999999") { id }
      group: node(id: "Group:999999") { id }
      invisible: node(id: $invisible) { id }
      nodes(ids: $ids) { id }
    }
    """
    data = api.data(query, lab.token, ids=["Image:999999", lab.ids["image"], "Group:999999"],
                    invisible=lab.ids["carols_project"])
    assert data == {"project": None, "user": None, "group": None, "invisible": None,
                    "nodes": [None, {"id": lab.ids["image"]}, None]}


# -- malformed ids and ids of the wrong type -------------------------------------------------

MALFORMED = ["Bogus:1", "Project:abc", "Project:-1", "Project:99999999999999999999",
             "Project:9223372036854775808", "Project:0", "Project:", ":1", "1", "", "Project:1:2",
             "Project: 1", "Project:1.5", "Project:0x10", "Project:\u00b2", "Project:\u0661"]
NODE = "query($id: ID!) { node(id: $id) { id } }"


@pytest.mark.parametrize("bad", MALFORMED)
def test_malformed_ids_are_invalid(api: GraphQLClient, db: Session, lab: Lab, bad: str) -> None:
    error = query_error(api, lab.token, NODE, id=bad)
    assert error["extensions"] == {"code": "INVALID", "field": "id"}
    assert error["path"] == ["node"]
    before = snapshot(db)
    assert_error(mutate(api, lab.token, "update", id=bad, name="x"),
                 "ValidationError", "INVALID", "id")
    assert_error(mutate(api, lab.token, "delete", ids=[bad]), "ValidationError", "INVALID",
                 "ids.0")
    assert_error(mutate(api, lab.token, "annotate", targets=[bad]), "ValidationError",
                 "INVALID", "targets.0")
    assert snapshot(db) == before


WRONG_TYPE = [
    pytest.param("createRoi", {"image": "{dataset}"}, "image", id="dataset-as-image"),
    pytest.param("createProject", {"name": "P", "group": "{dataset}"}, "group",
                 id="dataset-as-group"),
    pytest.param("createProject", {"name": "P", "group": "Group:abc"}, "group",
                 id="malformed-group"),
    pytest.param("link", {"parent": "{dataset}", "child": "{project}"}, "child",
                 id="project-into-dataset"),
    pytest.param("link", {"parent": "{image}", "child": "{dataset}"}, "child",
                 id="dataset-into-image"),
    pytest.param("annotate", {"targets": ["{alice}"]}, "targets.0", id="annotate-a-user"),
    pytest.param("update", {"id": "{group}", "name": "x"}, "id", id="update-a-group"),
    pytest.param("delete", {"ids": ["{group}"]}, "ids.0", id="delete-a-group"),
    pytest.param("delete", {"ids": ["{alice}"]}, "ids.0", id="delete-a-user"),
    pytest.param("addShapes", {"roi": "{image}"}, "roi", id="image-as-roi"),
    pytest.param("updateShape", {"id": "{roi}"}, "id", id="roi-as-shape"),
    pytest.param("updateAnnotation", {"id": "{project}"}, "id", id="project-as-annotation"),
    pytest.param("linkAnnotation", {"annotation": "{project}", "targets": ["{image}"]},
                 "annotation", id="project-as-annotation-link"),
    pytest.param("addGroupMember", {"group": "{project}", "user": "{alice}"}, "group",
                 id="project-as-group"),
    pytest.param("addGroupMember", {"group": "{group}", "user": "{project}"}, "user",
                 id="project-as-user"),
    pytest.param("changePassword", {"user": "{dataset}"}, "user", id="dataset-as-user"),
]


@pytest.mark.parametrize(("mutation", "variables", "field"), WRONG_TYPE)
def test_ids_of_the_wrong_type_are_invalid(api: GraphQLClient, db: Session, lab: Lab,
                                           mutation: str, variables: dict[str, Any],
                                           field: str) -> None:
    before = snapshot(db)
    variables = {key: fill(value, lab.ids) for key, value in variables.items()}
    result = mutate(api, lab.token, mutation, **variables)
    assert_error(result, "ValidationError", "INVALID", field)
    assert snapshot(db) == before


WRONG_FILTER = [
    pytest.param("projects", "{group: $id}", "{dataset}", "filter.group", id="group"),
    pytest.param("projects", "{owner: $id}", "{group}", "filter.owner", id="owner"),
    pytest.param("projects", "{tag: $id}", "{project}", "filter.tag", id="tag"),
    pytest.param("projects", "{parent: $id}", "Bogus:1", "filter.parent", id="parent-kind"),
    pytest.param("images", "{parent: $id}", "{project}", "filter.parent", id="parent-of-image"),
    pytest.param("projects", "{parent: $id}", "{dataset}", "filter.parent",
                 id="dataset-as-parent-of-project"),
    pytest.param("annotations", "{owner: $id}", "Project:abc", "filter.owner",
                 id="annotation-owner"),
]


@pytest.mark.parametrize(("field_name", "filter_text", "value", "field"), WRONG_FILTER)
def test_filter_ids_of_the_wrong_type_are_invalid(api: GraphQLClient, lab: Lab,
                                                  field_name: str, filter_text: str,
                                                  value: str, field: str) -> None:
    query = f"query($id: ID) {{ {field_name}(filter: {filter_text}) {{ nodes {{ id }} }} }}"
    error = query_error(api, lab.token, query, id=fill(value, lab.ids))
    assert error["extensions"] == {"code": "INVALID", "field": field}
    assert error["path"] == [field_name]


# -- strings: too long, empty, control characters ------------------------------------------

@pytest.mark.parametrize(("variables", "field"), [
    pytest.param({"name": "x" * 256}, "name", id="name-256"),
    pytest.param({"name": "x" * 100_000}, "name", id="name-100k"),
    pytest.param({"name": "ok", "description": "d" * 10_001}, "description",
                 id="description-10001"),
])
def test_oversized_strings_are_rejected(api: GraphQLClient, db: Session, lab: Lab,
                                        variables: dict[str, Any], field: str) -> None:
    before = snapshot(db)
    result = mutate(api, lab.token, "createProject", **variables)
    assert_error(result, "ValidationError", "INVALID", field)
    assert "at most" in result["message"]
    renamed = mutate(api, lab.token, "update", id=lab.ids["project"], **variables)
    assert_error(renamed, "ValidationError", "INVALID", field)
    assert snapshot(db) == before


def test_strings_at_the_limits_are_accepted(api: GraphQLClient, db: Session, lab: Lab) -> None:
    result = mutate(api, lab.token, "createProject", name="n" * 255, description="d" * 10_000)
    assert result["__typename"] == "ProjectPayload"
    pk = int(result["project"]["id"].split(":")[1])
    stored = db.execute(select(func.length(Project.name), func.length(Project.description))
                        .where(Project.id == pk)).one()
    assert tuple(stored) == (255, 10_000)


def test_oversized_annotation_and_filter_text(api: GraphQLClient, db: Session, lab: Lab) -> None:
    before = snapshot(db)
    tag = mutate(api, lab.token, "annotate", targets=[lab.ids["image"]], text="t" * 256)
    assert_error(tag, "ValidationError", "INVALID", "text")
    comment = mutate(api, lab.token, "annotate", targets=[lab.ids["image"]], kind="COMMENT",
                     text="c" * 10_001)
    assert_error(comment, "ValidationError", "INVALID", "text")
    assert snapshot(db) == before
    error = query_error(api, lab.token,
                        "query($s: String) { projects(filter: {nameContains: $s}) { totalCount } }",
                        s="x" * 256)
    assert error["extensions"] == {"code": "INVALID", "field": "filter.nameContains"}


@pytest.mark.parametrize("name", ["", " ", "   ", "\u00a0", "\u3000 \u2003"],
                         ids=["empty", "space", "spaces", "nbsp", "unicode-spaces"])
def test_empty_names_are_rejected(api: GraphQLClient, db: Session, lab: Lab, name: str) -> None:
    before = snapshot(db)
    created = mutate(api, lab.token, "createProject", name=name)
    assert_error(created, "ValidationError", "INVALID", "name")
    assert created["message"] == "name must not be empty"
    renamed = mutate(api, lab.token, "update", id=lab.ids["project"], name=name)
    assert_error(renamed, "ValidationError", "INVALID", "name")
    tag = mutate(api, lab.token, "annotate", targets=[lab.ids["image"]], text=name)
    assert_error(tag, "ValidationError", "INVALID", "text")
    assert snapshot(db) == before


CONTROL = {
    "nul": "a\x00b", "newline": "line\nbreak", "tab": "tab\there", "carriage-return": "cr\rhere",
    "escape": "\x1b[31mred", "delete": "del\x7f", "c1": "c1\x85", "rtl-override": "abc\u202etxt",
    "zero-width-space": "zero\u200bwidth", "bom": "\ufeffbom",
    "lone-surrogate": "half\ud800",
}


def has_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        return any("\ud800" <= ch <= "\udfff" for ch in value)
    if isinstance(value, dict):
        return any(has_surrogate(v) for v in value.values())
    return False


REFUSED = {"refused": True}


def post_json(api: GraphQLClient, token: str | None, query: str, **variables: Any
              ) -> dict[str, Any]:
    """Post with json.dumps' escaping, so lone surrogates travel as '\\ud800' like any client.

    A lone surrogate is not Unicode text: such bodies are refused whole (HTTP 400, JSON error)
    before GraphQL sees them; REFUSED stands for that answer.
    """
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    body = json.dumps({"query": query, "variables": variables})
    response = api.client.post("/graphql", content=body.encode("ascii"), headers=headers)
    if has_surrogate(variables):
        assert response.status_code == 400, response.text
        assert response.json()["errors"][0]["extensions"] == {"code": "BAD_REQUEST"}
        return REFUSED
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


@pytest.mark.parametrize("text", CONTROL.values(), ids=CONTROL.keys())
def test_control_characters_in_names_are_rejected(api: GraphQLClient, db: Session, lab: Lab,
                                                  text: str) -> None:
    before = snapshot(db)
    for name, variables in [("createProject", {"name": text}),
                            ("update", {"id": lab.ids["project"], "name": text})]:
        body = post_json(api, lab.token, MUTATIONS[name], **variables)
        if body is REFUSED:
            continue
        assert "errors" not in body, body
        result = body["data"][name]
        assert_error(result, "ValidationError", "INVALID", "name")
        assert result["message"] == "name contains control characters"
    assert snapshot(db) == before


@pytest.mark.parametrize("text", ["a\x00b", "half\ud800", "\x1b[2J"],
                         ids=["nul", "surrogate", "escape"])
def test_control_characters_in_descriptions_are_rejected(api: GraphQLClient, db: Session,
                                                         lab: Lab, text: str) -> None:
    before = snapshot(db)
    body = post_json(api, lab.token, MUTATIONS["createProject"], name="ok", description=text)
    if body is not REFUSED:
        assert_error(body["data"]["createProject"], "ValidationError", "INVALID", "description")
    assert snapshot(db) == before


def test_ordinary_unicode_and_multiline_descriptions_are_kept(api: GraphQLClient, db: Session,
                                                             lab: Lab) -> None:
    result = mutate(api, lab.token, "createProject", name="  Zellteilung 🧬 5 µm  ",
                    description="line one\n\tline two\r\n")
    assert result["__typename"] == "ProjectPayload", result
    assert result["project"]["name"] == "Zellteilung 🧬 5 µm"
    assert result["project"]["description"] == "line one\n\tline two\r\n"
    # NFC: a decomposed 'é' is stored composed.
    composed = mutate(api, lab.token, "createProject", name="Cafe\u0301")
    assert composed["project"]["name"] == "Caf\u00e9"


@pytest.mark.parametrize("text", ["a\x00b", "half\ud800"], ids=["nul", "surrogate"])
@pytest.mark.parametrize(("field_name", "filter_text", "field"), [
    ("projects", "{nameContains: $s}", "filter.nameContains"),
    ("projects", "{tagText: $s}", "filter.tagText"),
    ("projects", "{keyValue: {key: $s}}", "filter.keyValue.key"),
    ("annotations", "{namespace: $s}", "filter.namespace"),
    ("annotations", "{kind: $s}", "filter.kind"),
], ids=["nameContains", "tagText", "keyValue", "namespace", "kind"])
def test_unsearchable_filter_text_is_invalid(api: GraphQLClient, lab: Lab, field_name: str,
                                             filter_text: str, field: str, text: str) -> None:
    kind = "String!" if "keyValue" in filter_text else "String"
    query = f"query($s: {kind}) {{ {field_name}(filter: {filter_text}) {{ nodes {{ id }} }} }}"
    body = post_json(api, lab.token, query, s=text)
    if body is REFUSED:
        return
    assert len(body["errors"]) == 1, body
    assert body["errors"][0]["extensions"] == {"code": "INVALID", "field": field}


# -- query size limits ------------------------------------------------------------------------

def _nested(levels: int, leaf: str = "id") -> str:
    """projects -> nodes -> datasets -> projects -> datasets -> ..."""
    inner = leaf
    for depth in reversed(range(levels)):
        inner = f"{'projects' if depth % 2 else 'datasets'} {{ {inner} }}"
    return inner


def test_too_deep_queries_are_refused(api: GraphQLClient, lab: Lab) -> None:
    body = api.execute(f"{{ projects {{ nodes {{ {_nested(12)} }} }} }}", lab.token)
    assert body["data"] is None
    assert len(body["errors"]) == 1
    assert "depth" in body["errors"][0]["message"]
    assert "12" in body["errors"][0]["message"]
    assert body["errors"][0]["extensions"]["code"] == "QUERY_TOO_DEEP"
    # Just under the limit is fine.
    assert api.data(f"{{ projects {{ nodes {{ {_nested(9)} }} }} }}", lab.token)


def test_too_deep_mutations_do_nothing(api: GraphQLClient, db: Session, lab: Lab) -> None:
    before = snapshot(db)
    selection = "{ ... on ProjectPayload { project { DEEP } } }".replace("DEEP", _nested(12))
    body = api.execute(f'mutation {{ createProject(input: {{name: "Deep"}}) {selection} }}',
                       lab.token)
    assert body["data"] is None
    assert "depth" in body["errors"][0]["message"]
    assert snapshot(db) == before


def test_too_many_aliases_are_refused(api: GraphQLClient, lab: Lab) -> None:
    many = " ".join(f"a{i}: me {{ id }}" for i in range(51))
    body = api.execute(f"{{ {many} }}", lab.token)
    assert body["data"] is None
    assert [e["message"] for e in body["errors"]] == ["51 aliases found. Allowed: 50"]
    assert body["errors"][0]["extensions"]["code"] == "TOO_MANY_ALIASES"
    fifty = " ".join(f"a{i}: me {{ id }}" for i in range(50))
    assert len(api.data(f"{{ {fifty} }}", lab.token)) == 50


def test_too_many_tokens_are_refused(api: GraphQLClient, db: Session, lab: Lab) -> None:
    body = api.execute("{ " + "me { id } " * 1000 + " }", lab.token)
    assert body["data"] is None
    assert len(body["errors"]) == 1
    assert "more than 4000 tokens" in body["errors"][0]["message"]
    assert body["errors"][0]["extensions"]["code"] == "TOO_MANY_TOKENS"
    before = snapshot(db)
    padding = " ".join(["__typename"] * 4000)
    body = api.execute(f'mutation {{ createProject(input: {{name: "Big"}}) {{ {padding} }} }}',
                       lab.token)
    assert body["data"] is None
    assert "tokens" in body["errors"][0]["message"]
    assert snapshot(db) == before


COSTLY = """
query($n: Int = 1000) {
  projects(first: $n) {
    edges { node {
      datasets {
        images(first: 1000) { edges { node {
          datasets { id name }
          annotations { id ... on TagAnnotation { text } }
        } } }
      }
    } }
  }
}
"""


@pytest.mark.parametrize("variables", [{}, {"n": 500}], ids=["default", "variable"])
def test_too_costly_queries_are_refused(api: GraphQLClient, lab: Lab,
                                        variables: dict[str, Any]) -> None:
    body = api.execute(COSTLY, lab.token, **variables)
    assert body["data"] is None
    assert len(body["errors"]) == 1
    extensions = body["errors"][0]["extensions"]
    assert extensions["code"] == "QUERY_TOO_COSTLY"
    assert extensions["limit"] == 200_000
    assert extensions["cost"] > extensions["limit"]
    # The same shape with small pages is affordable.
    assert api.data(COSTLY, lab.token, n=2)["projects"]["edges"]


def test_too_costly_mutations_do_nothing(api: GraphQLClient, db: Session, lab: Lab) -> None:
    before = snapshot(db)
    body = api.execute("""
    mutation {
      createProject(input: {name: "Costly"}) {
        ... on ProjectPayload { project { datasets {
          images(first: 1000) { nodes { datasets { images(first: 1000) { nodes { id } } } } }
        } } }
      }
    }""", lab.token)
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "QUERY_TOO_COSTLY"
    assert snapshot(db) == before


# -- pagination arguments ---------------------------------------------------------------------

@pytest.mark.parametrize(("arguments", "field"), [
    ("first: 5000", "first"), ("first: 1001", "first"), ("first: -1", "first"),
    ("last: 5000", "last"), ("last: -3", "last"), ("first: 1, last: 1", "last"),
], ids=["first-5000", "first-1001", "first-negative", "last-5000", "last-negative", "both"])
def test_page_sizes_outside_the_cap_are_invalid(api: GraphQLClient, lab: Lab, arguments: str,
                                                field: str) -> None:
    error = query_error(api, lab.token, f"{{ projects({arguments}) {{ nodes {{ id }} }} }}")
    assert error["extensions"] == {"code": "INVALID", "field": field}
    assert error["path"] == ["projects"]
    nested_query = ("query($id: ID!) { node(id: $id) { ... on Dataset "
                    "{ images(ARGS) { nodes { id } } } } }").replace("ARGS", arguments)
    nested = query_error(api, lab.token, nested_query, id=lab.ids["dataset"])
    assert nested["extensions"] == {"code": "INVALID", "field": field}
    assert nested["path"] == ["node", "images"]


def test_page_sizes_at_the_cap_are_fine(api: GraphQLClient, lab: Lab) -> None:
    assert len(api.data("{ projects(first: 1000) { nodes { id } } }", lab.token)
               ["projects"]["nodes"]) == 2
    assert api.data("{ projects(first: 0) { nodes { id } } }", lab.token)["projects"] == {
        "nodes": []}


def test_page_sizes_beyond_graphql_int_are_refused(api: GraphQLClient, lab: Lab) -> None:
    body = api.execute("{ projects(first: 2147483648) { nodes { id } } }", lab.token)
    assert body["data"] is None
    messages = [e["message"] for e in body["errors"]]
    assert "Int cannot represent non 32-bit signed integer value: 2147483648" in messages
    # As a variable the value is priced before it is coerced: refused as too costly.
    body = api.execute("query($n: Int) { projects(first: $n) { nodes { id } } }", lab.token,
                       n=2**31)
    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["QUERY_TOO_COSTLY"]


def _cursor(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


MALFORMED_CURSORS = [
    pytest.param("ID", "garbage!", id="not-base64"),
    pytest.param("ID", "", id="empty"),
    pytest.param("ID", _cursor(b"not json"), id="not-json"),
    pytest.param("ID", _cursor(b"\xff\xfe\x00"), id="not-utf8"),
    pytest.param("ID", _cursor(b'{"a": 1}'), id="object"),
    pytest.param("ID", _cursor(b"[1]"), id="one-item"),
    pytest.param("ID", _cursor(b"[1, 2, 3]"), id="three-items"),
    pytest.param("ID", _cursor(b'[1, "1"]'), id="string-id"),
    pytest.param("ID", _cursor(b"[1, 2]"), id="value-is-not-id"),
    pytest.param("ID", _cursor(b"[true, true]"), id="boolean-id"),
    pytest.param("ID", _cursor(b"[1.5, 1.5]"), id="float-id"),
    pytest.param("ID", _cursor(b"[99999999999999999999999, 99999999999999999999999]"),
                 id="huge-id"),
    pytest.param("NAME", _cursor(b"[1, 1]"), id="name-not-string"),
    pytest.param("NAME", _cursor(b'["a\\u0000", 1]'), id="name-with-nul"),
    pytest.param("NAME", _cursor(b'["x", 9223372036854775808]'), id="name-huge-id"),
    pytest.param("CREATED", _cursor(b'["yesterday", 1]'), id="created-not-a-time"),
    pytest.param("CREATED", _cursor(b'["2026-01-01T00:00:00", 1]'), id="created-naive"),
    pytest.param("UPDATED", _cursor(b"[0, 1]"), id="updated-number"),
]


@pytest.mark.parametrize(("sort", "cursor"), MALFORMED_CURSORS)
def test_malformed_cursors_are_invalid(api: GraphQLClient, lab: Lab, sort: str,
                                       cursor: str) -> None:
    for direction, size in (("after", "first"), ("before", "last")):
        query = (f"query($c: String) {{ projects({direction}: $c, {size}: 5, "
                 f"sort: {{field: {sort}}}) {{ nodes {{ id }} }} }}")
        error = query_error(api, lab.token, query, c=cursor)
        assert error["extensions"] == {"code": "INVALID", "field": direction}, error
        assert error["message"] == "malformed cursor"


def test_well_formed_cursors_page_through(api: GraphQLClient, lab: Lab) -> None:
    """The control for the cursor cases: real cursors work in every sort order."""
    for sort in ("ID", "NAME", "CREATED", "UPDATED"):
        query = ("query($c: String) { projects(first: 1, after: $c, sort: {field: SORT}) "
                 "{ nodes { id } pageInfo { endCursor hasNextPage } } }").replace("SORT", sort)
        first = api.data(query, lab.token, c=None)["projects"]
        second = api.data(query, lab.token, c=first["pageInfo"]["endCursor"])["projects"]
        assert first["pageInfo"]["hasNextPage"] is True
        assert second["nodes"] and second["nodes"] != first["nodes"]


# -- authentication ---------------------------------------------------------------------------

@pytest.mark.parametrize("query", [
    "{ me { id } }",
    "{ projects { nodes { id } } }",
    '{ node(id: "Project:1") { id } }',
    "{ groups { id } }",
    "{ experimenters { id } }",
], ids=["me", "projects", "node", "groups", "experimenters"])
@pytest.mark.parametrize("authorization", [None, "Basic YWxpY2U6cHc=", "Bearer", "Bearer   "],
                         ids=["none", "basic", "bearer-empty", "bearer-blank"])
def test_queries_without_a_token_are_unauthenticated(api: GraphQLClient, lab: Lab, query: str,
                                                     authorization: str | None) -> None:
    headers = {"authorization": authorization} if authorization else {}
    response = api.client.post("/graphql", json={"query": query}, headers=headers)
    assert response.status_code == 200
    body = response.json()
    # Non-null roots null the whole data; node is nullable and is null on its own.
    assert body["data"] in (None, {"node": None})
    assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"]


@pytest.mark.parametrize(("mutation", "variables"), [
    ("createProject", {"name": "Anonymous"}),
    ("update", {"id": "{project}", "name": "Anonymous"}),
    ("delete", {"ids": ["{project}"]}),
    ("annotate", {"targets": ["{image}"]}),
    ("link", {"parent": "{project}", "child": "{dataset}"}),
    ("changePassword", {}),
], ids=["createProject", "update", "delete", "annotate", "link", "changePassword"])
def test_mutations_without_a_token_are_unauthenticated(api: GraphQLClient, db: Session,
                                                       lab: Lab, mutation: str,
                                                       variables: dict[str, Any]) -> None:
    before = snapshot(db)
    variables = {key: fill(value, lab.ids) for key, value in variables.items()}
    errors = api.errors(MUTATIONS[mutation], None, **variables)
    assert [e["extensions"]["code"] for e in errors] == ["UNAUTHENTICATED"]
    assert errors[0]["path"] == [mutation]
    assert snapshot(db) == before


def _bad_token(world: World, db: Session, lab: Lab, kind: str) -> str:
    if kind == "expired":
        return world.token(lab.alice, expires_in=dt.timedelta(seconds=-1))
    if kind == "idle":
        token = world.token(lab.alice)
        db.execute(update(AuthSession).where(AuthSession.experimenter_id == lab.alice.id)
                   .values(last_seen=utcnow() - dt.timedelta(days=1)))
        db.commit()
        return token
    if kind == "revoked":
        token = world.token(lab.alice)
        db.execute(update(AuthSession).values(revoked=True))
        db.commit()
        return token
    if kind == "inactive-user":
        token = world.token(lab.bob)
        lab.bob.active = False
        db.commit()
        return token
    if kind == "garbage":
        return "not-a-token"
    assert kind == "overlong"
    return "x" * 300


BAD_TOKENS = ["expired", "idle", "revoked", "inactive-user", "garbage", "overlong"]


@pytest.mark.parametrize("kind", BAD_TOKENS)
def test_bad_tokens_get_401(api: GraphQLClient, world: World, db: Session, lab: Lab,
                            kind: str) -> None:
    token = _bad_token(world, db, lab, kind)
    before = snapshot(db)
    for query in ("{ me { id } }", 'mutation { createProject(input: {name: "X"}) { __typename } }'):
        response = api.client.post("/graphql", json={"query": query},
                                   headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, response.text
        assert response.headers["www-authenticate"].startswith("Bearer")
        errors = response.json()["errors"]
        assert [e["extensions"]["code"] for e in errors] == ["UNAUTHENTICATED"]
    assert snapshot(db) == before


LOGIN = """
mutation($username: String!, $password: String!) {
  login(username: $username, password: $password) {
    __typename
    ... on LoginPayload { token user { username } }
    ... on Error { code message field }
  }
}
"""


@functools.cache
def password_hash() -> str:
    return hash_password(PASSWORD)


@pytest.fixture
def with_password(world: World, db: Session, lab: Lab) -> Lab:
    lab.alice.password_hash = password_hash()
    lab.bob.password_hash = password_hash()
    lab.bob.active = False
    db.commit()
    return lab


@pytest.mark.parametrize(("username", "password"), [
    pytest.param("alice", "wrong password", id="wrong-password"),
    pytest.param("nobody", PASSWORD, id="unknown-user"),
    pytest.param("carol", PASSWORD, id="no-password-set"),
    pytest.param("bob", PASSWORD, id="inactive-user"),
    pytest.param("ALICE", PASSWORD, id="username-case"),
    pytest.param("alice", PASSWORD + "x" * 2000, id="overlong-password"),
    pytest.param("alice", "", id="empty-password"),
    pytest.param("", PASSWORD, id="empty-username"),
    pytest.param("a" * 10_000, PASSWORD, id="overlong-username"),
    pytest.param("ali\x00ce", PASSWORD, id="nul-in-username"),
    pytest.param("alice\ud800", PASSWORD, id="surrogate-in-username"),
    pytest.param("alice", "pass\ud800word", id="surrogate-in-password"),
])
def test_failed_logins_all_look_the_same(api: GraphQLClient, db: Session, with_password: Lab,
                                         username: str, password: str) -> None:
    before = snapshot(db)
    body = json.dumps({"query": LOGIN, "variables": {"username": username,
                                                      "password": password}})
    response = api.client.post("/graphql", content=body.encode("ascii"),
                               headers={"content-type": "application/json"})
    assert "set-cookie" not in response.headers
    if has_surrogate({"u": username, "p": password}):
        assert response.status_code == 400  # not Unicode text: refused before any lookup
        assert snapshot(db) == before
        return
    assert response.status_code == 200
    result = response.json()["data"]["login"]
    assert result == {"__typename": "AuthenticationError", "code": "UNAUTHENTICATED",
                      "message": "wrong username or password", "field": "password"}
    assert snapshot(db) == before


def test_right_password_logs_in(api: GraphQLClient, db: Session, with_password: Lab) -> None:
    """The control for the failed logins."""
    result = api.data(LOGIN, username="alice", password=PASSWORD)["login"]
    assert result["__typename"] == "LoginPayload"
    assert result["user"] == {"username": "alice"}
    assert api.data("{ me { username } }", result["token"])["me"]["username"] == "alice"
    assert db.scalar(select(func.count()).select_from(AuthSession)) == 2


# -- cookies need the CSRF header --------------------------------------------------------------

CREATE_BY_COOKIE = 'mutation { createProject(input: {name: "By cookie"}) { __typename } }'


@pytest.mark.parametrize("query", [CREATE_BY_COOKIE, "{ me { username } }"],
                         ids=["mutation", "query"])
def test_cookie_posts_without_csrf_header_are_forbidden(api: GraphQLClient, db: Session,
                                                        lab: Lab, query: str) -> None:
    api.client.cookies.set("omegraph_session", lab.token)
    before = snapshot(db)
    response = api.client.post("/graphql", json={"query": query})
    assert response.status_code == 403
    errors = response.json()["errors"]
    assert [e["extensions"]["code"] for e in errors] == ["FORBIDDEN"]
    assert "x-omegraph-csrf" in errors[0]["message"]
    assert snapshot(db) == before


def test_cookie_posts_with_csrf_header_work(api: GraphQLClient, db: Session, lab: Lab) -> None:
    api.client.cookies.set("omegraph_session", lab.token)
    response = api.client.post("/graphql", json={"query": CREATE_BY_COOKIE},
                               headers={"X-OMEGraph-CSRF": "1"})
    assert response.status_code == 200
    assert response.json() == {"data": {"createProject": {"__typename": "ProjectPayload"}}}
    assert db.scalar(select(Project.owner_id).where(Project.name == "By cookie")) == lab.alice.id


def test_cookie_gets_cannot_mutate(api: GraphQLClient, db: Session, lab: Lab) -> None:
    api.client.cookies.set("omegraph_session", lab.token)
    before = snapshot(db)
    response = api.client.get("/graphql", params={"query": CREATE_BY_COOKIE})
    assert response.status_code == 400
    assert "mutations are not allowed" in response.text
    assert snapshot(db) == before
    # Reading by GET with the cookie is fine.
    read = api.client.get("/graphql", params={"query": "{ me { username } }"})
    assert read.json() == {"data": {"me": {"username": "alice"}}}


# -- delete is all or nothing -----------------------------------------------------------------

@pytest.mark.parametrize(("bad", "typename", "code"), [
    pytest.param("{bobs_project}", "PermissionDeniedError", "PERMISSION_DENIED",
                 id="not-allowed"),
    pytest.param("{carols_project}", "NotFoundError", "NOT_FOUND", id="invisible"),
    pytest.param("Project:999999", "NotFoundError", "NOT_FOUND", id="missing"),
    pytest.param("Bogus:1", "ValidationError", "INVALID", id="bogus"),
    pytest.param("{group}", "ValidationError", "INVALID", id="not-deletable-kind"),
])
def test_delete_is_all_or_nothing(api: GraphQLClient, db: Session, lab: Lab, bad: str,
                                  typename: str, code: str) -> None:
    before = snapshot(db)
    for ids, field in (([lab.ids["project"], fill(bad, lab.ids)], "ids.1"),
                       ([lab.ids["dataset"], lab.ids["image"], fill(bad, lab.ids)], "ids.2"),
                       ([fill(bad, lab.ids), lab.ids["project"]], "ids.0")):
        assert_error(mutate(api, lab.token, "delete", ids=ids), typename, code, field)
    assert snapshot(db) == before
    # The control: the deletable ones alone do go.
    deleted = api.data("mutation($ids: [ID!]!) { delete(ids: $ids) { ... on DeletePayload "
                       "{ deletedIds } } }", lab.token, ids=[lab.ids["project"]])
    assert deleted["delete"]["deletedIds"] == [lab.ids["project"]]


def test_too_many_ids_are_refused(api: GraphQLClient, db: Session, lab: Lab) -> None:
    before = snapshot(db)
    ids = [lab.ids["project"]] + [f"Project:{n}" for n in range(100_000, 101_000)]
    # Refused before graphql-core coerces the list item by item.
    for document in ("mutation($ids: [ID!]!) { delete(ids: $ids) { __typename } }",
                     "query($ids: [ID!]!) { nodes(ids: $ids) { id } }"):
        error = query_error(api, lab.token, document, ids=ids)
        assert error["extensions"] == {"code": "LIST_TOO_LONG"}
        assert "1000" in error["message"]
    assert snapshot(db) == before
