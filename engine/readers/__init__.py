"""Format readers: ``open_image_file`` detects the format from the file's first bytes."""

from __future__ import annotations

import os
from pathlib import Path

from engine.errors import CorruptFile, UnsupportedFormat
from engine.readers.base import DEFAULT_LIMITS, ImageSource, Limits, Region
from engine.readers.pillow import PillowSource
from engine.readers.tiff import TiffSource

__all__ = ["ImageSource", "Limits", "Region", "detect_format", "open_image_file"]

MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
    (b"II+\x00", "tiff"),
    (b"MM\x00+", "tiff"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    (b"BM", "bmp"),
)


def detect_format(head: bytes) -> str:
    """The format name for a file's first bytes; UnsupportedFormat when none matches."""
    for magic, name in MAGIC:
        if head.startswith(magic):
            return name
    raise UnsupportedFormat("unrecognised file content")


def open_image_file(path: str | os.PathLike[str], limits: Limits = DEFAULT_LIMITS) -> ImageSource:
    """Open ``path`` with the reader its content calls for (the extension is ignored).

    Raises CorruptFile (empty/truncated/malformed), UnsupportedFormat, ImageTooLarge.
    """
    path = Path(path)
    with path.open("rb") as handle:
        head = handle.read(16)
    if not head:
        raise CorruptFile(f"{path.name}: empty file")
    kind = detect_format(head)
    if kind == "tiff":
        return TiffSource(path, limits)
    return PillowSource(path, limits)
