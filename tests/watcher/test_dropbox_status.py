"""The dropboxFiles query: users see their own files, administrators everyone's."""

from __future__ import annotations

from typing import Any

from store.models import DropboxFile, Image, Job
from tests.graphql_client import GraphQLClient
from tests.world import World, gid

FILES = """query($filter: DropboxFileFilter, $first: Int, $after: String) {
  dropboxFiles(filter: $filter, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    nodes { id path state size error message owner { username } group { name }
            job { id status } images { id name } } } }"""


def _files(world: World) -> dict[str, Any]:
    lab = world.group("lab", "rwr---")
    ann, bob = world.user("ann", lab), world.user("bob", lab)
    root = world.user("boss", lab, admin=True)
    image = world.add(Image, ann, lab, name="a.tif")
    job = world.add(Job, ann, lab, job_kind="import", state="done",
                    result={"image_ids": [image.id], "committed": True})
    rows = [
        DropboxFile(owner_id=ann.id, group_id=lab.id, path="ann/a.tif", state="imported",
                    size=10, job_id=job.id, image_ids=[image.id]),
        DropboxFile(owner_id=ann.id, path="ann/b.tif", state="pending", size=5),
        DropboxFile(owner_id=ann.id, path="ann/m/c0.ome.tif", state="waiting", size=5,
                    message="waiting for companion files: c1.ome.tif"),
        DropboxFile(owner_id=ann.id, group_id=lab.id, path="ann/bad.tif", state="failed",
                    size=3, error="bad.tif: not a TIFF"),
        DropboxFile(owner_id=bob.id, group_id=lab.id, path="bob/x.tif", state="importing",
                    size=7),
    ]
    world.db.add_all(rows)
    world.db.commit()
    return {"ann": world.token(ann), "bob": world.token(bob), "root": world.token(root),
            "image": gid(image), "job": gid(job)}


def test_users_see_their_own_files_with_states_reasons_and_images(
        api: GraphQLClient, world: World) -> None:
    made = _files(world)
    page = api.data(FILES, made["ann"])["dropboxFiles"]
    assert page["totalCount"] == 4
    by_path = {n["path"]: n for n in page["nodes"]}
    assert set(by_path) == {"ann/a.tif", "ann/b.tif", "ann/m/c0.ome.tif", "ann/bad.tif"}
    assert by_path["ann/a.tif"]["state"] == "IMPORTED"
    assert by_path["ann/a.tif"]["images"] == [{"id": made["image"], "name": "a.tif"}]
    assert by_path["ann/a.tif"]["job"] == {"id": made["job"], "status": "DONE"}
    assert by_path["ann/bad.tif"]["error"] == "bad.tif: not a TIFF"
    assert by_path["ann/m/c0.ome.tif"]["message"].startswith("waiting for companion")
    assert by_path["ann/b.tif"]["group"] is None
    bob = api.data(FILES, made["bob"])["dropboxFiles"]
    assert [n["path"] for n in bob["nodes"]] == ["bob/x.tif"]


def test_administrators_see_everyone_and_filter_by_state(
        api: GraphQLClient, world: World) -> None:
    made = _files(world)
    everyone = api.data(FILES, made["root"])["dropboxFiles"]
    assert everyone["totalCount"] == 5
    failed = api.data(FILES, made["root"], filter={"states": ["FAILED", "IMPORTING"]})
    assert sorted(n["path"] for n in failed["dropboxFiles"]["nodes"]) == [
        "ann/bad.tif", "bob/x.tif"]


def test_pages_follow_cursors(api: GraphQLClient, world: World) -> None:
    made = _files(world)
    first = api.data(FILES, made["ann"], first=3)["dropboxFiles"]
    assert first["pageInfo"]["hasNextPage"] is True
    rest = api.data(FILES, made["ann"], first=3,
                    after=first["pageInfo"]["endCursor"])["dropboxFiles"]
    paths = [n["path"] for n in first["nodes"] + rest["nodes"]]
    assert len(paths) == len(set(paths)) == 4
    assert rest["pageInfo"]["hasNextPage"] is False


def test_anonymous_callers_are_refused(api: GraphQLClient, world: World) -> None:
    _files(world)
    errors = api.errors(FILES)
    assert errors


def test_the_readme_query_runs(api: GraphQLClient, world: World) -> None:
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## DropBox"):readme.index("## Permissions")]
    query = re.findall(r"```\n(query \{ dropboxFiles.*?)```", section, re.S)[0]
    made = _files(world)
    page = api.data(query, made["ann"])["dropboxFiles"]
    assert page["totalCount"] == 3  # the imported file is not among the states asked for
    assert {n["state"] for n in page["nodes"]} == {"PENDING", "WAITING", "FAILED"}
