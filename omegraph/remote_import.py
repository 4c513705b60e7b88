"""``omegraph import --server URL``: createImport over GraphQL, then each file streamed with
resumable PUTs (HEAD tells how much the server holds), then the job is followed to its end."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console

from omegraph.cli import CliError
from omegraph.importing import (
    ENDED,
    IMPORTS_DATASET,
    LocalFile,
    Outcome,
    progress_bar,
    read_chunks,
)
from resolvers.imports.requests import DuplicatePolicy

CREATE_IMPORT = """mutation($input: CreateImportInput!) { createImport(input: $input) {
  __typename ... on CreateImportPayload { job { id files { index path uploadPath state } } }
  ... on Error { code message field } } }"""
JOB = """query($id: ID!) { job(id: $id) { status step progress error
  images { id } files { path state } } }"""
ME = "query { me { id } }"
DATASETS = """query($filter: ObjectFilter) { datasets(filter: $filter, first: 1000) {
  nodes { id name } } }"""
CREATE_DATASET = """mutation($input: CreateContainerInput!) { createDataset(input: $input) {
  __typename ... on DatasetPayload { dataset { id } } ... on Error { code message } } }"""
RETRIES = 5


@dataclass(frozen=True)
class Uploaded:
    resumed_from: int  # bytes the server held before this upload started
    sent: int  # bytes sent by this upload, retries included


def connect(server: str, token: str) -> httpx.Client:
    """An HTTP client for ``server`` that authenticates every request with ``token``."""
    return httpx.Client(base_url=server.rstrip("/"), timeout=httpx.Timeout(120, connect=10),
                        headers={"Authorization": f"Bearer {token}"})


def graphql(client: httpx.Client, document: str, **variables: object) -> dict[str, Any]:
    """The data of a GraphQL request; errors (HTTP or GraphQL) end the command."""
    try:
        response = client.post("/graphql", json={"query": document, "variables": variables})
    except httpx.TransportError as exc:
        raise CliError(f"cannot reach {client.base_url}: {exc}") from exc
    try:
        body = response.json()
    except ValueError:
        raise CliError(f"{client.base_url} answered {response.status_code}, not "
                       "GraphQL; is --server right?") from None
    if body.get("errors"):
        raise CliError(f"the server refused ({response.status_code}): "
                       f"{body['errors'][0].get('message')}")
    data: dict[str, Any] = body["data"]
    return data


def _payload(result: dict[str, Any], key: str) -> dict[str, Any]:
    if "code" in result:  # one of the typed Error members of a result union
        where = f" ({result['field']})" if result.get("field") else ""
        raise CliError(f"{result['message']}{where}")
    payload: dict[str, Any] = result[key]
    return payload


def remote_imports_dataset(client: httpx.Client) -> str:
    """The user's "Imports" dataset on the server, created when missing."""
    me = graphql(client, ME)["me"]["id"]
    found = graphql(client, DATASETS, filter={"nameContains": IMPORTS_DATASET, "owner": me})
    for node in found["datasets"]["nodes"]:
        if node["name"] == IMPORTS_DATASET:
            return str(node["id"])
    made = graphql(client, CREATE_DATASET, input={"name": IMPORTS_DATASET})["createDataset"]
    return str(_payload(made, "dataset")["id"])


def create_remote_import(client: httpx.Client, dataset: str, files: list[LocalFile],
                         duplicates: DuplicatePolicy) -> dict[str, Any]:
    """Declare the files; the job with its files' upload paths and states."""
    declared = [{"path": f.path, "size": f.size, "sha256": f.sha256 or None} for f in files]
    result = graphql(client, CREATE_IMPORT, input={
        "dataset": dataset, "files": declared, "duplicates": duplicates.value.upper()})
    return _payload(result["createImport"], "job")


def remote_import(server: str, token: str, files: list[LocalFile], dataset: str | None,
                  duplicates: DuplicatePolicy, console: Console) -> Outcome:
    """Declare, upload the files the server does not hold yet, and wait for the job."""
    with connect(server, token) as client:
        target = dataset or remote_imports_dataset(client)
        job = create_remote_import(client, target, files, duplicates)
        by_path = {f.path: f for f in files}
        pending = [(slot["uploadPath"], by_path[slot["path"]])
                   for slot in job["files"] if slot["state"] in ("pending", "uploading")]
        with progress_bar(console, transfer=True) as progress:
            task = progress.add_task("upload", total=sum(f.size for _, f in pending))
            for upload_path, item in pending:
                upload_file(client, upload_path, item.source, item.size,
                            advance=lambda n: progress.advance(task, n))
        ended = wait_for_job(client, str(job["id"]), console)
    return Outcome(str(ended["status"]), ended.get("error"),
                   [str(image["id"]) for image in ended["images"]],
                   [f["path"] for f in ended["files"] if f["state"] == "duplicate"])


def upload_file(client: httpx.Client, upload_path: str, source: Path, size: int, *,
                advance: Callable[[int], None] = lambda _n: None, retries: int = RETRIES,
                pause: float = 1.0) -> Uploaded:
    """Stream ``source`` to ``upload_path`` from the offset the server holds (HEAD), again
    after each connection error, up to ``retries`` times. ``advance`` gets byte counts
    (negative when a retry finds that the server kept less than was sent)."""
    counted = sent = failures = 0
    resumed_from: int | None = None
    while True:
        try:
            held = _held(client, upload_path)
            if held is None:  # the server has every byte (a lost reply to the last PUT)
                advance(size - counted)
                return Uploaded(resumed_from or 0, sent)
            resumed_from = held if resumed_from is None else resumed_from
            advance(held - counted)
            counted = held

            def body(offset: int = held) -> Iterator[bytes]:
                nonlocal counted, sent
                for chunk in read_chunks(source, offset):
                    counted, sent = counted + len(chunk), sent + len(chunk)
                    advance(len(chunk))
                    yield chunk

            response = client.put(upload_path, content=body(), headers={
                "Upload-Offset": str(held), "Content-Length": str(size - held)})
        except httpx.TransportError as exc:
            failures += 1
            if failures > retries:
                raise CliError(f"{source}: upload failed after {retries} retries: {exc}"
                               ) from exc
            time.sleep(pause * failures)
            continue
        if response.status_code == 200 and response.json().get("complete"):
            return Uploaded(resumed_from, sent)
        failures += 1  # 409: the offsets crossed; 200 incomplete: the file was cut short
        if response.status_code not in (200, 409) or failures > retries:
            raise CliError(f"{source}: the server refused the upload "
                           f"({response.status_code}): {_message(response)}")


def _held(client: httpx.Client, upload_path: str) -> int | None:
    """Bytes of the file the server holds; None when it needs no more."""
    response = client.head(upload_path)
    if response.status_code == 200:
        return int(response.headers["Upload-Offset"])
    if response.status_code == 409:  # CONFLICT: the file is complete or the job moved on
        return None
    raise CliError(f"{upload_path}: the server answered {response.status_code}")


def _message(response: httpx.Response) -> str:
    try:
        return str(response.json()["errors"][0]["message"])
    except (ValueError, KeyError, IndexError, TypeError):
        return response.text[:200]


def wait_for_job(client: httpx.Client, job_id: str, console: Console,
                 interval: float = 0.5) -> dict[str, Any]:
    """Poll the job until it has ended, showing its progress."""
    with progress_bar(console) as progress:
        task = progress.add_task("queued", total=1.0)
        while True:
            job: dict[str, Any] = graphql(client, JOB, id=job_id)["job"]
            if job["status"] in ENDED:
                return job
            progress.update(task, completed=job["progress"],
                            description=(job["step"] or job["status"]).lower())
            time.sleep(interval)
