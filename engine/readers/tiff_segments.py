"""Read a region of one TIFF page by decoding only the strips or tiles it overlaps."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray
from tifffile import TiffFileError

from engine.errors import CorruptFile, UnsupportedFormat

ReadBytes = Callable[[int, int], bytes]


def read_page_region(
    read_bytes: ReadBytes,
    file_size: int,
    page: Any,
    sample: int,
    x: int,
    y: int,
    out: NDArray[np.generic],
) -> NDArray[np.generic]:
    """Fill ``out`` (height, width) with pixels of ``page`` starting at column ``x``, row ``y``.

    ``page`` is a tifffile TiffPage or TiffFrame, ``sample`` the sample (RGB component)
    index, ``read_bytes(offset, count)`` returns raw file bytes.
    """
    keyframe = page.keyframe
    separate, depth, length, width, contig = keyframe.shaped
    if depth != 1:
        raise UnsupportedFormat("volumetric (ImageDepth) TIFF pages are not supported")
    if keyframe.is_tiled:
        seg_w, seg_h = keyframe.tilewidth, keyframe.tilelength
    else:
        seg_w, seg_h = width, keyframe.rowsperstrip or length
    seg_h = min(seg_h, length) if not keyframe.is_tiled else seg_h
    across = math.ceil(width / seg_w)
    down = math.ceil(length / seg_h)
    per_plane = across * down
    plane = sample if separate > 1 else 0
    channel = sample if separate == 1 else 0
    offsets, counts = page.dataoffsets, page.databytecounts
    if len(offsets) < per_plane * separate:
        raise CorruptFile(f"page has {len(offsets)} segments, expected {per_plane * separate}")
    decode = keyframe.decode
    height_out, width_out = out.shape
    for row in range(y // seg_h, (y + height_out - 1) // seg_h + 1):
        for col in range(x // seg_w, (x + width_out - 1) // seg_w + 1):
            index = plane * per_plane + row * across + col
            offset, count = int(offsets[index]), int(counts[index])
            y0, x0 = row * seg_h, col * seg_w
            ys, xs = max(y, y0), max(x, x0)
            ye = min(y + height_out, y0 + seg_h, length)
            xe = min(x + width_out, x0 + seg_w, width)
            target = out[ys - y : ye - y, xs - x : xe - x]
            if count == 0 or offset == 0:
                target[...] = keyframe.nodata
                continue
            if offset + count > file_size:
                raise CorruptFile(f"segment {index} lies beyond the end of the file (truncated?)")
            try:
                data, _, _ = decode(
                    read_bytes(offset, count),
                    index,
                    jpegtables=keyframe.jpegtables,
                    jpegheader=keyframe.jpegheader,
                )
            except (TiffFileError, ValueError, RuntimeError) as exc:
                raise CorruptFile(f"cannot decode segment {index}: {exc}") from exc
            if data is None:
                target[...] = keyframe.nodata
                continue
            segment = np.asarray(data)[0]
            if segment.ndim != 3 or segment.shape[2] != contig:
                raise CorruptFile(f"segment {index} decoded to shape {segment.shape}")
            target[...] = segment[ys - y0 : ye - y0, xs - x0 : xe - x0, channel]
    return out
