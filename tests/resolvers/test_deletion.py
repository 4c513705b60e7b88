"""Delete with children: exclusive children go, shared ones stay, all or nothing."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from store.models import (
    Dataset,
    DatasetImageLink,
    Image,
    Pixels,
    Plate,
    Project,
    ProjectDatasetLink,
    Well,
    WellSample,
)
from tests.graphql_client import GraphQLClient
from tests.world import World

DELETE = """mutation($ids: [ID!]!, $children: Boolean!) {
  delete(ids: $ids, includeChildren: $children) {
    __typename ... on DeletePayload { deletedIds } ... on Error { code message field } } }"""


def _exists(db: Session, *objects: Any) -> list[bool]:
    keys = [(type(obj), obj.id) for obj in objects]
    db.expunge_all()
    return [db.get(model, pk) is not None for model, pk in keys]


def _tree(world: World, level: str = "rwra--") -> dict[str, Any]:
    """Project P holds datasets D1 (only in P) and D2 (also in project Q); D1 holds image I1,
    which is also in D2, and image I2, only in D1."""
    lab = world.group("lab", level)
    alice = world.user("alice", lab)

    def add(model: Any, **values: Any) -> Any:
        return world.add(model, alice, lab, **values)

    p, q = add(Project, name="P"), add(Project, name="Q")
    d1, d2 = add(Dataset, name="D1"), add(Dataset, name="D2")
    i1, i2 = add(Image, name="I1"), add(Image, name="I2")
    add(Pixels, image_id=i2.id, size_x=2, size_y=2, pixel_type="uint8")
    for parent, child in ((p, d1), (p, d2), (q, d2)):
        add(ProjectDatasetLink, parent_id=parent.id, child_id=child.id)
    for parent, child in ((d1, i1), (d1, i2), (d2, i1)):
        add(DatasetImageLink, parent_id=parent.id, child_id=child.id)
    return {"lab": lab, "alice": alice, "token": world.token(alice), "P": p, "Q": q,
            "D1": d1, "D2": d2, "I1": i1, "I2": i2}


def test_without_children_only_the_named_objects_go(api: GraphQLClient, world: World,
                                                    db: Session) -> None:
    t = _tree(world)
    result = api.data(DELETE, t["token"], ids=[f"Project:{t['P'].id}"], children=False)
    assert result["delete"]["deletedIds"] == [f"Project:{t['P'].id}"]
    assert _exists(db, t["P"], t["D1"], t["D2"], t["I1"], t["I2"]) == [False] + [True] * 4


def test_with_children_exclusive_descendants_go_and_shared_ones_stay(
        api: GraphQLClient, world: World, db: Session) -> None:
    t = _tree(world)
    result = api.data(DELETE, t["token"], ids=[f"Project:{t['P'].id}"], children=True)
    assert sorted(result["delete"]["deletedIds"]) == sorted(
        [f"Project:{t['P'].id}", f"Dataset:{t['D1'].id}", f"Image:{t['I2'].id}"])
    # D2 is still in Q; I1 is still in D2; I2's pixels went with it.
    assert _exists(db, t["P"], t["D1"], t["I2"]) == [False, False, False]
    assert _exists(db, t["Q"], t["D2"], t["I1"]) == [True, True, True]


def test_children_of_several_deleted_parents_go_together(api: GraphQLClient, world: World,
                                                         db: Session) -> None:
    t = _tree(world)
    ids = [f"Project:{t['P'].id}", f"Project:{t['Q'].id}"]
    api.data(DELETE, t["token"], ids=ids, children=True)
    assert _exists(db, t["D1"], t["D2"], t["I1"], t["I2"]) == [False] * 4


def test_a_child_the_user_may_not_delete_stops_everything(api: GraphQLClient, world: World,
                                                          db: Session) -> None:
    t = _tree(world, level="rwr---")
    bob = world.user("bob", t["lab"])
    theirs = world.add(Dataset, bob, t["lab"], name="bob's")
    world.add(ProjectDatasetLink, t["alice"], t["lab"], parent_id=t["P"].id, child_id=theirs.id)

    result = api.data(DELETE, t["token"], ids=[f"Project:{t['P'].id}"], children=True)
    assert result["delete"]["__typename"] == "PermissionDeniedError"
    assert f"Dataset:{theirs.id}" in result["delete"]["message"]
    assert _exists(db, t["P"], t["D1"], t["I2"], theirs) == [True] * 4


def test_plate_images_go_with_the_plate(api: GraphQLClient, world: World, db: Session) -> None:
    lab = world.group("lab")
    alice = world.user("alice", lab)
    plate = world.add(Plate, alice, lab, name="plate")
    well = world.add(Well, alice, lab, plate_id=plate.id, row=0, column=0)
    image = world.add(Image, alice, lab, name="field 1")
    world.add(WellSample, alice, lab, well_id=well.id, image_id=image.id)

    api.data(DELETE, world.token(alice), ids=[f"Plate:{plate.id}"], children=True)
    assert _exists(db, plate, well, image) == [False, False, False]
