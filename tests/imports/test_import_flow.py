"""The whole import: declare, upload, parse, rows, statistics, thumbnail, downloads."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import tifffile
from PIL import Image as PILImage

from tests.imports.conftest import Importer, Member, sha256, write_tiff
from tests.world import World, gid


def test_a_multichannel_tiff_becomes_an_image_with_pixels_stats_and_thumbnail(
        importer: Importer, alice: Member, tmp_path: Path) -> None:
    data = write_tiff(tmp_path / "cells.ome.tif", (3, 80, 120), "uint16",
                      metadata={"axes": "CYX", "PhysicalSizeX": 0.65, "PhysicalSizeY": 0.65,
                                "Channel": {"Name": ["DAPI", "GFP", "RFP"]}})
    body = (tmp_path / "cells.ome.tif").read_bytes()
    job = importer.run(alice, [("cells.ome.tif", body)])
    assert job["status"] == "DONE", job
    assert job["progress"] == 1.0 and job["error"] is None
    (image,) = job["images"]
    assert image["name"] == "cells.ome.tif"
    pixels = image["pixels"]
    assert (pixels["sizeX"], pixels["sizeY"], pixels["sizeC"], pixels["sizeZ"],
            pixels["sizeT"]) == (120, 80, 3, 1, 1)
    assert pixels["pixelType"] == "uint16"
    assert pixels["physicalSizeX"] == {"value": 0.65, "unit": "µm"}
    assert pixels["levels"] == [[120, 80]] and pixels["pyramidState"] == "none"
    names = [c["name"] for c in pixels["channels"]]
    assert names == ["DAPI", "GFP", "RFP"]
    for channel in pixels["channels"]:
        plane = data[channel["index"]]
        stats = channel["statistics"]
        assert stats["min"] == plane.min() and stats["max"] == plane.max()
        assert stats["low"] == np.percentile(plane, 0.1)
    (stored,) = job["files"]
    assert stored["state"] == "stored" and stored["sha256"] == sha256(body)
    assert stored["originalFile"]["size"] == len(body)

    thumb = importer.client.get(image["thumbnailUrl"])
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/png"
    picture = PILImage.open(io.BytesIO(thumb.content))
    assert picture.size == (96, 64) and picture.mode == "RGB"

    download = importer.client.get(stored["originalFile"]["downloadUrl"])
    assert download.status_code == 200 and download.content == body
    assert "cells.ome.tif" in download.headers["content-disposition"]


def test_a_fileset_downloads_as_a_zip_of_its_files_with_their_folders(
        importer: Importer, alice: Member, tmp_path: Path) -> None:
    write_tiff(tmp_path / "a.tif", (16, 16))
    write_tiff(tmp_path / "b.tif", (8, 8), seed=2)
    files = [("run1/a.tif", (tmp_path / "a.tif").read_bytes()),
             ("run1/sub/b.tif", (tmp_path / "b.tif").read_bytes())]
    job = importer.run(alice, files)
    assert job["status"] == "DONE", job
    assert sorted(i["name"] for i in job["images"]) == ["a.tif", "b.tif"]
    response = importer.client.get(job["fileset"]["downloadUrl"])
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert sorted(archive.namelist()) == ["run1/a.tif", "run1/sub/b.tif"]
    assert archive.read("run1/sub/b.tif") == files[1][1]


def test_signed_urls_fail_when_tampered_or_for_users_who_lost_access(
        importer: Importer, alice: Member, bob: Member, tmp_path: Path) -> None:
    write_tiff(tmp_path / "x.tif", (16, 16))
    job = importer.run(alice, [("x.tif", (tmp_path / "x.tif").read_bytes())])
    url = job["files"][0]["originalFile"]["downloadUrl"]
    other = url.replace("/originals/", "/originals/9") if "/originals/" in url else url
    assert importer.client.get(other).status_code in (401, 404)
    assert importer.client.get(url.split("?")[0]).status_code == 401  # no signature, no session
    assert importer.client.get(url[:-2] + "xx").status_code == 401
    # With a session instead of a signature, permissions decide: bob (read-only group) sees it.
    plain = url.split("?")[0]
    assert importer.client.get(plain, headers=bob.headers).status_code == 200


def test_uploads_resume_from_the_offset_the_server_holds(
        importer: Importer, alice: Member, tmp_path: Path) -> None:
    write_tiff(tmp_path / "big.tif", (256, 256))
    body = (tmp_path / "big.tif").read_bytes()
    created = importer.declare(alice, [("big.tif", body)], declare_sha=True)
    slot = created["job"]["files"][0]["uploadPath"]
    first = importer.upload(alice, slot, body[:50_000])
    assert first.status_code == 200 and first.json()["received"] == 50_000
    assert not first.json()["complete"]
    head = importer.client.head(slot, headers=alice.headers)
    assert head.headers["upload-offset"] == "50000"
    assert head.headers["upload-length"] == str(len(body))
    wrong = importer.upload(alice, slot, body[40_000:], offset=40_000)
    assert wrong.status_code == 409
    assert wrong.json()["errors"][0]["extensions"]["expected"] == 50_000
    rest = importer.upload(alice, slot, body[50_000:], offset=50_000)
    assert rest.status_code == 200 and rest.json()["complete"] and rest.json()["importQueued"]
    job = importer.job(alice, created["job"]["id"])
    assert job["status"] == "DONE", job
    stored = importer.client.get(job["files"][0]["originalFile"]["downloadUrl"])
    assert stored.content == body


def test_a_file_larger_than_declared_is_refused_and_the_held_part_kept(
        importer: Importer, alice: Member) -> None:
    created = importer.declare(alice, [("f.tif", b"x" * 100)])
    slot = created["job"]["files"][0]["uploadPath"]
    assert importer.upload(alice, slot, b"y" * 40).status_code == 200
    too_big = importer.upload(alice, slot, b"z" * 200, offset=40)
    assert too_big.status_code == 413
    head = importer.client.head(slot, headers=alice.headers)
    assert head.headers["upload-offset"] == "40"


def test_only_the_importer_uploads_and_only_into_their_own_targets(
        importer: Importer, alice: Member, bob: Member) -> None:
    created = importer.declare(alice, [("f.tif", b"x" * 10)])
    slot = created["job"]["files"][0]["uploadPath"]
    assert importer.upload(bob, slot, b"x" * 10).status_code == 403
    assert importer.client.put(slot, content=b"x").status_code == 401
    assert importer.client.put(slot.replace("/0", "/7"), content=b"x",
                               headers=alice.headers).status_code == 404
    refused = importer.declare(bob, [("f.tif", b"x")], dataset=f"Dataset:{alice.dataset.id}")
    assert refused["__typename"] == "PermissionDeniedError", refused


def test_bad_declarations_are_refused_with_the_field_at_fault(
        importer: Importer, alice: Member) -> None:
    for files, field in (([], "files"),
                         ([("../../etc/passwd", b"x")], "files.0.path"),
                         ([("a.tif", b"x"), ("a.tif", b"y")], "files.1.path")):
        result = importer.declare(alice, files)
        assert result["__typename"] == "ValidationError", result
        assert result["field"] == field
    bad_sum = importer.api.data(
        """mutation($input: CreateImportInput!) { createImport(input: $input) {
           ... on Error { code field } } }""", alice.token,
        input={"dataset": f"Dataset:{alice.dataset.id}",
               "files": [{"path": "a.tif", "size": 1, "sha256": "nothex"}]})
    assert bad_sum["createImport"] == {"code": "INVALID", "field": "files.0.sha256"}


def test_a_multi_series_file_gives_one_image_per_series(
        importer: Importer, alice: Member, tmp_path: Path) -> None:
    path = tmp_path / "two.ome.tif"
    with tifffile.TiffWriter(path, ome=True) as tif:
        tif.write(np.zeros((32, 32), "uint8"), metadata={"Name": "left"})
        tif.write(np.ones((2, 16, 16), "uint16"), metadata={"axes": "CYX", "Name": "right"})
    job = importer.run(alice, [("two.ome.tif", path.read_bytes())])
    assert job["status"] == "DONE", job
    assert [i["name"] for i in job["images"]] == ["two.ome.tif [left]", "two.ome.tif [right]"]
    assert [i["pixels"]["sizeC"] for i in job["images"]] == [1, 2]
    assert job["fileset"]["originalFiles"][0]["name"] == "two.ome.tif"


def test_a_multi_file_ome_tiff_is_imported_as_one_image_of_one_fileset(
        importer: Importer, alice: Member, tmp_path: Path) -> None:
    from tests.engine.test_readers_fileset import write_per_channel

    paths, data = write_per_channel(tmp_path, channels=3)
    job = importer.run(alice, [(f"run/{p.name}", p.read_bytes()) for p in paths])
    assert job["status"] == "DONE", job
    (image,) = job["images"]
    assert (image["pixels"]["sizeC"], image["pixels"]["sizeZ"]) == (3, 3)
    assert [c["name"] for c in image["pixels"]["channels"]] == ["ch0", "ch1", "ch2"]
    assert sorted(f["name"] for f in job["fileset"]["originalFiles"]) == [
        "c0.ome.tif", "c1.ome.tif", "c2.ome.tif"]
    stats = image["pixels"]["channels"][1]["statistics"]
    assert (stats["min"], stats["max"]) == (data[1].min(), data[1].max())


def test_a_multi_file_ome_tiff_missing_a_companion_fails_naming_it(
        importer: Importer, alice: Member, tmp_path: Path) -> None:
    from tests.engine.test_readers_fileset import write_per_channel

    paths, _ = write_per_channel(tmp_path, channels=2)
    job = importer.run(alice, [(paths[0].name, paths[0].read_bytes())])
    assert job["status"] == "FAILED" and "c1.ome.tif" in job["error"], job
    assert importer.repository_files() == []


SCREEN_QUERY = """query($id: ID!) { node(id: $id) { ... on Screen { plates { name rows columns
  wells { row column samples { positionX image { name datasets { id } } } } } } } }"""


def test_a_screening_file_imported_into_a_screen_gives_a_plate_of_wells(
        importer: Importer, alice: Member, world: World, tmp_path: Path) -> None:
    from store.models import Screen
    from tests.engine.plates import write_plate

    screen = world.add(Screen, alice.user, alice.group, name="compound screen")
    write_plate(tmp_path / "plate.ome.tif", rows=2, columns=2, fields=2)
    body = (tmp_path / "plate.ome.tif").read_bytes()
    created = importer.api.data(
        """mutation($input: CreateImportInput!) { createImport(input: $input) {
           ... on CreateImportPayload { job { id files { uploadPath } } } } }""",
        alice.token, input={"screen": gid(screen),
                            "files": [{"path": "plate.ome.tif", "size": len(body)}]})
    job_id = created["createImport"]["job"]["id"]
    importer.upload(alice, created["createImport"]["job"]["files"][0]["uploadPath"], body)
    job = importer.job(alice, job_id)
    assert job["status"] == "DONE", job
    assert len(job["images"]) == 8
    (plate,) = importer.api.data(SCREEN_QUERY, alice.token, id=gid(screen))["node"]["plates"]
    assert (plate["name"], plate["rows"], plate["columns"]) == ("Assay plate 1", 2, 2)
    assert [(w["row"], w["column"]) for w in plate["wells"]] == [(0, 0), (0, 1), (1, 0), (1, 1)]
    samples = plate["wells"][3]["samples"]
    assert [s["positionX"] for s in samples] == [0.0, 100.0]
    assert all(s["image"]["datasets"] == [] for s in samples)  # plate images are in no dataset


def test_files_without_plates_cannot_go_into_a_screen(
        importer: Importer, alice: Member, world: World, tmp_path: Path) -> None:
    from store.models import Screen

    screen = world.add(Screen, alice.user, alice.group, name="s")
    write_tiff(tmp_path / "a.tif", (8, 8))
    job = importer.run(alice, [("a.tif", (tmp_path / "a.tif").read_bytes())],
                       screen=gid(screen))
    assert job["status"] == "FAILED" and "no plate" in job["error"], job
    both = importer.api.data(
        """mutation($input: CreateImportInput!) { createImport(input: $input) {
           ... on Error { code field } } }""", alice.token,
        input={"dataset": gid(alice.dataset), "screen": gid(screen),
               "files": [{"path": "a.tif", "size": 1}]})
    assert both["createImport"] == {"code": "INVALID", "field": "dataset"}
    wrong_kind = importer.declare(alice, [("a.tif", b"x")], dataset=gid(screen))
    assert (wrong_kind["code"], wrong_kind["field"]) == ("INVALID", "dataset")


def test_hostile_upload_headers_get_clear_refusals(importer: Importer, alice: Member) -> None:
    created = importer.declare(alice, [("f.tif", b"x" * 100)])
    slot = created["job"]["files"][0]["uploadPath"]
    for offset in ("-5", "abc", "9" * 40, "1e3", " 0"):
        response = importer.client.put(slot, content=b"x",
                                       headers={**alice.headers, "Upload-Offset": offset})
        assert response.status_code == 409, (offset, response.text)
        assert response.json()["errors"][0]["extensions"]["code"] == "OFFSET_MISMATCH"
    declared_too_big = importer.client.put(
        slot, content=b"x" * 101, headers=alice.headers)
    assert declared_too_big.status_code == 413
    for path in ("/uploads/0/0", "/uploads/99999999/0", "/uploads/1/-1", "/uploads/x/0"):
        assert importer.client.put(path, content=b"x", headers=alice.headers
                                   ).status_code == 404, path
    head = importer.client.head(slot, headers=alice.headers)
    assert head.headers["upload-offset"] == "0"  # nothing of the refused bodies was kept


def test_a_signed_url_stops_working_when_its_user_loses_access(
        importer: Importer, alice: Member, bob: Member, tmp_path: Path) -> None:
    from sqlalchemy import delete

    from store.models import GroupMembership

    write_tiff(tmp_path / "x.tif", (16, 16))
    job = importer.run(alice, [("x.tif", (tmp_path / "x.tif").read_bytes())])
    seen_by_bob = importer.job(bob, job["id"])  # bob's view of the job, with bob's URLs
    url = seen_by_bob["files"][0]["originalFile"]["downloadUrl"]
    assert importer.client.get(url).status_code == 200
    importer.db.execute(delete(GroupMembership).where(GroupMembership.experimenter_id
                                                      == bob.user.id))
    importer.db.commit()
    assert importer.client.get(url).status_code == 404
