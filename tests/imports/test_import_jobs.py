"""Import jobs: duplicates, cancelling, pyramids, recovery after a worker died, live updates."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from engine.readers import Region, open_image_file
from omegraph.settings import Settings
from resolvers.imports.requests import DuplicatePolicy, FileDeclaration, ImportLimits, create_import
from resolvers.jobs.service import JobService
from resolvers.sessions import load_actor
from store.base import utcnow
from store.models import Fileset, Image, Job, OriginalFile, Pixels
from tests.imports.conftest import Importer, Member, write_tiff
from tests.world import gid


def _tiff(tmp_path: Path, name: str = "a.tif", shape: tuple[int, ...] = (40, 30),
          seed: int = 1) -> bytes:
    write_tiff(tmp_path / name, shape, seed=seed)
    return (tmp_path / name).read_bytes()


def test_the_same_bytes_again_are_skipped_and_reported(
        importer: Importer, alice: Member, db: Session, tmp_path: Path) -> None:
    body = _tiff(tmp_path)
    first = importer.run(alice, [("a.tif", body)])
    assert first["status"] == "DONE"
    again = importer.run(alice, [("copy-of-a.tif", body)])
    assert again["status"] == "DONE" and again["images"] == [], again
    assert again["files"][0]["state"] == "duplicate"
    assert again["result"]["duplicates"][0]["path"] == "copy-of-a.tif"
    assert again["files"][0]["originalFile"]["id"] == first["files"][0]["originalFile"]["id"]
    assert db.scalar(select(func.count()).select_from(Image)) == 1


def test_a_declared_checksum_skips_the_upload_of_known_bytes(
        importer: Importer, alice: Member, tmp_path: Path) -> None:
    body = _tiff(tmp_path)
    importer.run(alice, [("a.tif", body)])
    created = importer.declare(alice, [("a.tif", body)], declare_sha=True)
    assert created["job"]["status"] == "DONE", created
    assert created["job"]["files"][0]["state"] == "duplicate"


def test_duplicates_import_again_when_asked(
        importer: Importer, alice: Member, db: Session, tmp_path: Path) -> None:
    body = _tiff(tmp_path)
    importer.run(alice, [("a.tif", body)])
    again = importer.run(alice, [("a.tif", body)], duplicates="IMPORT", declare_sha=True)
    assert again["status"] == "DONE" and len(again["images"]) == 1
    assert db.scalar(select(func.count()).select_from(Image)) == 2


def test_a_cancelled_import_takes_no_more_bytes_and_keeps_nothing(
        importer: Importer, alice: Member, bob: Member, tmp_path: Path) -> None:
    body = _tiff(tmp_path)
    created = importer.declare(alice, [("a.tif", body)])
    job_id = created["job"]["id"]
    slot = created["job"]["files"][0]["uploadPath"]
    importer.upload(alice, slot, body[:100])
    cancel = """mutation($id: ID!) { cancelJob(id: $id) {
      __typename ... on JobPayload { job { status } } ... on Error { code } } }"""
    assert importer.api.data(cancel, bob.token, id=job_id)["cancelJob"] == {
        "__typename": "PermissionDeniedError", "code": "PERMISSION_DENIED"}
    done = importer.api.data(cancel, alice.token, id=job_id)["cancelJob"]
    assert done == {"__typename": "JobPayload", "job": {"status": "CANCELLED"}}
    assert importer.upload(alice, slot, body, offset=0).status_code == 409
    assert not (importer.settings.repository_dir / "staging" / job_id.split(":")[1]).exists()
    again = importer.api.data(cancel, alice.token, id=job_id)["cancelJob"]
    assert again["__typename"] == "ConflictError"


def test_a_large_image_gets_a_pyramid_job_and_is_read_from_the_pyramid_after(
        importer: Importer, alice: Member, db: Session, tmp_path: Path,
        factory: sessionmaker[Session]) -> None:
    data = write_tiff(tmp_path / "big.tif", (2, 700, 520))
    job = importer.run(alice, [("big.tif", (tmp_path / "big.tif").read_bytes())])
    assert job["status"] == "DONE", job
    (image,) = job["images"]
    assert job["result"]["pyramids"] == [int(image["id"].split(":")[1])]
    assert image["pixels"]["pyramidState"] == "ready"
    assert image["pixels"]["levels"] == [[520, 700], [260, 350], [130, 175]]
    pyramid_job = db.scalars(select(Job).where(Job.job_kind == "pyramid")).one()
    assert pyramid_job.state == "done" and pyramid_job.owner_id == alice.user.id
    # The import interrupted at its very end and run again asks for no second pyramid.
    _die(db, int(job["id"].split(":")[1]))
    JobService(importer.settings, factory, "inline").recover()
    db.expire_all()
    assert db.get(Job, int(job["id"].split(":")[1])).state == "done"  # type: ignore[union-attr]
    assert len(db.scalars(select(Job).where(Job.job_kind == "pyramid")).all()) == 1
    pixels = db.scalars(select(Pixels)).one()
    db.refresh(pixels)
    source = open_image_file(importer.settings.repository_dir / str(pixels.pyramid_path))
    try:
        read = source.read_region(Region(0, 0, 1, 0, 0, 0, 0, 520, 700))  # z=1
        assert (read == data[1]).all()
    finally:
        source.close()


def _local_job(db: Session, who: Member, tmp_path: Path) -> int:
    write_tiff(tmp_path / "local.tif", (32, 32))
    actor = load_actor(db, who.user)
    job = create_import(db, actor, gid(who.dataset),
                        [FileDeclaration("local.tif", (tmp_path / "local.tif").stat().st_size,
                                         source=tmp_path / "local.tif")],
                        DuplicatePolicy.SKIP, ImportLimits())
    return job.id


def _die(db: Session, job_id: int, attempts: int = 1) -> None:
    """As if a worker claimed the job and vanished: running, lease long expired."""
    job = db.get(Job, job_id)
    assert job is not None
    job.state, job.worker, job.attempts = "running", "gone:1", attempts
    job.lease_until = utcnow() - dt.timedelta(minutes=5)
    db.commit()


def test_a_job_whose_worker_died_is_run_again(
        settings: Settings, factory: sessionmaker[Session], db: Session, alice: Member,
        tmp_path: Path) -> None:
    job_id = _local_job(db, alice, tmp_path)
    _die(db, job_id)
    assert JobService(settings, factory, "inline").recover() == 1
    db.expire_all()
    job = db.get(Job, job_id)
    assert job is not None and job.state == "done", job.error
    assert job.attempts == 2 and len(job.result["image_ids"]) == 1
    assert db.scalar(select(func.count()).select_from(OriginalFile)) == 1


def test_a_job_interrupted_after_storing_files_is_undone_then_redone_once(
        settings: Settings, factory: sessionmaker[Session], db: Session, alice: Member,
        tmp_path: Path) -> None:
    service = JobService(settings, factory, "inline")
    job_id = _local_job(db, alice, tmp_path)
    service.perform(job_id)
    db.expire_all()
    job = db.get(Job, job_id)
    assert job is not None and job.state == "done"
    # Take it back to "rows not yet committed": files and fileset exist, images do not.
    fileset_id, fileset_dir = job.result["fileset_id"], job.result["fileset_dir"]
    for image in db.scalars(select(Image)):
        db.delete(image)
    job.result = {"fileset_id": fileset_id, "fileset_dir": fileset_dir}
    db.commit()
    _die(db, job_id)
    service.recover()
    db.expire_all()
    assert db.get(Job, job_id).state == "done"  # type: ignore[union-attr]
    assert db.scalar(select(func.count()).select_from(Fileset)) == 1
    assert db.scalar(select(func.count()).select_from(Image)) == 1
    files = [p for p in (settings.repository_dir / "originals").rglob("*") if p.is_file()]
    assert [p.name for p in files] == ["local.tif"]


def test_a_job_interrupted_after_its_rows_resumes_without_new_images(
        settings: Settings, factory: sessionmaker[Session], db: Session, alice: Member,
        tmp_path: Path) -> None:
    service = JobService(settings, factory, "inline")
    job_id = _local_job(db, alice, tmp_path)
    service.perform(job_id)
    db.expire_all()
    image_ids = db.get(Job, job_id).result["image_ids"]  # type: ignore[union-attr]
    _die(db, job_id)
    service.recover()
    db.expire_all()
    job = db.get(Job, job_id)
    assert job is not None and job.state == "done" and job.result["image_ids"] == image_ids
    assert db.scalar(select(func.count()).select_from(Image)) == 1


def test_a_job_interrupted_too_often_fails_instead_of_looping(
        settings: Settings, factory: sessionmaker[Session], db: Session, alice: Member,
        tmp_path: Path) -> None:
    job_id = _local_job(db, alice, tmp_path)
    _die(db, job_id, attempts=settings.job_max_attempts)
    JobService(settings, factory, "inline").recover()
    db.expire_all()
    job = db.get(Job, job_id)
    assert job is not None and job.state == "failed" and "interrupted" in str(job.error)


def test_a_vanished_source_file_fails_the_import(
        settings: Settings, factory: sessionmaker[Session], db: Session, alice: Member,
        tmp_path: Path) -> None:
    job_id = _local_job(db, alice, tmp_path)
    (tmp_path / "local.tif").unlink()
    JobService(settings, factory, "inline").perform(job_id)
    db.expire_all()
    job = db.get(Job, job_id)
    assert job is not None and job.state == "failed" and "vanished" in str(job.error)


def test_job_progress_arrives_over_a_graphql_subscription(
        importer: Importer, alice: Member, tmp_path: Path) -> None:
    job = importer.run(alice, [("a.tif", _tiff(tmp_path))])
    query = "subscription($id: ID!) { job(id: $id) { status progress images { name } } }"
    with importer.client.websocket_connect(
            "/graphql", subprotocols=["graphql-transport-ws"],
            headers={"Authorization": f"Bearer {alice.token}"}) as socket:
        socket.send_json({"type": "connection_init"})
        assert socket.receive_json()["type"] == "connection_ack"
        socket.send_json({"id": "1", "type": "subscribe",
                          "payload": {"query": query, "variables": {"id": job["id"]}}})
        message = socket.receive_json()
        assert message["type"] == "next", message
        assert message["payload"]["data"]["job"] == {
            "status": "DONE", "progress": 1.0, "images": [{"name": "a.tif"}]}
        assert socket.receive_json() == {"id": "1", "type": "complete"}


def test_other_users_cannot_subscribe_to_a_job_they_cannot_see(
        importer: Importer, alice: Member, world_private: Member) -> None:
    created = importer.declare(alice, [("a.tif", b"x")])
    query = "subscription($id: ID!) { job(id: $id) { status } }"
    with importer.client.websocket_connect(
            "/graphql", subprotocols=["graphql-transport-ws"],
            headers={"Authorization": f"Bearer {world_private.token}"}) as socket:
        socket.send_json({"type": "connection_init"})
        socket.receive_json()
        socket.send_json({"id": "1", "type": "subscribe", "payload": {
            "query": query, "variables": {"id": created["job"]["id"]}}})
        message = socket.receive_json()
        assert message["type"] in ("next", "error")
        errors = message["payload"]["errors"] if message["type"] == "next" else message["payload"]
        assert "not found" in errors[0]["message"]


def test_job_filters_refuse_datetimes_without_a_timezone(
        importer: Importer, alice: Member) -> None:
    errors = importer.api.errors(
        '{ jobs(filter: {createdBefore: "2026-01-01T00:00:00"}) { totalCount } }', alice.token)
    assert errors[0]["extensions"]["code"] == "INVALID"
    assert errors[0]["extensions"]["field"] == "filter.createdBefore"
    found = importer.api.data(
        '{ imports(filter: {createdBefore: "2999-01-01T00:00:00Z", status: [DONE]}) '
        '{ totalCount } }', alice.token)
    assert found["imports"]["totalCount"] == 0
