"""Format readers: ``open_image_file`` detects the format from the file's first bytes;
``open_fileset`` opens several files at once, joining multi-file OME-TIFF images."""

from __future__ import annotations

from engine.readers.base import ImageSource, Limits, Region
from engine.readers.fileset import FilesetSource, companion_files, open_fileset
from engine.readers.opening import detect_format, open_image_file

__all__ = [
    "FilesetSource",
    "ImageSource",
    "Limits",
    "Region",
    "companion_files",
    "detect_format",
    "open_fileset",
    "open_image_file",
]
