"""The SQL a page of images costs does not grow with the page: every relationship is batched.

Statements are counted on the one connection the test app's sessions are bound to, for the
whole HTTP request (authentication, savepoints and all). The page selects images with their
pixels, channels, datasets and their projects, owner, group and annotations (map pairs too),
which is: authentication (2), the page (1), pixels, channels, annotation links, annotations,
map pairs, dataset links, datasets, project links, projects, owners and groups (1 each), plus
the session's savepoint and its rollback: 16, the same for 10 images as for 100.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event, insert
from sqlalchemy.orm import Session, sessionmaker

from store.models import (
    ANNOTATION_LINKS,
    Annotation,
    Channel,
    Dataset,
    DatasetImageLink,
    Experimenter,
    ExperimenterGroup,
    Image,
    MapValue,
    Pixels,
    Project,
    ProjectDatasetLink,
)
from tests.graphql_client import GraphQLClient
from tests.world import World

# What a page costs, whatever its size; see the module docstring for the count.
MAX_STATEMENTS = 20
PAGE_SIZES = (10, 100)

IMAGE_FIELDS = """
  id dbId name description acquisitionDate series created updated
  permissions { canAnnotate canEdit canDelete canLink }
  owner { id username }
  group { id name permissionString }
  pixels {
    id dbId sizeX sizeY sizeZ sizeC sizeT pixelType dimensionOrder significantBits
    created updated
    physicalSizeX { value unit } physicalSizeY { value unit }
    physicalSizeZ { value unit } timeIncrement { value unit }
    channels {
      id index name color fluor
      excitationWavelength { value unit } emissionWavelength { value unit }
    }
  }
  datasets { id name projects { id name } }
  annotations {
    __typename id namespace description kind
    owner { username }
    ... on TagAnnotation { text }
    ... on CommentAnnotation { text }
    ... on MapAnnotation { pairs { key value } }
  }
"""

# The same selection through both shapes of a connection.
QUERIES = {
    "nodes": "query($n: Int) { images(first: $n) { nodes { " + IMAGE_FIELDS + " } } }",
    "edges": "query($n: Int) { images(first: $n) { edges { cursor node { " + IMAGE_FIELDS
             + " } } } }",
}


def _ids(db: Session, model: Any, rows: list[dict[str, Any]]) -> list[int]:
    result = db.execute(insert(model).returning(model.id, sort_by_parameter_order=True), rows)
    return list(result.scalars())


def _arrange(db: Session, owner: Experimenter, group: ExperimenterGroup, images: int) -> None:
    """``images`` images, each fully described, in one dataset of one project; bulk inserts."""
    owned = {"owner_id": owner.id, "group_id": group.id}
    project = _ids(db, Project, [{"name": "screen-2024", **owned}])[0]
    dataset = _ids(db, Dataset, [{"name": "plate-1", **owned}])[0]
    db.execute(insert(ProjectDatasetLink), [{"parent_id": project, "child_id": dataset, **owned}])
    image_ids = _ids(db, Image, [{"name": f"image-{i:03d}", "series": 0, **owned}
                                 for i in range(images)])
    pixel_ids = _ids(db, Pixels, [
        {"image_id": image, "size_x": 512, "size_y": 512, "size_z": 5, "size_c": 3,
         "size_t": 1, "pixel_type": "uint16", "physical_size_x": 0.2,
         "physical_size_x_unit": "µm", "physical_size_y": 0.2, "physical_size_y_unit": "µm",
         **owned}
        for image in image_ids
    ])
    db.execute(insert(Channel), [
        {"pixels_id": pixels, "index": c, "name": f"ch{c}", "excitation_wavelength": 488.0,
         "excitation_wavelength_unit": "nm", **owned}
        for pixels in pixel_ids for c in range(3)
    ])
    db.execute(insert(DatasetImageLink), [{"parent_id": dataset, "child_id": image, **owned}
                                          for image in image_ids])
    # One tag on every image, and a map annotation of its own on each.
    tag = _ids(db, Annotation, [{"kind_name": "tag", "text_value": "mitosis", **owned}])[0]
    maps = _ids(db, Annotation, [{"kind_name": "map", "namespace": "ns", **owned}
                                 for _ in image_ids])
    db.execute(insert(MapValue), [
        {"annotation_id": annotation, "index": k, "key": key, "value": f"{key}-{annotation}"}
        for annotation in maps for k, key in enumerate(("gene", "cell line", "stain"))
    ])
    db.execute(insert(ANNOTATION_LINKS[Image]), [
        {"parent_id": image, "annotation_id": annotation, **owned}
        for image, own_map in zip(image_ids, maps, strict=True)
        for annotation in (tag, own_map)
    ])
    db.commit()


@pytest.fixture
def statements(factory: sessionmaker[Session]) -> Iterator[list[str]]:
    """Every SQL statement run on the test connection while the fixture is active."""
    connection = factory.kw["bind"]
    executed: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        executed.append(statement)

    event.listen(connection, "before_cursor_execute", count)
    yield executed
    event.remove(connection, "before_cursor_execute", count)


@pytest.mark.parametrize("shape", sorted(QUERIES))
def test_a_page_costs_the_same_statements_whatever_its_size(
        api: GraphQLClient, world: World, db: Session, statements: list[str], shape: str) -> None:
    lab = world.group("lab", "rwra--")
    alice = world.user("alice", lab)
    token = world.token(alice)
    _arrange(db, alice, lab, max(PAGE_SIZES))
    api.data(QUERIES[shape], token, n=1)  # session last_seen refreshed; caches warm

    counts = {}
    for size in PAGE_SIZES:
        statements.clear()
        data = api.data(QUERIES[shape], token, n=size)["images"]
        counts[size] = len(statements)
        nodes = data["nodes"] if shape == "nodes" else [e["node"] for e in data["edges"]]
        _check_page(nodes, size)
        assert counts[size] <= MAX_STATEMENTS, "\n".join(statements)

    assert counts[PAGE_SIZES[0]] == counts[PAGE_SIZES[-1]], counts


def _check_page(nodes: list[dict[str, Any]], size: int) -> None:
    """Everything asked for was loaded, so the count is of a complete page."""
    assert len(nodes) == size
    for image in nodes:
        assert image["owner"]["username"] == "alice"
        assert image["group"]["name"] == "lab"
        assert image["permissions"]["canEdit"] is True
        pixels = image["pixels"]
        assert pixels["physicalSizeX"] == {"value": 0.2, "unit": "µm"}
        assert pixels["physicalSizeZ"] is None
        assert [c["index"] for c in pixels["channels"]] == [0, 1, 2]
        assert pixels["channels"][0]["excitationWavelength"] == {"value": 488.0, "unit": "nm"}
        assert image["datasets"] == [{"id": image["datasets"][0]["id"], "name": "plate-1",
                                      "projects": [{"id": image["datasets"][0]["projects"][0]
                                                    ["id"], "name": "screen-2024"}]}]
        tag, own_map = image["annotations"]
        assert tag["__typename"] == "TagAnnotation"
        assert tag["text"] == "mitosis"
        assert tag["kind"] == "TAG"
        assert own_map["__typename"] == "MapAnnotation"
        assert [p["key"] for p in own_map["pairs"]] == ["gene", "cell line", "stain"]
        assert own_map["owner"] == {"username": "alice"}


TRICKY = """
query($n: Int, $withChannels: Boolean!) {
  images(first: $n) {
    nodes { a: pixels { id } ...Bits }
    edges { node { b: pixels { channels @include(if: $withChannels) { index } } } }
  }
}
fragment Bits on Annotated { annotations { ... on MapAnnotation { pairs { key } } } }
"""


def test_prefetching_follows_aliases_fragments_and_directives(
        api: GraphQLClient, world: World, db: Session, statements: list[str]) -> None:
    lab = world.group("lab", "rwra--")
    alice = world.user("alice", lab)
    token = world.token(alice)
    _arrange(db, alice, lab, 20)
    api.data(TRICKY, token, n=1, withChannels=True)

    counts = {}
    for size, with_channels in ((5, True), (20, True), (20, False)):
        statements.clear()
        data = api.data(TRICKY, token, n=size, withChannels=with_channels)["images"]
        counts[size, with_channels] = len(statements)
        assert len(data["nodes"]) == size
        for image, edge in zip(data["nodes"], data["edges"], strict=True):
            assert image["a"]["id"].startswith("Pixels:")
            assert [p["key"] for a in image["annotations"] if "pairs" in a
                    for p in a["pairs"]] == ["gene", "cell line", "stain"]
            channels = edge["node"]["b"].get("channels")
            assert channels == ([{"index": 0}, {"index": 1}, {"index": 2}]
                                if with_channels else None)

    assert counts[5, True] == counts[20, True], counts
    # A field left out by @include costs no query.
    assert counts[20, False] == counts[20, True] - 1, counts
