"""Client-supplied file names and paths made safe: never trusted, never escaping."""

from __future__ import annotations

import re
import unicodedata
from pathlib import PurePosixPath

MAX_NAME_BYTES = 255

_DEVICE_NAMES = frozenset(
    {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"}
    | {f"{dev}{n}" for dev in ("COM", "LPT") for n in (*"123456789", "¹", "²", "³")}
)
# Control characters (C0, DEL, C1) and characters Windows refuses in names.
_BAD_CHARS = re.compile(r'[\x00-\x1f\x7f-\x9f<>:"|?*]')


class UnsafeName(ValueError):
    """A client-supplied name or path from which no safe name can be made."""


def truncate_name(name: str, limit: int = MAX_NAME_BYTES) -> str:
    """Cut a name to ``limit`` UTF-8 bytes at a character boundary, keeping a short
    extension."""
    if len(name.encode()) <= limit:
        return name
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem or len(ext.encode()) > 32:
        stem, ext = name, ""
    suffix = f".{ext}" if ext else ""
    budget = limit - len(suffix.encode())
    cut = stem.encode()[:budget].decode(errors="ignore").rstrip(". ")
    return cut + suffix


def safe_name(client_name: str) -> str:
    """A single safe file name from whatever a client sent: the last component of a ``/`` or
    ``\\`` separated path, NFC-normalised, control and Windows-reserved characters replaced
    by ``_``, no trailing dots/spaces, device names prefixed with ``_``, at most 255 UTF-8
    bytes. Raises :class:`UnsafeName` when nothing usable remains (``""``, ``.``, ``..``)."""
    name = unicodedata.normalize("NFC", client_name)
    name = re.split(r"[/\\]", name)[-1]
    name = _BAD_CHARS.sub("_", name).rstrip(". ").lstrip(" ")
    if name in ("", ".", ".."):
        raise UnsafeName(f"no usable file name in {client_name!r}")
    if name.split(".", 1)[0].rstrip(" ").upper() in _DEVICE_NAMES:
        name = "_" + name
    name = truncate_name(name)
    if not name:
        raise UnsafeName(f"no usable file name in {client_name!r}")
    return name


def safe_relative_path(client_path: str) -> PurePosixPath:
    """A safe relative path for a file inside an uploaded folder. Absolute paths (``/x``,
    ``\\x``, ``C:\\x``, ``\\\\server\\share``) and ``..`` are refused, empty and ``.``
    components dropped, every other component passed through :func:`safe_name`."""
    normalised = unicodedata.normalize("NFC", client_path)
    if normalised.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", normalised):
        raise UnsafeName(f"absolute path refused: {client_path!r}")
    parts = [p for p in re.split(r"[/\\]", normalised) if p not in ("", ".")]
    if ".." in parts:
        raise UnsafeName(f"parent directory reference refused: {client_path!r}")
    if not parts:
        raise UnsafeName(f"no usable path in {client_path!r}")
    return PurePosixPath(*(safe_name(p) for p in parts))


def numbered_name(name: str, n: int) -> str:
    """``name (n).ext`` for the n-th file of the same (safe) name in one directory, still
    within 255 UTF-8 bytes."""
    if n == 1:
        return name
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem or len(ext.encode()) > 32:
        stem, ext = name, ""
    suffix = f" ({n})" + (f".{ext}" if ext else "")
    budget = MAX_NAME_BYTES - len(suffix.encode())
    return stem.encode()[:budget].decode(errors="ignore") + suffix
