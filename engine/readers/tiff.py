"""TIFF, BigTIFF, OME-TIFF and ImageJ hyperstacks via tifffile, decoding only needed segments."""

from __future__ import annotations

import os
import struct
import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import tifffile
from numpy.typing import NDArray

from engine.errors import CorruptFile, UnsupportedFormat
from engine.metadata import (
    Channel,
    ImageMetadata,
    PlateInfo,
    Quantity,
    pixel_type_of,
    rgba_to_int,
)
from engine.readers.base import Limits, Region, check_limits, prepare_region
from engine.readers.ome_xml import OmeImage, parse_ome_xml, parse_plates, referenced_files
from engine.readers.tiff_segments import read_page_region

RGB_COLORS = (rgba_to_int(255, 0, 0), rgba_to_int(0, 255, 0), rgba_to_int(0, 0, 255))
UNITS = {"micron": "µm", "um": "µm", "\\u00B5m": "µm", "microns": "µm", "nm": "nm", "mm": "mm"}


@dataclass(frozen=True, slots=True)
class _Layout:
    """How (z, c, t) maps to a page index and sample within one series."""

    axes: tuple[str, ...]  # "z", "c" or "t" per page axis, outermost first
    shape: tuple[int, ...]
    samples: int

    def size(self, axis: str) -> int:
        size = 1
        for name, n in zip(self.axes, self.shape, strict=True):
            if name == axis:
                size *= n
        return size * (self.samples if axis == "c" else 1)

    def locate(self, z: int, c: int, t: int) -> tuple[int, int]:
        wanted = {"z": z, "c": c // self.samples, "t": t}
        index = tuple(wanted[a] for a in self.axes)
        page = int(np.ravel_multi_index(index, self.shape)) if self.shape else 0
        return page, c % self.samples


def _layout(series: Any) -> _Layout:
    keyframe = series.keyframe
    separate, depth, _, _, contig = keyframe.shaped
    if depth != 1:
        raise UnsupportedFormat("volumetric (ImageDepth) TIFF pages are not supported")
    axes = list(series.get_axes(False))
    shape = list(series.get_shape(False))
    page_axes = 3 if separate > 1 else 2
    page_axes += 1 if axes and axes[-1] == "S" else 0
    lead_axes, lead_shape = axes[:-page_axes], shape[:-page_axes]
    mapped: list[str] = []
    for letter, n in zip(lead_axes, lead_shape, strict=True):
        name = letter.lower() if letter in "ZCT" else ""
        if not name or name in mapped:
            free = [a for a in "ztc" if a not in mapped]
            if n > 1 and not free:
                raise UnsupportedFormat(f"cannot map TIFF axes {''.join(axes)} to Z, C, T")
            name = free[0] if free else "z"
        mapped.append(name)
    if int(np.prod(lead_shape)) != len(series.pages):
        raise UnsupportedFormat(f"series axes {''.join(axes)} do not match its page count")
    return _Layout(tuple(mapped), tuple(lead_shape), max(separate, contig))


def _reader(handle: Any) -> Callable[[int, int], bytes]:
    def read_bytes(offset: int, count: int) -> bytes:
        handle.seek(offset)
        data: bytes = handle.read(count)
        if len(data) != count:
            raise CorruptFile("unexpected end of file")
        return data

    return read_bytes


def _check_page_fits(page: Any, size: tuple[int, int], buffer: NDArray[np.generic]) -> None:
    # Pages of one series can come from different files; one that disagrees with the
    # series' first page would be decoded with the wrong geometry.
    keyframe = page.keyframe
    shape = (keyframe.imagewidth, keyframe.imagelength)
    if shape != size or np.dtype(keyframe.dtype).str[1:] != buffer.dtype.str[1:]:
        raise CorruptFile(
            f"page {page.index} of {page.parent.filename} is {keyframe.imagewidth}x"
            f"{keyframe.imagelength} {keyframe.dtype}, expected {size[0]}x{size[1]} {buffer.dtype}"
        )


def _dimension_order(layout: _Layout, ome_order: str | None) -> str:
    if ome_order:
        return ome_order
    order = "XY" + "".join(a.upper() for a in reversed(layout.axes) if a.upper())
    seen = "".join(dict.fromkeys(order))
    return seen + "".join(a for a in "ZCT" if a not in seen)


def _imagej_sizes(tif: Any, page: Any) -> tuple[Quantity | None, Quantity | None, Quantity | None]:
    info = tif.imagej_metadata or {}
    unit = UNITS.get(str(info.get("unit", "")), str(info.get("unit", "")) or "µm")
    sizes: list[Quantity | None] = []
    for code in (282, 283):
        tag = page.tags.get(code)
        num, den = tag.value if tag is not None else (0, 1)
        sizes.append(Quantity(den / num, unit) if num and (num, den) != (1, 1) else None)
    spacing = info.get("spacing")
    return sizes[0], sizes[1], Quantity(float(spacing), unit) if spacing else None


class TiffSource:
    """An open TIFF-family file; one image per tifffile series.

    With ``multifile`` tifffile follows OME TiffData references into sibling files of the
    same folder; only ``open_fileset`` sets it, after vetting every referenced name.
    """

    def __init__(
        self, path: str | os.PathLike[str], limits: Limits, *, multifile: bool = False
    ) -> None:
        self._path = Path(path)
        self._limits = limits
        self._multifile = multifile
        self._lock = threading.Lock()
        try:
            self._tif = tifffile.TiffFile(self._path, _multifile=multifile)
        except (tifffile.TiffFileError, ValueError, struct.error, EOFError) as exc:
            raise CorruptFile(f"{self._path.name}: {exc}") from exc
        try:
            self._layouts, self._images = self._describe()
        except (tifffile.TiffFileError, EOFError, struct.error, ET.ParseError) as exc:
            self._tif.close()
            raise CorruptFile(f"{self._path.name}: {exc}") from exc
        except BaseException:
            self._tif.close()
            raise

    def _describe(self) -> tuple[list[_Layout], list[ImageMetadata]]:
        tif = self._tif
        series_list = [s for s in tif.series if s.keyframe is not None]
        if not series_list:
            raise CorruptFile(f"{self._path.name}: no images in TIFF")
        ome: list[OmeImage] = []
        self.plates: list[PlateInfo] = []
        if tif.is_ome and tif.ome_metadata and self._uses_own_ome(tif.ome_metadata):
            ome = parse_ome_xml(tif.ome_metadata)
            count = len(series_list)
            # Only plates whose every sample is a series tifffile found here.
            self.plates = [plate for plate in parse_plates(tif.ome_metadata)
                           if all(s.series < count for w in plate.wells for s in w.samples)]
        layouts, images = [], []
        for index, series in enumerate(series_list):
            layout = _layout(series)
            meta = self._metadata(index, series, layout, ome[index] if index < len(ome) else None)
            check_limits(meta, self._limits)
            self._check_first_page(series)
            layouts.append(layout)
            images.append(meta)
        self._series = series_list
        return layouts, images

    def _uses_own_ome(self, text: str) -> bool:
        # Read alone, a file of a multi-file set holds only some planes of the images its
        # OME-XML describes, so that metadata would misdescribe the series tifffile finds.
        others = set(referenced_files(text)) - {self._path.name}
        return self._multifile or not others

    def _check_first_page(self, series: Any) -> None:
        page = series.pages[0]
        if page is None:
            raise CorruptFile(f"{self._path.name}: first plane of {series.name} is missing")
        ends = [
            int(o) + int(n) for o, n in zip(page.dataoffsets, page.databytecounts, strict=False)
        ]
        if not ends or max(ends) > page.parent.filehandle.size:
            raise CorruptFile(f"{self._path.name}: pixel data beyond end of file (truncated?)")

    def _metadata(
        self, index: int, series: Any, layout: _Layout, ome: OmeImage | None
    ) -> ImageMetadata:
        keyframe = series.keyframe
        levels = tuple((lv.keyframe.imagewidth, lv.keyframe.imagelength) for lv in series.levels)
        size_c = layout.size("c")
        if ome is not None and len(ome.channels) == size_c:
            channels = ome.channels
        elif layout.samples in (3, 4) and keyframe.photometric == tifffile.PHOTOMETRIC.RGB:
            channels = tuple(Channel(color=RGB_COLORS[i]) for i in range(3))
            channels += (Channel(name="alpha"),) * (size_c - 3)
        else:
            channels = tuple(Channel() for _ in range(size_c))
        if ome is not None:
            px, py, pz = ome.physical_size_x, ome.physical_size_y, ome.physical_size_z
        elif self._tif.is_imagej:
            px, py, pz = _imagej_sizes(self._tif, keyframe)
        else:
            px = py = pz = None
        interval = (self._tif.imagej_metadata or {}).get("finterval")
        return ImageMetadata(
            name=(ome.name if ome and ome.name else None) or series.name or self._path.name,
            series=index,
            size_x=keyframe.imagewidth,
            size_y=keyframe.imagelength,
            size_z=layout.size("z"),
            size_c=size_c,
            size_t=layout.size("t"),
            pixel_type=pixel_type_of(keyframe.dtype),
            dimension_order=_dimension_order(layout, ome.dimension_order if ome else None),
            physical_size_x=px,
            physical_size_y=py,
            physical_size_z=pz,
            time_increment=(ome.time_increment if ome else None)
            or (Quantity(float(interval), "s") if interval else None),
            acquisition_date=ome.acquisition_date if ome else None,
            channels=channels,
            resolution_levels=levels,
            significant_bits=(ome.significant_bits if ome else None) or keyframe.bitspersample,
            planes=ome.planes if ome else (),
        )

    @property
    def images(self) -> list[ImageMetadata]:
        return list(self._images)

    def read_region(self, region: Region,
                    out: NDArray[np.generic] | None = None) -> NDArray[np.generic]:
        """Pixels of one plane region as (height, width), dtype of the image's pixel type."""
        buffer = prepare_region(self._images, self._limits, region, out)
        r = region
        page_index, sample = self._layouts[r.series].locate(r.z, r.c, r.t)
        with self._lock:
            page = self._series[r.series].levels[r.level].pages[page_index]
            if page is None:
                raise CorruptFile(f"page {page_index} of series {r.series} is missing")
            _check_page_fits(page, self._images[r.series].resolution_levels[r.level], buffer)
            # Pages of a multi-file series live in other files: read through their own handle.
            handle = page.parent.filehandle
            if self._tif.filehandle.closed:
                raise ValueError(f"{self._path.name} is closed")
            if handle.closed:  # tifffile closes companions once it has read their pages
                handle.open()
            return read_page_region(_reader(handle), handle.size, page, sample, r.x, r.y,
                                    buffer)

    def close(self) -> None:
        self._tif.close()
