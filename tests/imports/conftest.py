"""Imports through the real app: declare files with GraphQL, PUT their bytes, watch the job.

Jobs run inline (see tests/conftest.py ``client``), so an import has finished when the
upload that completed it returns.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import tifffile
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from omegraph.settings import Settings, load_settings
from store.models import Dataset, Experimenter, ExperimenterGroup
from tests.graphql_client import GraphQLClient
from tests.world import World, gid

CREATE = """mutation($input: CreateImportInput!) { createImport(input: $input) {
  __typename ... on CreateImportPayload { job { id status files { index path uploadPath state } } }
  ... on Error { code message field } } }"""

JOB = """query($id: ID!) { job(id: $id) { id status state step error message progress result
  files { path size received state sha256 originalFile { id name size sha256 downloadUrl } }
  fileset { id downloadUrl originalFiles { id name } }
  images { id name thumbnailUrl pixels { sizeX sizeY sizeZ sizeC sizeT pixelType
    physicalSizeX { value unit } levels pyramidState
    channels { index name color statistics { min max low high } } } } } }"""


@dataclass
class Member:
    user: Experimenter
    group: ExperimenterGroup
    token: str
    dataset: Dataset

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # A low pyramid threshold so that small test images get pyramids too.
    return load_settings({}, data_dir=tmp_path / "data", run_jobs_in_server=False,
                         pyramid_threshold=200, job_threads=1)


@pytest.fixture
def lab(world: World) -> ExperimenterGroup:
    return world.group("lab", "rwr---")


def member(world: World, name: str, group: ExperimenterGroup) -> Member:
    user = world.user(name, group)
    dataset = world.add(Dataset, user, group, name=f"{name}'s data")
    return Member(user, group, world.token(user), dataset)


@pytest.fixture
def alice(world: World, lab: ExperimenterGroup) -> Member:
    return member(world, "alice", lab)


@pytest.fixture
def bob(world: World, lab: ExperimenterGroup) -> Member:
    return member(world, "bob", lab)


def write_tiff(path: Path, shape: tuple[int, ...] = (2, 64, 48), dtype: str = "uint16",
               seed: int = 1, **options: Any) -> np.ndarray:
    data = np.random.default_rng(seed).integers(0, 4000, shape).astype(dtype)
    options.setdefault("photometric", "minisblack")
    tifffile.imwrite(path, data, **options)
    return data


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Importer:
    def __init__(self, client: TestClient, settings: Settings, db: Session) -> None:
        self.client = client
        self.api = GraphQLClient(client)
        self.settings = settings
        self.db = db

    def declare(self, who: Member, files: list[tuple[str, bytes]], *,
                declare_sha: bool = False, duplicates: str | None = None,
                dataset: str | None = None, screen: str | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {
            **({"screen": screen} if screen else {"dataset": dataset or gid(who.dataset)}),
            "files": [{"path": name, "size": len(body),
                       **({"sha256": sha256(body)} if declare_sha else {})}
                      for name, body in files]}
        if duplicates:
            data["duplicates"] = duplicates
        result: dict[str, Any] = self.api.data(CREATE, who.token, input=data)["createImport"]
        return result

    def upload(self, who: Member, path: str, body: bytes, offset: int | None = None) -> Any:
        headers = dict(who.headers)
        if offset is not None:
            headers["Upload-Offset"] = str(offset)
        return self.client.put(path, content=body, headers=headers)

    def run(self, who: Member, files: list[tuple[str, bytes]], **options: Any
            ) -> dict[str, Any]:
        """Declare, upload every pending file, and return the finished job."""
        created = self.declare(who, files, **options)
        assert created["__typename"] == "CreateImportPayload", created
        job = created["job"]
        bodies = dict(files)
        for item in job["files"]:
            if item["state"] == "pending":
                response = self.upload(who, item["uploadPath"], bodies[item["path"]])
                assert response.status_code == 200, response.text
        return self.job(who, job["id"])

    def job(self, who: Member, job_id: str) -> dict[str, Any]:
        job: dict[str, Any] = self.api.data(JOB, who.token, id=job_id)["job"]
        return job

    def repository_files(self) -> list[Path]:
        root = self.settings.repository_dir / "originals"
        return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.fixture
def importer(client: TestClient, settings: Settings, db: Session) -> Importer:
    return Importer(client, settings, db)


@pytest.fixture
def world_private(world: World) -> Member:
    """A user of another group, who sees nothing of the lab's."""
    return member(world, "carol", world.group("elsewhere", "rw----"))
