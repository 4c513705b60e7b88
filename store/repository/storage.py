"""The binary repository: original files under a per-fileset path template, derived data
(pyramids, thumbnails) in a tree of its own beside them. Pure filesystem code.

Every path handed in or out is relative to the repository root (as ``OriginalFile.path``),
e.g. ``originals/alice_3/2024-05/07/12/cells.tif``. Names from clients are never used as
they come: they go through :func:`safe_name` / :func:`safe_relative_path` first.

Writes go to a temporary file in the target directory (``O_EXCL``, mode 0o640), hashed
while written, fsynced, then published with ``link()`` + ``unlink()`` - an atomic rename
that never replaces an existing file - and the directory is fsynced. An existing name is
never overwritten: the file is stored as ``name (2).ext``, ``name (3).ext``, ...
(``OriginalFile.name`` keeps the client's name; ``path`` is where it really is).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import hashlib
import io
import os
import secrets
import shutil
import stat
import string
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from store.repository.names import UnsafeName, numbered_name, safe_name

ORIGINALS = "originals"
DERIVED = "derived"
DEFAULT_TEMPLATE = "{user}_{user_id}/{yyyy}-{mm}/{dd}/{fileset}"
TEMPLATE_FIELDS = frozenset({"user", "user_id", "yyyy", "mm", "dd", "fileset"})
_TEMP_PREFIX = ".omegraph-tmp-"
_MAX_DUPLICATES = 10_000
# Filesystems without hard links: fall back to check-then-rename (racy only against
# writers in the same fileset directory, and an import owns its fileset directory).
_NO_LINK_ERRNOS = frozenset({errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK,
                             errno.ENOSYS})


class UnsafePath(ValueError):
    """A repository-relative path that is malformed or leads outside its tree."""


class InvalidTemplate(ValueError):
    """A fileset path template with unknown fields or an unsafe expansion."""


class TooLarge(ValueError):
    """An upload exceeded its byte limit; nothing was kept."""


@dataclass(frozen=True)
class StoredFile:
    path: PurePosixPath  # relative to the repository root
    size: int
    sha256: str


def _check_relative(path: str | PurePosixPath, tree: str) -> PurePosixPath:
    """A repository-relative path strictly inside ``tree``, every component already safe."""
    text = str(path)
    rel = PurePosixPath(text)
    if rel.is_absolute() or "\\" in text or "\x00" in text:
        raise UnsafePath(f"not a relative repository path: {text!r}")
    parts = rel.parts
    if len(parts) < 2 or parts[0] != tree:
        raise UnsafePath(f"not inside the {tree} tree: {text!r}")
    for part in parts:
        try:
            ok = safe_name(part) == part
        except UnsafeName:
            ok = False
        if not ok:
            raise UnsafePath(f"unsafe component {part!r} in {text!r}")
    return rel


def validate_template(template: str) -> None:
    """Refuse templates with unknown/formatted fields, without ``{fileset}``, or whose
    expansion is not a relative path of safe components."""
    fields = set()
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as error:
        raise InvalidTemplate(f"malformed template {template!r}: {error}") from None
    for _literal, field, spec, conversion in parsed:
        if field is None:
            continue
        if field not in TEMPLATE_FIELDS or spec or conversion:
            raise InvalidTemplate(f"unknown template field {{{field}}} in {template!r}; "
                                  f"allowed: {', '.join(sorted(TEMPLATE_FIELDS))}")
        fields.add(field)
    if "fileset" not in fields:
        raise InvalidTemplate(f"template {template!r} must contain {{fileset}}")
    sample = _expand(template, "user", 1, 1, dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
    _check_expansion(template, sample)


def _check_expansion(template: str, expanded: str) -> PurePosixPath:
    if expanded.startswith("/") or "\\" in expanded:
        raise InvalidTemplate(f"template {template!r} does not expand to a relative path")
    try:
        return _check_relative(PurePosixPath(ORIGINALS) / expanded, ORIGINALS)
    except UnsafePath as error:
        raise InvalidTemplate(f"template {template!r} expands unsafely: {error}") from None


def _expand(template: str, user: str, user_id: int, fileset_id: int, when: dt.datetime) -> str:
    return template.format(user=user, user_id=user_id, fileset=fileset_id,
                           yyyy=f"{when.year:04d}", mm=f"{when.month:02d}",
                           dd=f"{when.day:02d}")


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _hash_file(path: Path, max_bytes: int) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            size += len(chunk)
            if size > max_bytes:
                raise TooLarge(f"{path.name} exceeds the limit of {max_bytes} bytes")
            digest.update(chunk)
    return size, digest.hexdigest()


class _CannotLink(Exception):
    """Hard links are impossible here (another filesystem); copy instead."""


@contextlib.contextmanager
def _new_file(path: Path) -> Iterator[int]:
    """A new file's descriptor (never an existing file, never through a symlink), mode
    0o640 whatever the umask; closed on exit."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags | getattr(os, "O_CLOEXEC", 0), 0o640)
    try:
        os.fchmod(fd, 0o640)
        yield fd
    finally:
        os.close(fd)


def _kernel_copy(source_fd: int, target_fd: int, max_bytes: int, name: str) -> int:
    """Copy all of ``source_fd`` with sendfile; TooLarge past ``max_bytes``."""
    copied = 0
    while True:
        sent = os.sendfile(target_fd, source_fd, copied, 1 << 24)
        if not sent:
            return copied
        copied += sent
        if copied > max_bytes:
            raise TooLarge(f"{name} exceeds the limit of {max_bytes} bytes")


@dataclass(frozen=True)
class Repository:
    """A repository rooted at ``root`` (``Settings.repository_dir``)."""

    root: Path

    @property
    def originals(self) -> Path:
        return self.root / ORIGINALS

    @property
    def derived(self) -> Path:
        return self.root / DERIVED

    def fileset_dir(self, username: str, user_id: int, fileset_id: int, when: dt.datetime,
                    template: str = DEFAULT_TEMPLATE) -> PurePosixPath:
        """The repository-relative directory of one fileset (not created). ``when`` must be
        timezone-aware; dates are taken in UTC."""
        validate_template(template)
        if when.tzinfo is None:
            raise ValueError("naive datetime; the repository dates filesets in UTC")
        for value in (user_id, fileset_id):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"ids must be non-negative integers, not {value!r}")
        expanded = _expand(template, safe_name(username), user_id, fileset_id,
                           when.astimezone(dt.UTC))
        return _check_expansion(template, expanded)

    def _resolve_inside(self, relative: PurePosixPath, tree: str) -> Path:
        """The absolute path of ``relative`` after resolving symlinks, refused unless it stays
        inside ``tree`` (which may itself be a symlink, e.g. onto another volume)."""
        base = (self.root / tree).resolve()
        target = (self.root / relative).resolve()
        if not target.is_relative_to(base) or target == base:
            raise UnsafePath(f"{relative} leads outside the {tree} tree")
        return target

    def _make_dirs(self, relative: PurePosixPath) -> Path:
        """Create ``relative`` below the root, fsyncing each parent that got a new entry."""
        current = self.root
        current.mkdir(parents=True, exist_ok=True)
        for depth, part in enumerate(relative.parts):
            parent, current = current, current / part
            try:
                current.mkdir(mode=0o750)
            except FileExistsError:
                # The tree itself may be a symlink (another volume); nothing below it may,
                # or the next mkdir could land outside the repository.
                if depth and current.is_symlink():
                    raise UnsafePath(f"{relative} passes through a symlink") from None
                continue
            _fsync_dir(parent)
        return self._resolve_inside(relative, relative.parts[0])

    def write_stream(self, relative_dir: str | PurePosixPath, name: str,
                     chunks: Iterable[bytes], max_bytes: int) -> StoredFile:
        """Store ``chunks`` as ``relative_dir/safe_name(name)`` (or ``name (2).ext`` ... if
        taken). Raises :class:`TooLarge` past ``max_bytes``; on any error nothing is left."""
        if max_bytes < 0:
            raise ValueError("max_bytes must not be negative")

        def fill(temp: Path, safe: str) -> tuple[int, str]:
            digest = hashlib.sha256()
            size = 0
            with _new_file(temp) as fd:
                for chunk in chunks:
                    size += len(chunk)
                    if size > max_bytes:
                        raise TooLarge(f"{safe} exceeds the limit of {max_bytes} bytes")
                    digest.update(chunk)
                    view = memoryview(chunk)
                    while view:
                        view = view[os.write(fd, view):]
                os.fsync(fd)
            return size, digest.hexdigest()

        return self._store(relative_dir, name, fill)

    def adopt(self, relative_dir: str | PurePosixPath, name: str, source: Path,
              max_bytes: int) -> StoredFile:
        """Store a file that is already on the repository's filesystem (an upload in
        staging) under ``relative_dir/safe_name(name)`` by hard link - no copy - after
        hashing it; copies instead when a link is impossible (another filesystem)."""

        def fill(temp: Path, _safe: str) -> tuple[int, str]:
            try:
                os.link(source, temp, follow_symlinks=False)
            except OSError as error:
                if error.errno in _NO_LINK_ERRNOS | {errno.EXDEV}:
                    raise _CannotLink from error
                raise
            found = _hash_file(temp, max_bytes)
            with open(temp, "rb") as handle:
                os.fsync(handle.fileno())
            return found

        try:
            return self._store(relative_dir, name, fill)
        except _CannotLink:
            return self.copy_file(relative_dir, name, source, max_bytes)

    def copy_file(self, relative_dir: str | PurePosixPath, name: str, source: Path,
                  max_bytes: int) -> StoredFile:
        """Store a copy of a server-side file (local import, DropBox) under
        ``relative_dir/safe_name(name)``; the checksum is of the bytes stored.

        The kernel copies (``sendfile``), which is several times faster than writing from
        Python; the copy is then read back to hash it, so a source changing meanwhile can
        never give a stored file a checksum that is not its own."""

        def fill(temp: Path, safe: str) -> tuple[int, str]:
            with source.open("rb") as handle, _new_file(temp) as fd:
                _kernel_copy(handle.fileno(), fd, max_bytes, safe)
                os.fsync(fd)
            return _hash_file(temp, max_bytes)

        return self._store(relative_dir, name, fill)

    def _store(self, relative_dir: str | PurePosixPath, name: str,
               fill: Callable[[Path, str], tuple[int, str]]) -> StoredFile:
        """The write protocol every store follows: ``fill`` writes (and fsyncs) a temporary
        file in the target directory and returns its size and sha256; it is then published
        under its final name and the directory fsynced. On any error nothing is left."""
        rel_dir = _check_relative(relative_dir, ORIGINALS)
        safe = safe_name(name)
        directory = self._make_dirs(rel_dir)
        temp = directory / f"{_TEMP_PREFIX}{secrets.token_hex(8)}"
        final: Path | None = None
        try:
            size, digest = fill(temp, safe)
            final = self._publish(temp, directory, safe)
            _fsync_dir(directory)
        except BaseException:
            for leftover in (temp, final):
                if leftover is not None:
                    with contextlib.suppress(FileNotFoundError):
                        leftover.unlink()
            raise
        return StoredFile(rel_dir / final.name, size, digest)

    @staticmethod
    def _publish(temp: Path, directory: Path, name: str) -> Path:
        """Give ``temp`` its final name without ever replacing an existing file."""
        for n in range(1, _MAX_DUPLICATES + 1):
            final = directory / numbered_name(name, n)
            try:
                os.link(temp, final, follow_symlinks=False)
            except FileExistsError:
                continue
            except OSError as error:
                if error.errno not in _NO_LINK_ERRNOS:
                    raise
                if os.path.lexists(final):
                    continue
                os.rename(temp, final)
                return final
            temp.unlink()
            return final
        raise FileExistsError(errno.EEXIST, f"too many files named {name}", str(directory))

    def open_original(self, relative_path: str | PurePosixPath) -> io.BufferedReader:
        """Open a stored original for reading; refuses anything (including via symlinks)
        outside the originals tree, and anything but a regular file."""
        rel = _check_relative(relative_path, ORIGINALS)
        target = self._resolve_inside(rel, ORIGINALS)
        fd = os.open(target, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
                     | getattr(os, "O_CLOEXEC", 0))
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise UnsafePath(f"{rel} is not a regular file")
            return open(fd, "rb")  # the caller closes it
        except BaseException:
            os.close(fd)
            raise

    def existing_file(self, relative_path: str | PurePosixPath) -> Path:
        """The absolute path of a stored file (original or derived), refused when it leads
        outside its tree or is not a regular file."""
        text = str(relative_path)
        tree = PurePosixPath(text).parts[0] if text else ""
        if tree not in (ORIGINALS, DERIVED):
            raise UnsafePath(f"not a repository file: {text!r}")
        target = self._resolve_inside(_check_relative(text, tree), tree)
        if not target.is_file():
            raise FileNotFoundError(text)
        return target

    def derived_dir(self, image_id: int, create: bool = False) -> Path:
        """Where an image's pyramid, thumbnails etc. live: ``derived/images/<id // 1000>/<id>``
        (at most 1000 images per directory)."""
        if isinstance(image_id, bool) or not isinstance(image_id, int) or image_id < 0:
            raise ValueError(f"image ids are non-negative integers, not {image_id!r}")
        rel = PurePosixPath(DERIVED, "images", str(image_id // 1000), str(image_id))
        return self._make_dirs(rel) if create else self.root / rel

    def remove_fileset(self, relative_dir: str | PurePosixPath) -> None:
        """Delete a fileset directory (rollback of a failed import), then its parents up to
        the originals tree while they are empty. Missing directories are fine."""
        rel = _check_relative(relative_dir, ORIGINALS)
        path = self.root / rel
        if not os.path.lexists(path):
            return
        if path.is_symlink() or not path.is_dir():
            raise UnsafePath(f"{rel} is not a directory")
        self._resolve_inside(rel, ORIGINALS)
        shutil.rmtree(path)  # does not follow symlinks inside
        parent = path.parent
        while parent != self.originals:
            try:
                parent.rmdir()
            except OSError:
                break
            parent = parent.parent
        _fsync_dir(parent)
