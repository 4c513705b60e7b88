"""Build a tiled, pyramidal OME-TIFF from any readable image, in bounded memory.

Layout of the file written (what ``engine.readers`` reads back as resolution levels):
one OME-TIFF series with every plane of the source image in OME ``XYZCT`` order
(T outermost, then C, then Z), each plane a tiled page whose SubIFDs hold the lower
levels. Level k+1 is the 2x2 area mean of level k, sizes ceil-divided, edge blocks
averaged over the pixels present, integers rounded half up (``floor(mean + 0.5)``),
floats averaged in float64 and cast back (see ``engine.overview.block_mean``).
Levels are halved until the longest side is <= ``min_level_side``.

Memory stays bounded whatever the image size: level 0 streams from the source in
bands of whole tile rows straight into tifffile's tile iterator while a chain of 2x2
reducers derives every lower level from each band as it passes. tifffile writes all
planes of level 0 before any SubIFD level, so lower levels wait in RAM when small and
otherwise in anonymous temporary files next to the destination (unlinked at creation,
so nothing is left behind even by a crash). The file itself is written under a
temporary name in the destination directory, fsynced, then renamed into place.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import tifffile
from numpy.typing import NDArray

from engine.metadata import ImageMetadata
from engine.overview import block_mean, plane_bands
from engine.readers.base import DTYPES, ImageSource

#: OMERO builds pyramids for planes larger than this on either side.
PYRAMID_THRESHOLD = 3192
#: A lower level (all planes) up to this size waits in RAM, larger ones on disk.
IN_MEMORY_LEVEL_BYTES = 64 << 20
#: Bytes of level 0 read from the source per band (rounded to whole tile rows).
SOURCE_BAND_BYTES = 32 << 20
#: Bytes of tiles tifffile gathers before compressing them in parallel; its default
#: (512 MB) would hold that much of the image in memory at once.
WRITE_BUFFER_BYTES = 32 << 20

Progress = Callable[[float], None]
Plane = tuple[int, int, int]  # (z, c, t)


@dataclass(frozen=True, slots=True)
class PyramidInfo:
    """What ``build_pyramid`` wrote: ``levels`` lists (width, height) from full resolution
    down; ``file_bytes`` is the size of the finished file."""

    path: Path
    levels: tuple[tuple[int, int], ...]
    tile: int
    plane_count: int
    compression: str | None
    file_bytes: int


def needs_pyramid(meta: ImageMetadata, threshold: int = PYRAMID_THRESHOLD) -> bool:
    """Whether a plane is too large to serve without a pyramid (either side > threshold)."""
    return meta.size_x > threshold or meta.size_y > threshold


def has_cheap_random_access(meta: ImageMetadata, threshold: int = PYRAMID_THRESHOLD) -> bool:
    """Whether the source can serve every zoom level as it is: it already has more than
    one resolution level, or its planes are small enough to read whole."""
    return len(meta.resolution_levels) > 1 or not needs_pyramid(meta, threshold)


def pyramid_levels(width: int, height: int,
                   min_level_side: int = 256) -> tuple[tuple[int, int], ...]:
    """(width, height) of each level: halved (ceil) until the longest side <= min_level_side."""
    if min_level_side < 1:
        raise ValueError(f"min_level_side must be >= 1, got {min_level_side}")
    levels = [(width, height)]
    while max(width, height) > min_level_side:
        width, height = -(-width // 2), -(-height // 2)
        levels.append((width, height))
    return tuple(levels)


def plane_order(meta: ImageMetadata) -> list[Plane]:
    """Every (z, c, t) of an image in OME XYZCT order: z fastest, t slowest."""
    return [(z, c, t) for t in range(meta.size_t) for c in range(meta.size_c)
            for z in range(meta.size_z)]


class _Scratch:
    """One lower level, all planes, waiting to be written: in RAM or in an unlinked file."""

    def __init__(self, planes: int, width: int, height: int, dtype: np.dtype,
                 directory: Path) -> None:
        self.width, self.height, self.dtype = width, height, dtype
        self._plane_bytes = width * height * dtype.itemsize
        self._memory: NDArray[Any] | None = None
        self._file: IO[bytes] | None = None
        if planes * self._plane_bytes <= IN_MEMORY_LEVEL_BYTES:
            self._memory = np.empty((planes, height, width), dtype)
        else:
            # Closed in close(); unlinked at once, so a crash leaves nothing behind.
            self._file = tempfile.TemporaryFile(dir=directory, prefix=".pyramid-")  # noqa: SIM115

    def write(self, plane: int, y: int, rows: NDArray[Any]) -> None:
        if self._memory is not None:
            self._memory[plane, y : y + rows.shape[0]] = rows
            return
        assert self._file is not None
        data = np.ascontiguousarray(rows, self.dtype).data.cast("B")
        offset = plane * self._plane_bytes + y * self.width * self.dtype.itemsize
        while data:
            done = os.pwrite(self._file.fileno(), data, offset)
            data, offset = data[done:], offset + done

    def read(self, plane: int, y: int, count: int) -> NDArray[Any]:
        if self._memory is not None:
            return self._memory[plane, y : y + count]
        assert self._file is not None
        out = np.empty((count, self.width), self.dtype)
        view = out.data.cast("B")
        offset = plane * self._plane_bytes + y * self.width * self.dtype.itemsize
        while view:
            done = os.preadv(self._file.fileno(), [view], offset)
            if done <= 0:
                raise OSError("pyramid scratch file ended early")
            view, offset = view[done:], offset + done
        return out

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
        self._memory = None


class _ReducerChain:
    """Derives levels 1..n from level-0 bands of one plane at a time, 2x2 per level.

    A band with an odd row count (not the plane's last) keeps its last row back for the
    next band, so every 2x2 block is averaged whole except at the bottom edge.
    """

    def __init__(self, scratches: list[_Scratch]) -> None:
        self._scratches = scratches
        self._plane = 0
        self._carry: list[NDArray[Any] | None] = [None] * len(scratches)
        self._next_y = [0] * len(scratches)

    def start(self, plane: int) -> None:
        self._plane = plane
        self._carry = [None] * len(self._scratches)
        self._next_y = [0] * len(self._scratches)

    def feed(self, band: NDArray[Any], last: bool) -> None:
        for index, scratch in enumerate(self._scratches):
            carry = self._carry[index]
            if carry is not None:
                band = np.concatenate([carry, band])
                self._carry[index] = None
            if not last and band.shape[0] % 2:
                self._carry[index] = band[-1:].copy()
                band = band[:-1]
            if band.shape[0] == 0:
                return  # only when not last: the row waits in the carry
            band = block_mean(band, 2)
            scratch.write(self._plane, self._next_y[index], band)
            self._next_y[index] += band.shape[0]
        if last and self._next_y != [s.height for s in self._scratches]:
            raise RuntimeError(f"pyramid levels incomplete: {self._next_y}")


def _tiles(rows: NDArray[Any], tile: int) -> Iterator[NDArray[Any]]:
    """Tiles of a band of whole tile rows, row-major; tifffile pads the edge ones."""
    for y in range(0, rows.shape[0], tile):
        for x in range(0, rows.shape[1], tile):
            yield rows[y : y + tile, x : x + tile]


class _Counter:
    """Turns pixels written into ``progress(fraction)`` calls."""

    def __init__(self, total: int, progress: Progress | None) -> None:
        self._total, self._done, self._progress = max(1, total), 0, progress

    def add(self, pixels: int) -> None:
        self._done += pixels
        if self._progress is not None:
            self._progress(min(1.0, self._done / self._total))


def _level0_tiles(source: ImageSource, series: int, planes: list[Plane], tile: int,
                  chain: _ReducerChain, counter: _Counter) -> Iterator[NDArray[Any]]:
    height = source.images[series].size_y
    for index, (z, c, t) in enumerate(planes):
        chain.start(index)
        for y, band in plane_bands(source, series, z, c, t, max_bytes=SOURCE_BAND_BYTES,
                                   multiple=tile):
            chain.feed(band, last=y + band.shape[0] >= height)
            # Counted before yielding: tifffile stops pulling after the last tile.
            counter.add(band.size)
            yield from _tiles(band, tile)


def _level_tiles(scratch: _Scratch, planes: int, tile: int,
                 counter: _Counter) -> Iterator[NDArray[Any]]:
    for plane in range(planes):
        for y in range(0, scratch.height, tile):
            rows = scratch.read(plane, y, min(tile, scratch.height - y))
            counter.add(rows.size)
            yield from _tiles(rows, tile)


def ome_metadata(meta: ImageMetadata) -> dict[str, Any]:
    """tifffile ``metadata`` for the OME-XML of a pyramid of ``meta`` (axes TCZYX)."""
    out: dict[str, Any] = {"axes": "TCZYX", "Name": meta.name}
    for axis in "XYZ":
        size = getattr(meta, f"physical_size_{axis.lower()}")
        if size is not None:
            out[f"PhysicalSize{axis}"] = size.value
            out[f"PhysicalSize{axis}Unit"] = size.unit
    if meta.time_increment is not None:
        out["TimeIncrement"] = meta.time_increment.value
        out["TimeIncrementUnit"] = meta.time_increment.unit
    channel: dict[str, list[Any]] = {}
    names = [ch.name for ch in meta.channels]
    colors = [ch.color for ch in meta.channels]
    # OME-XML attributes are all-or-nothing per list in tifffile: only write complete ones.
    if len(names) == meta.size_c and all(n is not None for n in names):
        channel["Name"] = names
    if len(colors) == meta.size_c and all(c is not None for c in colors):
        channel["Color"] = colors
    if channel:
        out["Channel"] = channel
    return out


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write(handle: IO[bytes], source: ImageSource, series: int, levels: tuple[tuple[int, int], ...],
           scratches: list[_Scratch], options: dict[str, Any], counter: _Counter) -> None:
    meta = source.images[series]
    planes = plane_order(meta)
    dtype = DTYPES[meta.pixel_type]
    lead = (meta.size_t, meta.size_c, meta.size_z)
    raw_bytes = sum(w * h for w, h in levels) * len(planes) * dtype.itemsize
    chain = _ReducerChain(scratches)
    tile = options["tile"][0]
    with tifffile.TiffWriter(handle, bigtiff=raw_bytes > 2**31, ome=True) as tif:
        tif.write(_level0_tiles(source, series, planes, tile, chain, counter),
                  shape=(*lead, meta.size_y, meta.size_x), dtype=dtype,
                  subifds=len(levels) - 1 or None, metadata=ome_metadata(meta), **options)
        for scratch in scratches:
            tif.write(_level_tiles(scratch, len(planes), tile, counter),
                      shape=(*lead, scratch.height, scratch.width), dtype=dtype,
                      subfiletype=1, metadata=None, **options)


def build_pyramid(source: ImageSource, series: int, dest_path: str | os.PathLike[str], *,
                  tile: int = 512, compression: str | None = "zstd", min_level_side: int = 256,
                  progress: Progress | None = None, maxworkers: int | None = None,
                  ) -> PyramidInfo:
    """Write image ``series`` of ``source`` as a pyramidal OME-TIFF at ``dest_path``.

    ``tile`` is the tile side in pixels (a multiple of 16); ``compression`` a tifffile
    codec name or None; ``progress(fraction)`` is called as pixels are written;
    ``maxworkers`` compression threads (None: tifffile decides). ``dest_path`` appears
    only complete: on any error nothing is left under it or beside it.
    """
    if tile < 16 or tile % 16:
        raise ValueError(f"tile must be a positive multiple of 16, got {tile}")
    meta = source.images[series]
    dest = Path(dest_path)
    levels = pyramid_levels(meta.size_x, meta.size_y, min_level_side)
    dtype = DTYPES[meta.pixel_type]
    planes = meta.plane_count
    counter = _Counter(sum(w * h for w, h in levels) * planes, progress)
    options = {"tile": (tile, tile), "compression": compression, "photometric": "minisblack",
               "maxworkers": maxworkers, "buffersize": WRITE_BUFFER_BYTES}
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    os.close(fd)  # reopened by name: tifffile wants a file object with a path-like name
    handle = open(tmp_name, "w+b")  # noqa: SIM115 - closed by the with below
    scratches: list[_Scratch] = []
    try:
        with handle:
            scratches = [_Scratch(planes, w, h, dtype, dest.parent) for w, h in levels[1:]]
            _write(handle, source, series, levels, scratches, options, counter)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, dest)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    finally:
        for scratch in scratches:
            scratch.close()
    _fsync_directory(dest.parent)
    return PyramidInfo(dest, levels, tile, planes, compression, dest.stat().st_size)
