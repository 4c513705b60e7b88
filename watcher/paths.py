"""Which dropped names count, and where a dropped path goes: pure functions over names."""

from __future__ import annotations

from dataclasses import dataclass

# Names that are never data, and the marks of files still being written or copied.
IGNORED_NAMES = frozenset({"thumbs.db", ".ds_store", "desktop.ini"})
TEMP_SUFFIXES = (".part", ".partial", ".tmp", ".temp", ".crdownload", ".download", ".swp", "~")
TEMP_PREFIXES = (".", "~")  # dot-files, and Office's ~$lock files


def is_ignored_name(name: str) -> bool:
    """Hidden, temporary and system files: ignored until renamed to a final name."""
    lower = name.lower()
    return (lower in IGNORED_NAMES or name.startswith(TEMP_PREFIXES)
            or lower.endswith(TEMP_SUFFIXES))


def is_ignored(relative: str) -> bool:
    """A path relative to the dropbox root ('/'-separated) whose file or any folder on the
    way is ignored, or a file directly in the root (it belongs to no user)."""
    parts = relative.split("/")
    return len(parts) < 2 or any(is_ignored_name(part) for part in parts)


def is_utf8(relative: str) -> bool:
    """Names the filesystem gave as undecodable bytes (surrogate escapes) cannot be stored."""
    try:
        relative.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@dataclass(frozen=True)
class Placement:
    """Where a dropped file goes: the user, an explicit group folder, the containers."""

    username: str
    group: str | None  # a <group>/ folder below the user's folder, when it names their group
    project: str | None
    dataset: str | None  # None: the default dataset
    name: str  # the file's path below its dataset folder


def place(relative: str, group_names: frozenset[str]) -> Placement:
    """``<user>/[<group>/]<file>``: default dataset; ``.../<dataset>/<file>``: that dataset;
    ``.../<project>/<dataset>/<file...>``: that project and dataset (deeper folders are kept
    in the file's name). The first folder is a group only if it names one of the user's
    ``group_names`` and something follows it."""
    username, *rest = relative.split("/")
    group = None
    if len(rest) >= 2 and rest[0] in group_names:
        group, rest = rest[0], rest[1:]
    if len(rest) == 1:
        return Placement(username, group, None, None, rest[0])
    if len(rest) == 2:
        return Placement(username, group, None, rest[0], rest[1])
    return Placement(username, group, rest[0], rest[1], "/".join(rest[2:]))
