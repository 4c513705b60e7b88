"""Open the files of one fileset together: multi-file OME-TIFF images become one image.

An OME-TIFF whose OME-XML has TiffData/UUID elements naming other files is the head of a
group: its images span those files, and the files it names are not opened on their own.
Every other file stands alone. Names in OME-XML are untrusted input: only bare names of
files handed to ``open_fileset`` are followed, so XML cannot reach outside the fileset.
"""

from __future__ import annotations

import dataclasses
import os
import struct
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path, PurePosixPath, PureWindowsPath

import numpy as np
import tifffile
from numpy.typing import NDArray

from engine.errors import CorruptFile, UnsupportedFormat
from engine.metadata import ImageMetadata, PlateInfo
from engine.readers.base import DEFAULT_LIMITS, ImageSource, Limits, Region
from engine.readers.ome_xml import referenced_files
from engine.readers.opening import detect_format, open_image_file, read_head
from engine.readers.tiff import TiffSource

StrPath = str | os.PathLike[str]


def _is_bare_name(name: str) -> bool:
    return (
        name not in ("", ".", "..")
        and "\x00" not in name
        and PurePosixPath(name).name == name
        and PureWindowsPath(name).name == name
    )


def companion_files(path: StrPath) -> list[str]:
    """Names of the other files whose planes an OME-TIFF's OME-XML places in them.

    Empty for anything that is not an OME-TIFF naming other files. Raises CorruptFile
    for unreadable XML or a name that is not a bare file name (a path, ``..``).
    """
    path = Path(path)
    try:
        kind = detect_format(read_head(path))
    except UnsupportedFormat as exc:
        raise UnsupportedFormat(f"{path.name}: {exc}") from None
    if kind != "tiff":
        return []
    try:
        with tifffile.TiffFile(path, _multifile=False) as tif:
            text = tif.ome_metadata if tif.is_ome else None
        names = referenced_files(text) if text else []
    except (tifffile.TiffFileError, ValueError, struct.error, EOFError, ET.ParseError) as exc:
        raise CorruptFile(f"{path.name}: {exc}") from exc
    unsafe = [n for n in names if not _is_bare_name(n)]
    if unsafe:
        raise CorruptFile(f"{path.name}: OME-XML names a file outside its folder: {unsafe[0]!r}")
    return [n for n in names if n != path.name]


def _plan(paths: list[Path]) -> list[tuple[Path, tuple[Path, ...]]]:
    """(head file, companion files) per group, in the order the heads were given."""
    by_name: dict[str, Path] = {}
    for path in paths:
        if by_name.setdefault(path.name, path) != path:
            raise CorruptFile(f"two files of the fileset are both named {path.name!r}")
    refs = {path: companion_files(path) for path in paths}
    groups: list[tuple[Path, tuple[Path, ...]]] = []
    taken: set[Path] = set()
    for path in paths:
        if path in taken or not refs[path]:
            continue
        missing = [n for n in refs[path] if n not in by_name]
        if missing:
            raise CorruptFile(f"{path.name}: companion file {missing[0]!r} is missing")
        companions = tuple(by_name[n] for n in refs[path])
        stray = [p for p in companions if p.parent != path.parent]
        if stray:
            raise CorruptFile(f"{path.name}: companion {stray[0].name!r} is in another folder")
        groups.append((path, companions))
        taken.update((path, *companions))
    groups += [(path, ()) for path in paths if path not in taken]
    order = {path: index for index, path in enumerate(paths)}
    return sorted(groups, key=lambda group: order[group[0]])


class FilesetSource:
    """Images of several files as one source; series are numbered across all files."""

    def __init__(self, parts: Sequence[tuple[Path, tuple[Path, ...], ImageSource]]) -> None:
        self._parts = list(parts)
        self._index: list[tuple[int, int]] = []  # global series -> (part, local series)
        self._images: list[ImageMetadata] = []
        for number, (_, _, source) in enumerate(self._parts):
            for meta in source.images:
                self._index.append((number, meta.series))
                self._images.append(dataclasses.replace(meta, series=len(self._images)))

    @property
    def images(self) -> list[ImageMetadata]:
        return list(self._images)

    @property
    def files(self) -> tuple[Path, ...]:
        """Every file the images were read from, heads first then their companions."""
        return tuple(p for head, companions, _ in self._parts for p in (head, *companions))

    @property
    def plates(self) -> list[PlateInfo]:
        """Plates described by the files, their samples renumbered into this source's series."""
        found = []
        for number, (_, _, source) in enumerate(self._parts):
            first = self._index.index((number, 0)) if (number, 0) in self._index else 0
            for plate in getattr(source, "plates", ()):
                wells = tuple(dataclasses.replace(well, samples=tuple(
                    dataclasses.replace(sample, series=first + sample.series)
                    for sample in well.samples)) for well in plate.wells)
                found.append(dataclasses.replace(plate, wells=wells))
        return found

    def file_of(self, series: int) -> Path:
        """The file holding the metadata of image ``series`` (name images after it)."""
        return self._parts[self._locate(series)[0]][0]

    def files_of(self, series: int) -> tuple[Path, ...]:
        """Every file that may hold planes of image ``series``."""
        head, companions, _ = self._parts[self._locate(series)[0]]
        return (head, *companions)

    def _locate(self, series: int) -> tuple[int, int]:
        if not 0 <= series < len(self._index):
            raise IndexError(f"series {series} out of range 0..{len(self._index) - 1}")
        return self._index[series]

    def read_region(
        self, region: Region, out: NDArray[np.generic] | None = None
    ) -> NDArray[np.generic]:
        """Pixels of one plane region of image ``region.series``, as (height, width)."""
        part, local = self._locate(region.series)
        local_region = dataclasses.replace(region, series=local)
        return self._parts[part][2].read_region(local_region, out)

    def close(self) -> None:
        for _, _, source in self._parts:
            source.close()


def open_fileset(paths: Sequence[StrPath], limits: Limits = DEFAULT_LIMITS) -> FilesetSource:
    """Open the files of one fileset, joining multi-file OME-TIFFs into their images.

    Raises CorruptFile (also for a companion missing from ``paths``), UnsupportedFormat
    or ImageTooLarge, naming the file at fault; nothing stays open after an error.
    """
    groups = _plan([Path(p) for p in paths])
    parts: list[tuple[Path, tuple[Path, ...], ImageSource]] = []
    try:
        for head, companions in groups:
            source: ImageSource = (
                TiffSource(head, limits, multifile=True) if companions
                else open_image_file(head, limits)
            )  # fmt: skip
            parts.append((head, companions, source))
    except BaseException:
        for _, _, opened in parts:
            opened.close()
        raise
    return FilesetSource(parts)
