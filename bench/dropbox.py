"""DropBox benchmark: a bulk copy of many small files plus a few large ones into a user's
folder, with the real watcher and job threads on an embedded SQLite database.

Prints how long until every file was imported, files per second, the watcher's peak
resident memory growth, and checks that none was imported twice or lost.

Usage: .venv/bin/python bench/dropbox.py [--small 1000] [--large 3] [--large-side 4000]
                                         [--threads 2] [--poll]
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import tifffile
from sqlalchemy import func, select

from omegraph.settings import load_settings
from resolvers.jobs.service import JobService
from store.db import create_db_engine, session_factory, writer_factory
from store.migrate import upgrade
from store.models import (
    DropboxFile,
    Experimenter,
    ExperimenterGroup,
    GroupMembership,
    Image,
    Job,
)
from watcher.loop import Watcher


def _make_files(staging: Path, small: int, large: int, side: int) -> int:
    rng = np.random.default_rng(1)
    for n in range(small):
        tifffile.imwrite(staging / f"small_{n:04}.tif",
                         rng.integers(0, 4000, (32, 32)).astype("uint16"))
    for n in range(large):
        tifffile.imwrite(staging / f"large_{n}.tif",
                         rng.integers(0, 4000, (side, side)).astype("uint16"), tile=(256, 256))
    return sum(p.stat().st_size for p in staging.iterdir())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", type=int, default=1000)
    parser.add_argument("--large", type=int, default=3)
    parser.add_argument("--large-side", type=int, default=4000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--poll", action="store_true")
    parser.add_argument("--max-importing", type=int, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        settings = load_settings({}, data_dir=root / "data", dropbox_dir=root / "dropbox",
                                 job_threads=args.threads, dropbox_quiet_seconds=1.0,
                                 dropbox_poll=args.poll,
                                 **({"dropbox_max_importing": args.max_importing}
                                    if args.max_importing else {}))
        (root / "data").mkdir()
        engine = create_db_engine(settings.db_url)
        upgrade(engine)
        with session_factory(engine)() as db:
            group = ExperimenterGroup(name="lab", permissions="rw----")
            db.add(group)
            db.flush()
            user = Experimenter(username="ann", default_group_id=group.id)
            db.add(user)
            db.flush()
            db.add(GroupMembership(experimenter_id=user.id, group_id=group.id))
            db.commit()
        staging = root / "staging"
        staging.mkdir()
        total_bytes = _make_files(staging, args.small, args.large, args.large_side)
        count = args.small + args.large
        writers = writer_factory(engine)
        jobs = JobService(settings, writers, "threads")
        jobs.start()
        watcher = Watcher(settings, writers, jobs.enqueue)
        watcher.start()
        while not watcher.ready.wait(0.1):
            pass
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        start = time.monotonic()
        shutil.copytree(staging, settings.dropbox_dir / "ann" / "bulk")
        copied = time.monotonic() - start
        readers = session_factory(engine)
        while True:
            with readers() as db:
                states = dict(db.execute(select(DropboxFile.state, func.count())
                                         .group_by(DropboxFile.state)).all())
            if states.get("imported", 0) + states.get("failed", 0) >= count:
                break
            time.sleep(0.5)
        elapsed = time.monotonic() - start
        watcher.stop()
        jobs.stop()
        with readers() as db:
            images = db.scalar(select(func.count()).select_from(Image))
            job_rows = db.scalar(select(func.count()).select_from(Job)
                                 .where(Job.job_kind == "import"))
            rows = db.scalar(select(func.count()).select_from(DropboxFile))
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        engine.dispose()
    print(f"files: {args.small} small + {args.large} large ({args.large_side}^2 uint16), "
          f"{total_bytes / 1e6:.1f} MB, {'polling' if args.poll else 'inotify'}, "
          f"{args.threads} job threads")
    print(f"bulk copy into the dropbox: {copied:.2f} s")
    print(f"all imported after: {elapsed:.1f} s ({count / elapsed:.1f} files/s, "
          f"including the 1 s quiet period)")
    print(f"states: {states}")
    print(f"dropbox rows {rows}, import jobs {job_rows}, images {images} "
          f"(expected {count} each: none twice, none lost)")
    print(f"peak RSS growth during the run: {(rss_after - rss_before) / 1024:.0f} MB")
    if not rows == job_rows == images == count:
        raise SystemExit("MISMATCH")


if __name__ == "__main__":
    main()
