"""The watcher: watchfiles events (inotify, or polling for network shares) mark paths dirty;
each tick records what changed, settles finished imports and decides quiet files.

Events are hints, the disk and the database are the truth: a path is stat-ed when it is
seen, a missed event is caught by the start-up scan and the periodic rescan, and the work
held in memory is bounded (``MAX_DIRTY`` paths; beyond that, one full rescan instead).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO

import watchfiles
from sqlalchemy.orm import Session, sessionmaker

from omegraph.settings import Settings
from watcher.decide import Rules, move_imported, process
from watcher.disk import Seen, relative_of, stat_file, walk
from watcher.ledger import UnknownFolders, due, importing_count, observe, queued_jobs, settle
from watcher.paths import is_ignored

log = logging.getLogger("omegraph.watcher")

MAX_DIRTY = 10_000
CHUNK = 200
DUE_BATCH = 100
LOCK_NAME = ".omegraph-watcher.lock"

Enqueue = Callable[[int, str], None]


class Watcher:
    """Watches ``settings.dropbox_dir`` in a thread; one watcher per dropbox (a lock file in
    the root keeps any second one waiting as a standby)."""

    def __init__(self, settings: Settings, factory: sessionmaker[Session], enqueue: Enqueue
                 ) -> None:
        self.settings = settings
        self.factory = factory
        self.enqueue = enqueue
        self.root = Path(os.path.realpath(settings.dropbox_dir))
        self.rules = Rules(self.root, settings)
        self.tick_seconds = min(0.5, max(0.05, settings.dropbox_quiet_seconds / 3))
        self.unknown = UnknownFolders()
        self._dirty: set[str] = set()
        self._overflow = False
        self._last_scan = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.ready = threading.Event()  # set once the start-up scan is done

    # --- life cycle -----------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="omegraph-watcher", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def run(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        with self._lock() as held:
            if not held:
                return
            mode = "polling" if self.settings.dropbox_poll else "inotify"
            log.info("dropbox: watching %s (%s)", self.root, mode)
            while not self._stop.is_set():
                self._guarded(self._watch)

    @contextlib.contextmanager
    def _lock(self) -> Iterator[bool]:
        handle: IO[str] = (self.root / LOCK_NAME).open("a")
        try:
            told = False
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if not told:
                        log.info("dropbox: another watcher holds %s; standing by", self.root)
                        told = True
                    if self._stop.wait(2.0):
                        yield False
                        return
            yield True
        finally:
            handle.close()

    def _guarded(self, work: Callable[[], object]) -> None:
        try:
            work()
        except Exception:  # the database or the share may be away: try again shortly
            log.exception("dropbox: watching failed; trying again")
            self._stop.wait(min(5.0, self.tick_seconds * 10))

    def _watch(self) -> None:
        caught_up = False
        for changes in watchfiles.watch(
                self.root, watch_filter=None, stop_event=self._stop,
                force_polling=self.settings.dropbox_poll,
                poll_delay_ms=int(self.settings.dropbox_poll_interval * 1000),
                rust_timeout=int(self.tick_seconds * 1000), yield_on_timeout=True,
                debounce=500, step=50, raise_interrupt=False, ignore_permission_denied=True):
            if caught_up is False:
                # Catch up only now that the watch is in place: a file arriving during the
                # scan is then reported by the watch, not lost between the two.
                self.scan_all()
                self.ready.set()
                caught_up = True
                continue
            self.note(path for _, path in changes)
            self.tick()

    # --- work -----------------------------------------------------------------------

    def note(self, paths: Iterable[str]) -> None:
        for path in paths:
            if len(self._dirty) >= MAX_DIRTY:
                self._overflow = True
                self._dirty.clear()
                return
            self._dirty.add(path)

    def scan_all(self) -> None:
        """Catch up with the whole dropbox: files that arrived while no one watched."""
        self._dirty.clear()
        self._overflow = False
        self._last_scan = time.monotonic()
        self._observe(walk(self.root, self.root))
        with self.factory() as db:
            for job_id in queued_jobs(db):
                self.enqueue(job_id, "import")
        self.tick()

    def tick(self) -> None:
        rescan_due = time.monotonic() - self._last_scan > self.settings.dropbox_rescan_seconds
        if self._overflow or rescan_due:
            self.scan_all()
            return
        dirty, self._dirty = self._dirty, set()
        self._observe(self._expand(dirty))
        with self.factory() as db:
            imported = settle(db)
            if imported and self.settings.dropbox_after_import == "move":
                move_imported(self.root, [row for row in imported if row.current])
                db.commit()
            budget = self.settings.dropbox_max_importing - importing_count(db)
            rows = due(db, self.rules.quiet, DUE_BATCH) if budget > 0 else []
            if rows:
                process(db, self.rules, rows, budget, self.enqueue)

    def _expand(self, dirty: set[str]) -> Iterator[Seen]:
        for raw in sorted(dirty):
            path = Path(raw)
            relative = relative_of(self.root, path)
            if not relative or relative == ".":
                continue
            if path.is_dir():
                if not is_ignored(relative + "/x"):
                    yield from walk(self.root, path)
            elif is_ignored(relative):
                if "/" not in relative and path.exists() and relative != LOCK_NAME:
                    log.info("dropbox: %s is in no user's folder; ignored", relative)
            else:
                seen = stat_file(self.root, relative)
                if seen is not None:
                    yield seen

    def _observe(self, seen: Iterable[Seen]) -> None:
        chunk: list[Seen] = []
        for item in seen:
            chunk.append(item)
            if len(chunk) >= CHUNK:
                self._record(chunk)
                chunk = []
        if chunk:
            self._record(chunk)

    def _record(self, chunk: list[Seen]) -> None:
        with self.factory() as db:
            observe(db, chunk, self.unknown)
