"""``omegraph import``: files and folders into a dataset, on this machine or a remote server.

Local (no ``--server``): the files are read in place by an import job run in this process.
Remote: ``createImport`` over GraphQL, then each file is streamed with resumable PUTs.
Either way image ids go to stdout, one per line; progress and messages go to stderr.
"""

from __future__ import annotations

import argparse
import hashlib
import os
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path

from rich import progress as bars
from rich.console import Console
from sqlalchemy import select
from sqlalchemy.orm import Session

from omegraph.cli import CliError
from omegraph.settings import Settings
from resolvers.actor import Actor
from resolvers.containers import create_container
from resolvers.errors import DomainError
from resolvers.ids import format_id
from resolvers.imports.requests import DuplicatePolicy, FileDeclaration, ImportLimits, create_import
from resolvers.jobs.service import JobService
from resolvers.sessions import load_actor
from store.db import create_db_engine, writer_factory
from store.imports import ImportFile, ImportFileState
from store.jobs import Job, JobState
from store.migrate import check_migrated
from store.models import Dataset, Experimenter

CHUNK = 1 << 20
IMPORTS_DATASET = "Imports"
ENDED = {"DONE", "FAILED", "CANCELLED", "TIMED_OUT"}


@dataclass(frozen=True)
class LocalFile:
    path: str  # the path declared to the server, e.g. run1/sub/b.tif
    source: Path  # absolute path on this machine
    size: int
    sha256: str = ""


@dataclass(frozen=True)
class Outcome:
    """How an import ended, the same for local and remote imports."""

    status: str  # a JobStatus name: DONE, FAILED, ...
    error: str | None
    image_ids: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)


def progress_bar(console: Console, *, transfer: bool = False) -> bars.Progress:
    """A progress display on stderr, with bytes, rate and time left for a ``transfer``;
    silent when stderr is not a terminal."""
    extra = ([bars.DownloadColumn(), bars.TransferSpeedColumn(), bars.TimeRemainingColumn()]
             if transfer else [])
    return bars.Progress(bars.SpinnerColumn(), bars.TextColumn("{task.description}"),
                         bars.BarColumn(), *extra, console=console,
                         disable=not console.is_terminal)


# --- The files to import ---------------------------------------------------------------

def collect(paths: Sequence[Path]) -> list[LocalFile]:
    """Files named and files found below folders named (hidden ones skipped); a folder's
    files are declared below the folder's own name."""
    found: list[LocalFile] = []
    for given in paths:
        path = given.expanduser().absolute()
        if path.is_file():
            found.append(LocalFile(path.name, path, path.stat().st_size))
        elif path.is_dir():
            found += [LocalFile(str(Path(path.name) / item.relative_to(path)), item,
                                item.stat().st_size) for item in _walk(path)]
        else:
            raise CliError(f"{given}: no such file or folder")
    twice = sorted(path for path, n in Counter(f.path for f in found).items() if n > 1)
    if twice:
        raise CliError(f"{twice[0]} is named twice; import those separately")
    if not found:
        raise CliError("no files to import (hidden files are skipped)")
    return found


def _walk(root: Path) -> Iterator[Path]:
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if not name.startswith("."):
                yield Path(folder) / name


def with_checksums(files: list[LocalFile], console: Console) -> list[LocalFile]:
    """The files with their sha256, which lets the server skip bytes it already holds."""
    hashed = []
    with progress_bar(console, transfer=True) as progress:
        task = progress.add_task("checksums", total=sum(f.size for f in files))
        for item in files:
            digest = hashlib.sha256()
            for chunk in read_chunks(item.source):
                digest.update(chunk)
                progress.advance(task, len(chunk))
            hashed.append(LocalFile(item.path, item.source, item.size, digest.hexdigest()))
    return hashed


def read_chunks(path: Path, offset: int = 0) -> Iterator[bytes]:
    with path.open("rb") as handle:
        handle.seek(offset)
        while chunk := handle.read(CHUNK):
            yield chunk


def parse_dataset(text: str) -> str:
    """``Dataset:N`` or plain ``N`` as a global id."""
    number = text.removeprefix("Dataset:")
    if not (number.isascii() and number.isdigit()) or int(number) <= 0:
        raise CliError(f"--dataset: {text!r} is not a dataset id like Dataset:12")
    return format_id("Dataset", int(number))


def report(outcome: Outcome, console: Console) -> int:
    """Image ids on stdout; skipped duplicates and failures on stderr. The exit status."""
    for path in outcome.duplicates:
        console.print(f"skipped {path}: the same bytes were imported before", markup=False,
                      highlight=False)
    if outcome.image_ids:
        print("\n".join(outcome.image_ids), flush=True)
    if outcome.status == "DONE":
        console.print(f"imported {len(outcome.image_ids)} image(s)", highlight=False)
        return 0
    raise CliError(f"import {outcome.status.lower()}: {outcome.error or 'no reason given'}")


def run_import_command(settings: Settings, args: argparse.Namespace) -> int:
    """``omegraph import``: remote with ``--server``, otherwise into this machine's server."""
    console = Console(stderr=True)
    files = with_checksums(collect([Path(p) for p in args.paths]), console)
    duplicates = DuplicatePolicy(args.duplicates or settings.duplicate_policy)
    dataset = parse_dataset(args.dataset) if args.dataset else None
    if args.server:
        token = args.token or os.environ.get("OMEGRAPH_TOKEN")
        if not token:
            raise CliError("--server needs --token or OMEGRAPH_TOKEN (an API token ogt_...)")
        from omegraph.remote_import import remote_import  # httpx only when importing remotely

        outcome = remote_import(args.server, token, files, dataset, duplicates, console)
    else:
        outcome = local_import(settings, args.user, files, dataset, duplicates, console)
    return report(outcome, console)


# --- Local import ----------------------------------------------------------------------

def local_import(settings: Settings, username: str, files: list[LocalFile],
                 dataset: str | None, duplicates: DuplicatePolicy,
                 console: Console) -> Outcome:
    """Import files that stay where they are read from, running the job in this process."""
    engine = create_db_engine(settings.db_url)
    try:
        check_migrated(engine)
        factory = writer_factory(engine)
        service = JobService(settings, factory, "inline")
        with factory() as db:
            user = db.scalar(select(Experimenter).where(Experimenter.username == username))
            if user is None:
                raise CliError(f"no user named {username!r}")
            actor = load_actor(db, user)
            target = dataset or local_imports_dataset(db, actor)
            declared = [FileDeclaration(f.path, f.size, f.sha256, f.source) for f in files]
            limits = ImportLimits(settings.max_import_files, settings.max_upload_bytes)
            try:
                job = create_import(db, actor, target, declared, duplicates, limits)
            except DomainError as exc:
                raise CliError(f"cannot import into {target} as {username}: {exc}") from exc
            job_id, queued = job.id, job.state == JobState.QUEUED.value
        if queued:
            _run_with_progress(service, job_id, console)
        with factory() as db:
            return local_outcome(db, job_id)
    finally:
        engine.dispose()


def local_imports_dataset(db: Session, actor: Actor) -> str:
    """The user's "Imports" dataset in their default group, created when missing."""
    found = db.scalar(select(Dataset.id).where(
        Dataset.owner_id == actor.user_id, Dataset.name == IMPORTS_DATASET,
        Dataset.group_id == actor.default_group_id).order_by(Dataset.id).limit(1))
    if found is None:
        found = create_container(db, actor, "Dataset", IMPORTS_DATASET, None, None).id
    return format_id("Dataset", found)


def _run_with_progress(service: JobService, job_id: int, console: Console) -> None:
    """Run the job (and the pyramid jobs it queues) in a thread; show its progress here."""
    with futures.ThreadPoolExecutor(1, thread_name_prefix="omegraph-import") as pool:
        running = pool.submit(service.perform, job_id)
        with progress_bar(console) as progress:
            task = progress.add_task("import", total=1.0)
            while not futures.wait([running], timeout=0.25).done:
                with service.factory() as db:
                    job = db.get(Job, job_id)
                    if job is not None:
                        progress.update(task, completed=job.progress,
                                        description=job.step or job.state)
        running.result()  # the job's own failures are in its row; this raises the rest


def local_outcome(db: Session, job_id: int) -> Outcome:
    """The Outcome of a finished local import job."""
    job = db.get(Job, job_id)
    assert job is not None
    result = job.result or {}
    skipped = db.scalars(select(ImportFile.path).where(
        ImportFile.job_id == job_id, ImportFile.state == ImportFileState.DUPLICATE.value)
        .order_by(ImportFile.index))
    return Outcome(job.state.upper(), job.error,
                   [format_id("Image", n) for n in result.get("image_ids", [])], list(skipped))
