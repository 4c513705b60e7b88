"""Connections: cursor pagination both ways, sorting, filters and total counts."""

from __future__ import annotations

import datetime as dt

import pytest

from store.models import (
    ANNOTATION_LINKS,
    Annotation,
    Dataset,
    DatasetImageLink,
    Image,
    MapValue,
)
from tests.graphql_client import GraphQLClient
from tests.world import World

IMAGES = """
query($first: Int, $after: String, $last: Int, $before: String, $sort: Sort,
      $filter: ObjectFilter) {
  images(first: $first, after: $after, last: $last, before: $before, sort: $sort,
         filter: $filter) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id name } }
  }
}
"""


@pytest.fixture
def lab(world: World) -> dict:
    group = world.group("lab", "rwr---")
    alice = world.user("alice", group)
    bob = world.user("bob", group)
    names = ["delta", "alpha", "echo", "charlie", "bravo", "alpha"]
    images = [world.add(Image, alice if i % 2 == 0 else bob, group, name=name)
              for i, name in enumerate(names)]
    return {"group": group, "alice": alice, "bob": bob, "images": images,
            "token": world.token(alice)}


def _names(result: dict) -> list[str]:
    return [edge["node"]["name"] for edge in result["images"]["edges"]]


def test_forward_pages_cover_everything_once(api: GraphQLClient, lab: dict) -> None:
    seen, after = [], None
    while True:
        page = api.data(IMAGES, lab["token"], first=4, after=after)["images"]
        seen += [edge["node"]["id"] for edge in page["edges"]]
        assert page["totalCount"] == 6
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == [f"Image:{image.id}" for image in lab["images"]]


def test_sort_by_name_with_ties_broken_by_id_both_directions(api: GraphQLClient,
                                                             lab: dict) -> None:
    by_name = {"field": "NAME"}
    first = api.data(IMAGES, lab["token"], first=3, sort=by_name)
    assert _names(first) == ["alpha", "alpha", "bravo"]
    rest = api.data(IMAGES, lab["token"], first=10, sort=by_name,
                    after=first["images"]["pageInfo"]["endCursor"])
    assert _names(rest) == ["charlie", "delta", "echo"]
    assert rest["images"]["pageInfo"]["hasPreviousPage"] is True

    descending = api.data(IMAGES, lab["token"], first=2,
                          sort={"field": "NAME", "descending": True})
    assert _names(descending) == ["echo", "delta"]

    backwards = api.data(IMAGES, lab["token"], last=2, sort=by_name,
                         before=rest["images"]["edges"][1]["cursor"])
    assert _names(backwards) == ["bravo", "charlie"]
    assert backwards["images"]["pageInfo"]["hasNextPage"] is True


def test_filters(api: GraphQLClient, world: World, lab: dict) -> None:
    alice, group, images = lab["alice"], lab["group"], lab["images"]
    dataset = world.add(Dataset, alice, group, name="d")
    for image in images[:2]:
        world.add(DatasetImageLink, alice, group, parent_id=dataset.id, child_id=image.id)
    tag = world.add(Annotation, alice, group, kind_name="tag", text_value="mitosis")
    kv = world.add(Annotation, alice, group, kind_name="map")
    world.db.add(MapValue(annotation_id=kv.id, index=0, key="strain", value="N2"))
    link = ANNOTATION_LINKS[Image]
    world.add(link, alice, group, parent_id=images[2].id, annotation_id=tag.id)
    world.add(link, alice, group, parent_id=images[3].id, annotation_id=kv.id)

    def ids(spec: dict) -> list[str]:
        page = api.data(IMAGES, lab["token"], filter=spec)["images"]
        assert page["totalCount"] == len(page["edges"])
        return [edge["node"]["id"] for edge in page["edges"]]

    def gid(image: Image) -> str:
        return f"Image:{image.id}"

    assert ids({"owner": f"Experimenter:{lab['bob'].id}"}) == [gid(i) for i in images[1::2]]
    assert ids({"nameContains": "LPH"}) == [gid(images[1]), gid(images[5])]
    assert ids({"nameContains": "%"}) == []  # LIKE wildcards are literal
    assert ids({"parent": f"Dataset:{dataset.id}"}) == [gid(i) for i in images[:2]]
    assert ids({"tag": f"Annotation:{tag.id}"}) == [gid(images[2])]
    assert ids({"tagText": "mitosis"}) == [gid(images[2])]
    assert ids({"keyValue": {"key": "strain", "value": "N2"}}) == [gid(images[3])]
    assert ids({"keyValue": {"key": "strain", "value": "CB4856"}}) == []
    assert ids({"group": f"Group:{group.id}", "nameContains": "echo"}) == [gid(images[2])]
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).isoformat()
    assert ids({"createdAfter": future}) == []
    assert len(ids({"createdBefore": future})) == 6


def test_dataset_images_field_is_a_paginated_connection(api: GraphQLClient, world: World,
                                                        lab: dict) -> None:
    alice, group = lab["alice"], lab["group"]
    dataset = world.add(Dataset, alice, group, name="d")
    for image in lab["images"]:
        world.add(DatasetImageLink, alice, group, parent_id=dataset.id, child_id=image.id)
    query = """query($id: ID!) { node(id: $id) { ... on Dataset {
        images(first: 2, sort: {field: NAME}) { totalCount nodes { name } } } } }"""
    images = api.data(query, lab["token"], id=f"Dataset:{dataset.id}")["node"]["images"]
    assert images == {"totalCount": 6, "nodes": [{"name": "alpha"}, {"name": "alpha"}]}
