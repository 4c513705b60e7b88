"""Upload staging: bytes of files being uploaded, kept beside the repository until imported.

``<repository>/staging/<job id>/<file index>``: names are ours (numbers), never the client's.
Staging lives on the repository's filesystem so that an import publishes a staged file into
the originals tree with a hard link instead of a copy.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

STAGING = "staging"


class OffsetMismatch(ValueError):
    """The client resumes at an offset other than what the server holds."""

    def __init__(self, expected: int) -> None:
        super().__init__(f"upload resumes at byte {expected}")
        self.expected = expected


class Staging:
    def __init__(self, repository_root: Path) -> None:
        self.root = repository_root / STAGING

    def path(self, job_id: int, index: int) -> Path:
        if job_id < 0 or index < 0:
            raise ValueError("ids and indexes are non-negative")
        return self.root / str(job_id) / str(index)

    def held(self, job_id: int, index: int, recorded: int) -> int:
        """Bytes safely held for a file: what the database recorded, unless the file on disk
        is shorter (lost on a crash). Extra bytes past the record are cut off."""
        path = self.path(job_id, index)
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            return 0
        held = min(size, recorded)
        if size > held:
            os.truncate(path, held)
        return held

    def writer(self, job_id: int, index: int, offset: int, limit: int) -> StagedWriter:
        """A writer appending at ``offset`` (0 restarts the file) up to ``limit`` bytes."""
        path = self.path(job_id, index)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o750)
        return StagedWriter(path, offset, limit)

    def remove(self, job_id: int) -> None:
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(self.root / str(job_id))


class StagedWriter:
    """Appends to one staged file. Whatever was written before an error or a dropped
    connection stays (fsynced on close), so the client can resume from ``position``."""

    def __init__(self, path: Path, offset: int, limit: int) -> None:
        flags = os.O_WRONLY | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
        self._fd = os.open(path, flags | getattr(os, "O_CLOEXEC", 0), 0o640)
        self.position = offset
        self.limit = limit
        try:
            if os.fstat(self._fd).st_size < offset:
                raise OffsetMismatch(os.fstat(self._fd).st_size)
            os.ftruncate(self._fd, offset)
            os.lseek(self._fd, offset, os.SEEK_SET)
        except BaseException:
            os.close(self._fd)
            raise

    def write(self, data: bytes) -> None:
        """Append ``data``; ValueError (nothing of ``data`` written) past the limit."""
        if self.position + len(data) > self.limit:
            raise ValueError(f"more than the declared {self.limit} bytes")
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(self._fd, view):]
        except OSError:
            # Disk full mid-chunk: keep only whole chunks, so position stays exact.
            os.ftruncate(self._fd, self.position)
            raise
        self.position += len(data)

    def close(self) -> int:
        """fsync and close; returns the bytes held."""
        try:
            os.fsync(self._fd)
        finally:
            os.close(self._fd)
        return self.position
