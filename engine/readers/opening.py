"""Pick a reader from a file's first bytes; the file name's extension is never consulted."""

from __future__ import annotations

import os
from pathlib import Path

from engine.errors import CorruptFile, UnsupportedFormat
from engine.readers.base import DEFAULT_LIMITS, ImageSource, Limits
from engine.readers.pillow import PillowSource
from engine.readers.png16 import Png16Source, is_deep_colour_png
from engine.readers.tiff import TiffSource

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


def read_head(path: Path, count: int = 32) -> bytes:
    """The first ``count`` bytes of ``path``; CorruptFile when the file is empty."""
    with path.open("rb") as handle:
        head = handle.read(count)
    if not head:
        raise CorruptFile(f"{path.name}: empty file")
    return head


def open_image_file(path: str | os.PathLike[str], limits: Limits = DEFAULT_LIMITS) -> ImageSource:
    """Open ``path`` with the reader its content calls for (the extension is ignored).

    Raises CorruptFile (empty/truncated/malformed), UnsupportedFormat, ImageTooLarge.
    """
    path = Path(path)
    head = read_head(path)
    try:
        kind = detect_format(head)
    except UnsupportedFormat as exc:
        raise UnsupportedFormat(f"{path.name}: {exc}") from None
    if kind == "tiff":
        return TiffSource(path, limits)
    if kind == "png" and is_deep_colour_png(head):
        # Pillow narrows 16-bit colour PNGs to 8 bits, losing the data users imported them for.
        return Png16Source(path, limits)
    return PillowSource(path, limits)
