"""The SQL a page of images costs does not grow with the page: every relationship is batched.

Statements are counted on the one connection the test app's sessions are bound to, for the
whole HTTP request (authentication, savepoints and all). The page selects images with their
pixels, channels, datasets and their projects, owner, group and annotations (map pairs too),
which is: authentication (2), the page (1), pixels, channels, annotation links, annotations,
map pairs, dataset links, datasets, project links, projects, owners and groups (1 each), plus
the session's savepoint and its rollback: 16, the same for 10 images as for 100.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
import strawberry.dataloader
from sqlalchemy import event, insert, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker
from strawberry.dataloader import WrongNumberOfResultsReturned

from resolvers.filters import ListFilter
from resolvers.listing import PageRequest, SortField, encode_cursor, list_page
from resolvers.loaders import (
    Loaders,
    children_by_fk,
    select_snapshots,
    snapshot_class,
    snapshots,
)
from resolvers.sessions import load_actor
from resolvers.unit import RequestDb
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


# --------------------------------------------------------------------------- prefetch's batches


def test_a_prefetched_page_dispatches_no_dataloader_batch(
        api: GraphQLClient, world: World, db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every level below the page is loaded by prefetch's own batches, in one database call
    per level; no DataLoader batch (a task and a callback per key) is left to dispatch."""
    lab = world.group("lab", "rwra--")
    alice = world.user("alice", lab)
    token = world.token(alice)
    _arrange(db, alice, lab, 30)
    dispatched: list[int] = []
    original = strawberry.dataloader.dispatch

    def counting(loader: Any, batch: Any) -> None:
        dispatched.append(1)
        original(loader, batch)

    monkeypatch.setattr(strawberry.dataloader, "dispatch", counting)
    runs: list[str] = []
    run = RequestDb.run

    async def counting_run(self: RequestDb, fn: Any, *args: Any, **kwargs: Any) -> Any:
        runs.append(getattr(fn, "__name__", repr(fn)))
        return await run(self, fn, *args, **kwargs)

    monkeypatch.setattr(RequestDb, "run", counting_run)
    for shape in sorted(QUERIES):
        dispatched.clear()
        runs.clear()
        data = api.data(QUERIES[shape], token, n=30)["images"]
        nodes = data["nodes"] if shape == "nodes" else [e["node"] for e in data["edges"]]
        _check_page(nodes, 30)
        assert dispatched == [], shape
        # Levels: image -> pixels, owner, group, datasets, annotations; pixels -> channels,
        # datasets -> projects, annotations -> owners, pairs.
        assert runs.count("_run_fetches") == 2, runs


def test_run_queued_settles_futures_as_a_dataloader_would(
        world: World, db: Session, factory: sessionmaker[Session]) -> None:
    """A failing batch fails its own keys only (and is rolled back); a batch of the wrong
    length fails as a DataLoader's would; exceptions returned as values fail their key."""
    lab = world.group("lab")
    alice = world.user("alice", lab)
    actor = load_actor(db, alice)
    image = world.add(Image, alice, lab, name="one", series=0)
    request_db = RequestDb(factory)
    loaders = Loaders(request_db, actor)
    fetched: list[list[int]] = []

    def broken(session: Session, keys: list[int]) -> list[Any]:
        fetched.append(keys)
        session.execute(text("SELECT no_such_column FROM image"))
        raise AssertionError("unreachable")

    def short(_session: Session, keys: list[int]) -> list[Any]:
        return keys[1:]

    def mixed(_session: Session, keys: list[int]) -> list[Any]:
        return [ValueError(f"bad {key}") if key % 2 else key for key in keys]

    failing = loaders._loader(broken)
    wrong = loaders._loader(short)
    some = loaders._loader(mixed)
    images = loaders.object_by_id["Image"]

    async def scenario() -> None:
        cached = images.load(image.id)
        await cached
        with loaders.collecting() as queued:
            futures = {
                "failing": [failing.load(1), failing.load(2), failing.load(1)],
                "images": [images.load(image.id), images.load(image.id + 1000)],
                "wrong": [wrong.load(1), wrong.load(2)],
                "mixed": [some.load(1), some.load(2)],
            }
            assert futures["images"][0] is cached  # already loaded: not queued again
            assert futures["failing"][0] is futures["failing"][2]
        assert {loader: [key for key, _ in items] for loader, items in queued.items()} == {
            failing: [1, 2], images: [image.id + 1000], wrong: [1, 2], some: [1, 2]}
        await loaders.run_queued(queued)
        assert all(f.done() for fs in futures.values() for f in fs)  # type: ignore[attr-defined]
        assert fetched == [[1, 2]]
        for future in futures["failing"]:
            with pytest.raises(DBAPIError):
                await future
        # The failed batch was rolled back; the ones after it still ran.
        assert await futures["images"][1] is None
        for future in futures["wrong"]:
            with pytest.raises(WrongNumberOfResultsReturned):
                await future
        with pytest.raises(ValueError, match="bad 1"):
            await futures["mixed"][0]
        assert await futures["mixed"][1] == 2
        # Outside of collecting, loaders are DataLoaders again.
        assert (await images.load(image.id)).name == "one"
        assert await some.load(4) == 4
        await request_db.close()

    asyncio.run(scenario())


def test_loaders_and_pages_see_the_sessions_pending_changes(world: World, db: Session) -> None:
    """Snapshot queries are Core statements, which a session does not autoflush by itself."""
    lab = world.group("lab")
    alice = world.user("alice", lab)
    actor = load_actor(db, alice)
    image = world.add(Image, alice, lab, name="before", series=0)
    image.name = "after"
    db.add(Pixels(image_id=image.id, size_x=1, size_y=1, size_z=1, size_c=1, size_t=1,
                  pixel_type="uint8", owner_id=alice.id, group_id=lab.id))
    (pixels,) = children_by_fk(actor, Pixels, "image_id", Pixels.id)(db, [image.id])
    assert [p.image_id for p in pixels] == [image.id]
    page = list_page(db, Image, actor, ListFilter(), PageRequest(first=10), 10)
    assert [row.name for row in page.rows] == ["after"]
    assert isinstance(page.rows[0], snapshot_class(Image))
    db.rollback()


def test_a_pages_cursors_are_encoded_only_when_read(world: World, db: Session) -> None:
    lab = world.group("lab")
    alice = world.user("alice", lab)
    actor = load_actor(db, alice)
    for name in ("c", "a", "b"):
        world.add(Image, alice, lab, name=name, series=0)
    for request in (PageRequest(first=2, sort=SortField.NAME),
                    PageRequest(last=2, sort=SortField.NAME, descending=True)):
        page = list_page(db, Image, actor, ListFilter(), request, 2)
        expected = [encode_cursor(row.name, row.id) for row in page.rows]
        assert len(page.cursors) == 2
        assert (page.cursors[0], page.cursors[-1]) == (expected[0], expected[-1])
        assert list(page.cursors) == expected
        assert page.cursors == expected
        assert page.cursors[:1] == expected[:1]


def test_snapshots_are_read_only_rows_compared_by_identity(world: World, db: Session) -> None:
    lab = world.group("lab")
    alice = world.user("alice", lab)
    actor = load_actor(db, alice)
    image = world.add(Image, alice, lab, name="one", series=0, description="d")
    (row,) = snapshots(db, Image, select_snapshots(Image).where(Image.id == image.id))
    (again,) = snapshots(db, Image, select_snapshots(Image).where(Image.id == image.id))
    assert isinstance(row, snapshot_class(Image)) and row.kind == "Image"
    assert {name: getattr(row, name) for name in snapshot_class(Image)._fields} == {
        name: getattr(image, name) for name in snapshot_class(Image)._fields}
    assert row != again and row == row and len({row, again}) == 2
    with pytest.raises(AttributeError):
        row.name = "two"  # type: ignore[misc]
    assert getattr(row, "no_such_column", None) is None
    # Columns in another order (or extra ones) still land on the right attributes.
    table = Image.__table__
    (reordered,) = snapshots(db, Image, select(table.c.name, table.c.id, *table.c)
                             .where(table.c.id == image.id))
    assert (reordered.id, reordered.name, reordered.description) == (image.id, "one", "d")
    page = list_page(db, Image, actor, ListFilter(), PageRequest(), 10)
    assert [(type(row), row.id) for row in page.rows] == [(snapshot_class(Image), image.id)]
