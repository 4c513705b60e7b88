"""OMERO's permission rules, cell by cell, through the real GraphQL API.

Every group permission level x the actor's role towards data owned by "owner" x operation is
its own test. Allowed operations must take effect; denied ones must return the typed error
(``PermissionDeniedError`` when the object is visible, ``NotFoundError`` when it is not) and
leave every table exactly as it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from store.models import (
    ANNOTATION_LINKS,
    Annotation,
    Dataset,
    Experimenter,
    ExperimenterGroup,
    Image,
    Project,
    ProjectDatasetLink,
    Roi,
    Shape,
)
from tests.graphql_client import GraphQLClient
from tests.world import World, gid, snapshot

LEVELS = ("rw----", "rwr---", "rwra--", "rwrw--")
ROLES = ("owner", "member", "group_owner", "admin", "nonmember")
OPERATIONS = ("view", "annotate", "edit", "delete", "link")

# What each role may do with the owner's data, per level (V view, A annotate, E edit,
# D delete, L link), as documented by OMERO.
#                 rw----   rwr---   rwra--   rwrw--
TABLE = {
    "owner":       ("VAEDL", "VAEDL", "VAEDL", "VAEDL"),
    "member":      ("",      "V",     "VA",    "VAEDL"),
    "group_owner": ("V EDL", "VAEDL", "VAEDL", "VAEDL"),
    "admin":       ("V EDL", "VAEDL", "VAEDL", "VAEDL"),
    "nonmember":   ("",      "",      "",      ""),
}
LETTER = {"view": "V", "annotate": "A", "edit": "E", "delete": "D", "link": "L"}


def allowed(level: str, role: str, operation: str) -> bool:
    return LETTER[operation] in TABLE[role][LEVELS.index(level)]


CELLS = [
    pytest.param(level, role, op, id=f"{level}-{role}-{op}")
    for level in LEVELS for role in ROLES for op in OPERATIONS
]


@dataclass
class Scene:
    group: ExperimenterGroup
    users: dict[str, Experimenter]
    project: Project
    dataset: Dataset


def arrange(world: World, level: str) -> Scene:
    lab = world.group(f"lab-{level}", level)
    elsewhere = world.group("elsewhere", "rwrw--")
    users = {
        "owner": world.user("owner", lab),
        "member": world.user("member", lab),
        "group_owner": world.user("boss", owner_of=(lab,)),
        "admin": world.user("root", elsewhere, admin=True),
        "nonmember": world.user("stranger", elsewhere),
    }
    owner = users["owner"]
    project = world.add(Project, owner, lab, name="Mitosis", description="cells dividing")
    dataset = world.add(Dataset, owner, lab, name="Day 1")
    return Scene(lab, users, project, dataset)


OUTCOME = """
  __typename
  ... on Error { code message field }
"""
VIEW = """
query($id: ID!) {
  node(id: $id) {
    id
    ... on Project {
      name
      permissions { canAnnotate canEdit canDelete canLink }
    }
  }
  projects { totalCount nodes { id } }
  datasets { nodes { id } }
}
"""
ANNOTATE = f"""
mutation($target: ID!) {{
  annotate(input: {{kind: TAG, text: "interesting"}}, targets: [$target]) {{
    {OUTCOME}
    ... on AnnotationPayload {{ annotation {{ id owner {{ username }} }} }}
  }}
}}
"""
EDIT = f"""
mutation($id: ID!) {{
  update(input: {{id: $id, name: "Renamed"}}) {{
    {OUTCOME}
    ... on UpdatePayload {{ node {{ id ... on Project {{ name }} }} }}
  }}
}}
"""
DELETE = f"""
mutation($id: ID!) {{
  delete(ids: [$id]) {{
    {OUTCOME}
    ... on DeletePayload {{ deletedIds }}
  }}
}}
"""
LINK = f"""
mutation($parent: ID!, $child: ID!) {{
  link(parent: $parent, child: $child) {{
    {OUTCOME}
    ... on LinkPayload {{ parent {{ id }} child {{ id }} }}
  }}
}}
"""


def run(api: GraphQLClient, token: str, scene: Scene, operation: str) -> dict[str, Any]:
    project, dataset = gid(scene.project), gid(scene.dataset)
    if operation == "annotate":
        return api.data(ANNOTATE, token, target=project)["annotate"]
    if operation == "edit":
        return api.data(EDIT, token, id=project)["update"]
    if operation == "delete":
        return api.data(DELETE, token, id=project)["delete"]
    assert operation == "link"
    return api.data(LINK, token, parent=project, child=dataset)["link"]


# The argument each mutation reports as the culprit.
FIELD = {"annotate": "targets.0", "edit": "id", "delete": "ids.0", "link": "parent"}


def check_view(api: GraphQLClient, token: str, scene: Scene, level: str, role: str) -> None:
    project = gid(scene.project)
    data = api.data(VIEW, token, id=project)
    listed = {node["id"] for node in data["projects"]["nodes"]}
    datasets = {node["id"] for node in data["datasets"]["nodes"]}
    if not allowed(level, role, "view"):
        assert data["node"] is None
        assert project not in listed
        assert gid(scene.dataset) not in datasets
        return
    assert data["node"]["id"] == project
    assert data["node"]["name"] == "Mitosis"
    assert project in listed
    assert gid(scene.dataset) in datasets
    # What the API says the viewer may do agrees with the table.
    assert data["node"]["permissions"] == {
        "canAnnotate": allowed(level, role, "annotate"),
        "canEdit": allowed(level, role, "edit"),
        "canDelete": allowed(level, role, "delete"),
        "canLink": allowed(level, role, "link"),
    }


def check_done(db: Session, scene: Scene, actor: Experimenter, operation: str,
               result: dict[str, Any], before: dict[str, list[Any]]) -> None:
    """The allowed operation took effect, and touched only what it should."""
    project_id = scene.project.id
    after = snapshot(db)
    changed = {name for name in after if after[name] != before[name]}
    if operation == "annotate":
        assert result["__typename"] == "AnnotationPayload"
        assert result["annotation"]["owner"]["username"] == actor.username
        link = ANNOTATION_LINKS[Project]
        rows = db.execute(select(link.owner_id, Annotation.text_value, Annotation.group_id)
                          .join(Annotation, Annotation.id == link.annotation_id)
                          .where(link.parent_id == project_id)).all()
        assert [tuple(row) for row in rows] == [(actor.id, "interesting", scene.group.id)]
        assert changed == {"annotation", link.__tablename__}
    elif operation == "edit":
        assert result["__typename"] == "UpdatePayload"
        assert result["node"] == {"id": gid(scene.project), "name": "Renamed"}
        assert db.scalar(select(Project.name).where(Project.id == project_id)) == "Renamed"
        assert changed == {"project"}
    elif operation == "delete":
        assert result == {"__typename": "DeletePayload", "deletedIds": [gid(scene.project)]}
        assert db.scalar(select(func.count()).where(Project.id == project_id)) == 0
        assert changed == {"project"}
    else:
        assert result["__typename"] == "LinkPayload"
        assert result["parent"]["id"] == gid(scene.project)
        assert result["child"]["id"] == gid(scene.dataset)
        rows = db.execute(select(ProjectDatasetLink.parent_id, ProjectDatasetLink.child_id,
                                 ProjectDatasetLink.owner_id)).all()
        assert [tuple(row) for row in rows] == [(project_id, scene.dataset.id, actor.id)]
        assert changed == {"project_dataset_link"}


@pytest.mark.parametrize(("level", "role", "operation"), CELLS)
def test_matrix(api: GraphQLClient, world: World, db: Session, level: str, role: str,
                operation: str) -> None:
    scene = arrange(world, level)
    actor = scene.users[role]
    token = world.token(actor)

    if operation == "view":
        check_view(api, token, scene, level, role)
        return

    before = snapshot(db)
    result = run(api, token, scene, operation)

    if allowed(level, role, operation):
        check_done(db, scene, actor, operation, result, before)
        return
    visible = allowed(level, role, "view")
    expected = ("PermissionDeniedError", "PERMISSION_DENIED") if visible else (
        "NotFoundError", "NOT_FOUND")
    assert (result["__typename"], result["code"]) == expected, result
    assert result["field"] == FIELD[operation]
    assert snapshot(db) == before
    if not visible:
        # An invisible object's error does not tell it apart from a missing one.
        missing = run(api, token, Scene(scene.group, scene.users,
                                        Project(id=999_999), Dataset(id=999_998)), operation)
        assert (missing["__typename"], missing["field"]) == ("NotFoundError", FIELD[operation])


def test_table_is_what_the_rules_module_documents() -> None:
    """Guard the table itself: OMERO's rules, restated independently of the code under test."""
    for index in range(len(LEVELS)):
        assert TABLE["owner"][index] == "VAEDL"
        assert TABLE["nonmember"][index] == ""
        assert TABLE["admin"][index] == TABLE["group_owner"][index]
    assert [TABLE["member"][i] for i in range(4)] == ["", "V", "VA", "VAEDL"]
    assert TABLE["group_owner"][0].replace(" ", "") == "VEDL"


# -- annotation links belong to whoever made them --------------------------------------------

TAG = """
mutation($target: ID!) {
  annotate(input: {kind: TAG, text: "mitotic"}, targets: [$target]) {
    __typename
    ... on AnnotationPayload { annotation { id } }
    ... on Error { code message field }
  }
}
"""
UNLINK_ANNOTATION = """
mutation($annotation: ID!, $target: ID!) {
  unlinkAnnotation(annotation: $annotation, target: $target) {
    __typename
    ... on AnnotationPayload { annotation { id } }
    ... on Error { code message field }
  }
}
"""
LINK_ANNOTATION = """
mutation($annotation: ID!, $target: ID!) {
  linkAnnotation(annotation: $annotation, targets: [$target]) {
    __typename
    ... on Error { code message field }
  }
}
"""


@dataclass
class Lab:
    users: dict[str, Experimenter]
    image: Image


def read_annotate_lab(world: World) -> Lab:
    lab = world.group("lab", "rwra--")
    elsewhere = world.group("elsewhere", "rwrw--")
    users = {
        "a": world.user("anna", lab),
        "b": world.user("bert", lab),
        "group_owner": world.user("boss", owner_of=(lab,)),
        "admin": world.user("root", elsewhere, admin=True),
    }
    image = world.add(Image, users["a"], lab, name="cell-01.tif")
    return Lab(users, image)


def image_annotation_links(db: Session, image: Image) -> list[tuple[int, int]]:
    link = ANNOTATION_LINKS[Image]
    rows = db.execute(select(link.annotation_id, link.owner_id)
                      .where(link.parent_id == image.id).order_by(link.id)).all()
    return [tuple(row) for row in rows]  # type: ignore[misc]


@pytest.mark.parametrize(("remover", "may"), [
    pytest.param("a", False, id="image-owner-denied"),
    pytest.param("b", True, id="link-owner"),
    pytest.param("group_owner", True, id="group-owner"),
    pytest.param("admin", True, id="admin"),
])
def test_annotation_links_belong_to_whoever_made_them(api: GraphQLClient, world: World,
                                                       db: Session, remover: str,
                                                       may: bool) -> None:
    lab = read_annotate_lab(world)
    b = lab.users["b"]
    tagged = api.data(TAG, world.token(b), target=gid(lab.image))["annotate"]
    assert tagged["__typename"] == "AnnotationPayload"
    tag = tagged["annotation"]["id"]
    tag_id = int(tag.split(":")[1])
    assert image_annotation_links(db, lab.image) == [(tag_id, b.id)]
    token = world.token(lab.users[remover])
    before = snapshot(db)

    result = api.data(UNLINK_ANNOTATION, token, annotation=tag,
                      target=gid(lab.image))["unlinkAnnotation"]

    if may:
        assert result == {"__typename": "AnnotationPayload", "annotation": {"id": tag}}
        assert image_annotation_links(db, lab.image) == []
        # Only the link went; the tag itself is still B's.
        assert db.scalar(select(Annotation.owner_id).where(Annotation.id == tag_id)) == b.id
    else:
        assert (result["__typename"], result["code"], result["field"]) == (
            "PermissionDeniedError", "PERMISSION_DENIED", "target")
        assert snapshot(db) == before


def test_unlinking_removes_only_your_own_link(api: GraphQLClient, world: World,
                                              db: Session) -> None:
    """A and B both linked B's tag to A's image: A's unlink removes A's link, not B's."""
    lab = read_annotate_lab(world)
    a, b = lab.users["a"], lab.users["b"]
    image = gid(lab.image)
    tag = api.data(TAG, world.token(b), target=image)["annotate"]["annotation"]["id"]
    tag_id = int(tag.split(":")[1])
    token_a = world.token(a)
    linked = api.data(LINK_ANNOTATION, token_a, annotation=tag, target=image)
    assert linked["linkAnnotation"]["__typename"] == "AnnotationPayload"
    assert sorted(image_annotation_links(db, lab.image)) == sorted([(tag_id, b.id),
                                                                    (tag_id, a.id)])

    result = api.data(UNLINK_ANNOTATION, token_a, annotation=tag, target=image)

    assert result["unlinkAnnotation"]["__typename"] == "AnnotationPayload", result
    assert image_annotation_links(db, lab.image) == [(tag_id, b.id)]


# -- nobody edits another user's ROI ------------------------------------------------------------

CREATE_ROI = """
mutation($image: ID!) {
  createRoi(image: $image, name: "nucleus",
            shapes: [{kind: RECTANGLE, x: 1, y: 2, width: 3, height: 4}]) {
    __typename
    ... on RoiPayload { roi { id shapes { id } } }
    ... on Error { code message field }
  }
}
"""
UPDATE_SHAPE = """
mutation($id: ID!) {
  updateShape(id: $id, shape: {kind: ELLIPSE, x: 10, y: 20, radiusX: 5, radiusY: 6}) {
    __typename
    ... on ShapePayload { shape { id kind x radiusX } }
    ... on Error { code message field }
  }
}
"""
ADD_SHAPES = """
mutation($roi: ID!) {
  addShapes(roi: $roi, shapes: [{kind: POINT, x: 7, y: 8}]) {
    __typename
    ... on RoiPayload { roi { id shapes { kind } } }
    ... on Error { code message field }
  }
}
"""
RENAME = """
mutation($id: ID!) {
  update(input: {id: $id, name: "mine now"}) {
    __typename
    ... on UpdatePayload { node { id } }
    ... on Error { code message field }
  }
}
"""


def _roi_edit(api: GraphQLClient, token: str, edit: str, roi: str, shape: str
              ) -> dict[str, Any]:
    if edit == "updateShape":
        return api.data(UPDATE_SHAPE, token, id=shape)["updateShape"]
    if edit == "addShapes":
        return api.data(ADD_SHAPES, token, roi=roi)["addShapes"]
    return api.data(RENAME, token, id=roi)["update"]


ROI_FIELD = {"updateShape": "id", "addShapes": "roi", "update": "id"}


@pytest.mark.parametrize("edit", ["updateShape", "addShapes", "update"])
@pytest.mark.parametrize("editor", ["a", "group_owner", "admin", "b"])
def test_nobody_edits_another_users_roi(api: GraphQLClient, world: World, db: Session,
                                        editor: str, edit: str) -> None:
    lab = read_annotate_lab(world)
    created = api.data(CREATE_ROI, world.token(lab.users["b"]), image=gid(lab.image))
    created = created["createRoi"]
    assert created["__typename"] == "RoiPayload", created
    roi, shape = created["roi"]["id"], created["roi"]["shapes"][0]["id"]
    token = world.token(lab.users[editor])
    before = snapshot(db)

    result = _roi_edit(api, token, edit, roi, shape)

    if editor != "b":
        assert (result["__typename"], result["code"], result["field"]) == (
            "PermissionDeniedError", "PERMISSION_DENIED", ROI_FIELD[edit]), result
        assert snapshot(db) == before
        return
    roi_id = int(roi.split(":")[1])
    if edit == "updateShape":
        assert result["shape"] == {"id": shape, "kind": "ELLIPSE", "x": 10.0, "radiusX": 5.0}
        assert db.execute(select(Shape.shape_kind, Shape.x, Shape.y, Shape.width)
                          .where(Shape.roi_id == roi_id)).one() == ("ellipse", 10.0, 20.0, None)
    elif edit == "addShapes":
        assert [s["kind"] for s in result["roi"]["shapes"]] == ["RECTANGLE", "POINT"]
        assert db.scalar(select(func.count()).where(Shape.roi_id == roi_id)) == 2
    else:
        assert result["__typename"] == "UpdatePayload"
        assert db.scalar(select(Roi.name).where(Roi.id == roi_id)) == "mine now"


# -- one group or all of them ---------------------------------------------------------------

SCOPED = """
query($group: ID) {
  projects(filter: {group: $group}) { totalCount nodes { name group { id } } }
  images(filter: {group: $group}) { nodes { name } }
}
"""


def test_users_query_across_all_their_groups_or_one(api: GraphQLClient, world: World) -> None:
    lab = world.group("lab", "rwra--")
    private = world.group("private", "rw----")
    closed = world.group("closed", "rwrw--")
    alice = world.user("alice", lab, private)
    bob = world.user("bob", lab, private, closed)
    root = world.user("root", admin=True)
    world.add(Project, alice, lab, name="alice-lab")
    world.add(Project, alice, private, name="alice-private")
    world.add(Project, bob, lab, name="bob-lab")
    world.add(Project, bob, private, name="bob-private")
    world.add(Project, bob, closed, name="bob-closed")
    world.add(Image, alice, lab, name="alice-lab.tif")
    world.add(Image, alice, private, name="alice-private.tif")
    token = world.token(alice)

    def names(group: ExperimenterGroup | None, as_token: str = token) -> tuple[set[str], ...]:
        data = api.data(SCOPED, as_token, group=gid(group) if group else None)
        projects = data["projects"]
        assert projects["totalCount"] == len(projects["nodes"])
        if group is not None:
            assert {node["group"]["id"] for node in projects["nodes"]} <= {gid(group)}
        return ({node["name"] for node in projects["nodes"]},
                {node["name"] for node in data["images"]["nodes"]})

    # All groups: own data everywhere, other members' data only where the group shares it.
    assert names(None) == ({"alice-lab", "alice-private", "bob-lab"},
                           {"alice-lab.tif", "alice-private.tif"})
    assert names(lab) == ({"alice-lab", "bob-lab"}, {"alice-lab.tif"})
    assert names(private) == ({"alice-private"}, {"alice-private.tif"})
    # A group she is not in shows nothing (and no error that would confirm its contents).
    assert names(closed) == (set(), set())
    # An admin sees one group's data when asked, everyone's otherwise.
    root_token = world.token(root)
    assert names(closed, root_token) == ({"bob-closed"}, set())
    assert len(names(None, root_token)[0]) == 5

