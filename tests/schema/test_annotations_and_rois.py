"""Every kind of annotation round-trips; ROIs with every shape kind."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from store.models import Annotation, Image, Project
from tests.graphql_client import GraphQLClient
from tests.world import World

ANNOTATE = """
mutation($input: AnnotationInput!, $targets: [ID!]!) {
  annotate(input: $input, targets: $targets) {
    __typename
    ... on AnnotationPayload { annotation { id kind namespace
      ... on TagAnnotation { text } ... on CommentAnnotation { text }
      ... on MapAnnotation { pairs { key value } } ... on RatingAnnotation { rating }
      ... on LongAnnotation { longValue: value } ... on DoubleAnnotation { doubleValue: value }
      ... on BooleanAnnotation { boolValue: value }
      ... on TimestampAnnotation { timeValue: value } } }
    ... on Error { code message field }
  }
}
"""


@pytest.fixture
def setup(world: World) -> dict:
    group = world.group("lab", "rwra--")
    alice = world.user("alice", group)
    project = world.add(Project, alice, group, name="p")
    image = world.add(Image, alice, group, name="i")
    return {"token": world.token(alice), "project": project, "image": image}


@pytest.mark.parametrize(("value", "expected"), [
    ({"kind": "TAG", "text": "mitosis"}, {"text": "mitosis"}),
    ({"kind": "COMMENT", "text": "line one\nline two"}, {"text": "line one\nline two"}),
    ({"kind": "MAP", "pairs": [{"key": "strain", "value": "N2"}, {"key": "age", "value": "L4"}],
      "namespace": "openmicroscopy.org/omero/client/mapAnnotation"},
     {"pairs": [{"key": "strain", "value": "N2"}, {"key": "age", "value": "L4"}],
      "namespace": "openmicroscopy.org/omero/client/mapAnnotation"}),
    ({"kind": "RATING", "rating": 4}, {"rating": 4}),
    ({"kind": "LONG", "longValue": 2**40}, {"longValue": 2**40}),
    ({"kind": "DOUBLE", "doubleValue": 0.25}, {"doubleValue": 0.25}),
    ({"kind": "BOOLEAN", "boolValue": False}, {"boolValue": False}),
    ({"kind": "TIMESTAMP", "timeValue": "2026-01-02T03:04:05+00:00"},
     {"timeValue": "2026-01-02T03:04:05+00:00"}),
])
def test_annotation_kinds_round_trip(api: GraphQLClient, setup: dict, value: dict,
                                     expected: dict) -> None:
    targets = [f"Project:{setup['project'].id}", f"Image:{setup['image'].id}"]
    result = api.data(ANNOTATE, setup["token"], input=value, targets=targets)["annotate"]
    assert result["__typename"] == "AnnotationPayload", result
    annotation = result["annotation"]
    assert annotation["kind"] == value["kind"]
    assert {k: annotation[k] for k in expected} == expected

    query = """query($id: ID!) { node(id: $id) { ... on Image { annotations { id } } } }"""
    linked = api.data(query, setup["token"], id=targets[1])["node"]["annotations"]
    assert linked == [{"id": annotation["id"]}]


@pytest.mark.parametrize(("value", "field"), [
    ({"kind": "TAG"}, "text"),
    ({"kind": "RATING", "rating": 6}, "long_value"),
    ({"kind": "LONG", "longValue": 2**70}, None),
    ({"kind": "TIMESTAMP", "timeValue": "2026-01-02T03:04:05"}, "time_value"),
    ({"kind": "FILE"}, "kind"),
])
def test_invalid_annotations_are_rejected_and_nothing_is_stored(
        api: GraphQLClient, setup: dict, db: Session, value: dict, field: str | None) -> None:
    body = api.execute(ANNOTATE, setup["token"], input=value,
                       targets=[f"Image:{setup['image'].id}"])
    if field is None:  # not even valid GraphQL input (JSON has no infinity)
        assert body.get("errors")
    else:
        result = body["data"]["annotate"]
        assert result["__typename"] == "ValidationError"
        assert result["field"] == field
    assert db.scalar(select(func.count()).select_from(Annotation)) == 0


CREATE_ROI = """
mutation($image: ID!, $shapes: [ShapeInput!]!) {
  createRoi(image: $image, name: "cells", shapes: $shapes) {
    __typename
    ... on RoiPayload { roi { id name shapes { kind x y width height points theZ text } } }
    ... on Error { code message field }
  }
}
"""


def test_roi_with_every_shape_kind(api: GraphQLClient, setup: dict) -> None:
    shapes = [
        {"kind": "RECTANGLE", "x": 1, "y": 2, "width": 3, "height": 4, "theZ": 0},
        {"kind": "ELLIPSE", "x": 1, "y": 2, "radiusX": 3, "radiusY": 4},
        {"kind": "POINT", "x": 5, "y": 6},
        {"kind": "LINE", "x": 0, "y": 0, "x2": 10, "y2": 10},
        {"kind": "POLYLINE", "points": "0,0 1,1 2,0"},
        {"kind": "POLYGON", "points": "0,0 1,1 2,0"},
        {"kind": "MASK", "x": 0, "y": 0, "width": 8, "height": 8, "mask": "AAAAAAAAAA=="},
        {"kind": "LABEL", "x": 3, "y": 3, "text": "nucleus"},
    ]
    result = api.data(CREATE_ROI, setup["token"], image=f"Image:{setup['image'].id}",
                      shapes=shapes)["createRoi"]
    # 7 bytes cannot cover an 8x8 mask: the whole ROI is refused.
    assert result["__typename"] == "ValidationError"
    assert result["field"] == "shapes.6.mask"

    shapes[6]["mask"] = "AAAAAAAAAAA="  # 8 bytes
    created = api.data(CREATE_ROI, setup["token"], image=f"Image:{setup['image'].id}",
                       shapes=shapes)["createRoi"]
    assert created["__typename"] == "RoiPayload"
    kinds = [shape["kind"] for shape in created["roi"]["shapes"]]
    assert kinds == ["RECTANGLE", "ELLIPSE", "POINT", "LINE", "POLYLINE", "POLYGON", "MASK",
                     "LABEL"]
    assert created["roi"]["shapes"][0]["theZ"] == 0


def test_bad_polygon_points_are_rejected(api: GraphQLClient, setup: dict) -> None:
    result = api.data(CREATE_ROI, setup["token"], image=f"Image:{setup['image'].id}",
                      shapes=[{"kind": "POLYGON", "points": "0,0 1;DROP TABLE roi"}])["createRoi"]
    assert result["__typename"] == "ValidationError"
    assert result["field"] == "shapes.0.points"
