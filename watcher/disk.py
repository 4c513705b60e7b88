"""The dropbox on disk: stat, walk, checksums, and whether a process is writing a file."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from watcher.paths import is_ignored, is_ignored_name, is_utf8

CHUNK = 1 << 20


@dataclass(frozen=True)
class Seen:
    """A file as stat saw it; ``relative`` is '/'-separated below the dropbox root."""

    relative: str
    size: int
    mtime_ns: int


def relative_of(root: Path, path: Path) -> str | None:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return None


def stat_file(root: Path, relative: str) -> Seen | None:
    """The file at ``relative``, or None when it is gone or not a regular file."""
    try:
        st = (root / relative).stat()
    except (FileNotFoundError, NotADirectoryError, PermissionError):
        return None
    if not os.path.isfile(root / relative):
        return None
    return Seen(relative, st.st_size, st.st_mtime_ns)


def walk(root: Path, start: Path) -> Iterator[Seen]:
    """Regular files at or below ``start`` that are not ignored, lazily (bounded memory)."""
    if start.is_file():
        relative = relative_of(root, start)
        if relative is not None and not is_ignored(relative) and is_utf8(relative):
            seen = stat_file(root, relative)
            if seen is not None:
                yield seen
        return
    stack = [start]
    while stack:
        folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except (FileNotFoundError, NotADirectoryError, PermissionError):
            continue
        for entry in sorted(entries, key=lambda e: e.name):
            if is_ignored_name(entry.name):
                continue
            path = Path(entry.path)
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(path)
                    continue
                if not entry.is_file(follow_symlinks=False):
                    continue
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            relative = relative_of(root, path)
            if relative is not None and not is_ignored(relative) and is_utf8(relative):
                yield Seen(relative, st.st_size, st.st_mtime_ns)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def open_for_writing(paths: set[str]) -> set[str]:
    """The absolute ``paths`` some process on this machine holds open for writing (Linux
    /proc; elsewhere, and for writers on other machines, the quiet period decides)."""
    if not paths:
        return set()
    proc = Path("/proc")
    found: set[str] = set()
    try:
        pids = [p for p in os.listdir(proc) if p.isdigit()]
    except OSError:
        return found
    for pid in pids:
        fd_dir = proc / pid / "fd"
        try:
            fds = os.listdir(fd_dir)
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(fd_dir / fd)
            except OSError:
                continue
            if target in paths and _writable(proc / pid / "fdinfo" / fd):
                found.add(target)
    return found


def _writable(fdinfo: Path) -> bool:
    try:
        text = fdinfo.read_text()
    except OSError:
        return False
    for line in text.splitlines():
        if line.startswith("flags:"):
            return int(line.split()[1], 8) & (os.O_WRONLY | os.O_RDWR) != 0
    return False
