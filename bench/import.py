"""Import benchmark: how close is importing files to just copying their bytes?

In one run, on the same disk (a temporary directory, or --dir):

1. throughput: N generated TIFFs (3-channel uint16, below the pyramid threshold) imported
   through the real pipeline (one import job per file on the server's job threads: copy
   into the repository with sha256, parse, rows in SQLite, channel statistics,
   thumbnails), against the floor of copying the same files with shutil.copyfile + fsync.
   Target: >= 50% of the floor.
2. pyramids: bench/import_pyramid.py (build_pyramid against a plain tifffile + numpy
   baseline, peak memory of each). Target: within 1.5x, under 1 GB.

Usage: .venv/bin/python bench/import.py [--files 20] [--side 2048] [--rounds 5] [--batch 1]
                                       [--threads 2] [--pyramid-size 16384]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import tifffile
from sqlalchemy import select

from omegraph.settings import load_settings
from resolvers.imports.requests import DuplicatePolicy, FileDeclaration, ImportLimits, create_import
from resolvers.jobs.queue import InProcessQueue
from resolvers.jobs.service import JobService
from resolvers.sessions import load_actor
from store.db import create_db_engine, writer_factory
from store.migrate import upgrade
from store.models import Dataset, Experimenter, ExperimenterGroup, GroupMembership, Job


def generate(folder: Path, count: int, side: int) -> list[Path]:
    rng = np.random.default_rng(1)
    coarse = rng.integers(0, 3000, (3, side // 8, side // 8)).astype(np.uint16)
    paths = []
    for n in range(count):
        data = np.kron(coarse, np.ones((8, 8), np.uint16)) + rng.integers(
            0, 200, (3, side, side), dtype=np.uint16)
        path = folder / f"plate-{n:03d}.tif"
        tifffile.imwrite(path, data, photometric="minisblack", metadata={"axes": "CYX"},
                         tile=(256, 256))
        paths.append(path)
    return paths


def copy_floor(paths: list[Path], target: Path) -> float:
    target.mkdir()
    start = time.perf_counter()
    for path in paths:
        destination = target / path.name
        shutil.copyfile(path, destination)
        with destination.open("rb") as handle:
            os.fsync(handle.fileno())
    return time.perf_counter() - start


def import_all(paths: list[Path], data_dir: Path, batch: int = 1, threads: int = 2) -> float:
    settings = load_settings({}, data_dir=data_dir, run_jobs_in_server=False,
                             job_threads=threads)
    engine = create_db_engine(settings.db_url)
    upgrade(engine)
    factory = writer_factory(engine)
    with factory() as db:
        group = ExperimenterGroup(name="bench", permissions="rw----")
        db.add(group)
        db.flush()
        user = Experimenter(username="bench", default_group_id=group.id)
        db.add(user)
        db.flush()
        db.add(GroupMembership(experimenter_id=user.id, group_id=group.id))
        dataset = Dataset(name="bench", owner_id=user.id, group_id=group.id)
        db.add(dataset)
        db.commit()
        actor = load_actor(db, user)
        target = f"Dataset:{dataset.id}"
    # The server's own job threads (settings.job_threads), as imports run in production.
    service = JobService(settings, factory, "threads")
    queue = service.queue
    assert isinstance(queue, InProcessQueue)
    queue.start()
    start = time.perf_counter()
    # batch=1: one import per file, as the DropBox makes them; more: files per import, as
    # `omegraph import FOLDER` declares a whole folder in one.
    for first in range(0, len(paths), batch):
        group = paths[first:first + batch]
        with factory() as db:
            job = create_import(db, actor, target,
                                [FileDeclaration(p.name, p.stat().st_size, source=p)
                                 for p in group], DuplicatePolicy.IMPORT, ImportLimits())
            job_id = job.id
        service.enqueue(job_id, "import")
    queue.join()
    elapsed = time.perf_counter() - start
    queue.stop()
    with factory() as db:
        states = set(db.scalars(select(Job.state)))
    engine.dispose()
    if states != {"done"}:
        raise SystemExit(f"imports did not all succeed: {states}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    # 24 MiB files, 480 MiB in all: typical camera images, and more than the virtual disk's
    # write cache absorbs, so the floor is the disk's real rate (see the rounds printed).
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--side", type=int, default=2048)
    parser.add_argument("--pyramid-size", type=int, default=16384)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batch", type=int, default=1, help="files per import job")
    parser.add_argument("--threads", type=int, default=2,
                        help="job threads (OMEGRAPH_JOB_THREADS; the default is 2)")
    parser.add_argument("--dir", type=Path, help="work here (default: a temporary directory)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        work = Path(tmp)
        (work / "files").mkdir()
        paths = generate(work / "files", args.files, args.side)
        size = sum(p.stat().st_size for p in paths) / 2**20
        copies, imports = [], []
        # Round 0 is a warm-up, not counted: the disk's write cache makes a first burst of
        # writes several times faster than the sustained rate both sides really get, and
        # the import's first round also loads the engine and its compiled kernels.
        for round_ in range(args.rounds + 1):  # alternated: both see the same machine
            os.sync()  # nobody pays for the previous round's dirty pages
            copied = copy_floor(paths, work / f"copy{round_}")
            os.sync()
            imported = import_all(paths, work / f"data{round_}", args.batch, args.threads)
            if round_:
                copies.append(copied)
                imports.append(imported)
        copy, imported = statistics.median(copies), statistics.median(imports)
        print("rounds (copy / import, s): " + ", ".join(
            f"{c:.2f} / {i:.2f}" for c, i in zip(copies, imports, strict=True)))
        print(f"{args.files} files, {size:.0f} MiB ({args.side}x{args.side}x3 uint16 each), "
              f"{args.batch} per import job, {args.threads} job threads, "
              f"median of {args.rounds} rounds")
        print(f"copy + fsync (floor)  {copy:6.2f} s  {size / copy:7.1f} MiB/s")
        print(f"import (pipeline)     {imported:6.2f} s  {size / imported:7.1f} MiB/s")
        print(f"import / floor throughput: {copy / imported:.0%} (target >= 50%)")
    print()
    subprocess.run([sys.executable, str(Path(__file__).parent / "import_pyramid.py"),  # noqa: S603
                    "--size", str(args.pyramid_size)], check=True)


if __name__ == "__main__":
    main()
