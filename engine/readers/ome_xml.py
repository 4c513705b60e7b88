"""Parse the parts of OME-XML the engine reports: names, sizes, units, channels, dates,
plane positions, and the files that TiffData elements point at."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime

from engine.metadata import Channel, PlaneInfo, PlateInfo, Quantity, WellInfo, WellSampleInfo


@dataclass(frozen=True, slots=True)
class OmeImage:
    """What OME-XML says about one Image element."""

    name: str | None
    dimension_order: str | None
    physical_size_x: Quantity | None
    physical_size_y: Quantity | None
    physical_size_z: Quantity | None
    time_increment: Quantity | None
    acquisition_date: datetime | None
    channels: tuple[Channel, ...]
    significant_bits: int | None
    planes: tuple[PlaneInfo, ...] = ()


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(element: ET.Element, name: str) -> ET.Element | None:
    return next((e for e in element if _local(e.tag) == name), None)


def _quantity(element: ET.Element, name: str, default_unit: str) -> Quantity | None:
    raw = element.get(name)
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        return None
    return Quantity(value, element.get(name + "Unit", default_unit))


def _int(raw: str | None) -> int | None:
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None


def _date(raw: str | None) -> datetime | None:
    if not raw:
        return None
    try:
        return datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        return None


def _channel(element: ET.Element) -> Channel:
    return Channel(
        name=element.get("Name"),
        color=_int(element.get("Color")),
        excitation_wavelength=_quantity(element, "ExcitationWavelength", "nm"),
        emission_wavelength=_quantity(element, "EmissionWavelength", "nm"),
        fluor=element.get("Fluor"),
    )


def _plane(element: ET.Element) -> PlaneInfo:
    return PlaneInfo(
        z=_int(element.get("TheZ")) or 0,
        c=_int(element.get("TheC")) or 0,
        t=_int(element.get("TheT")) or 0,
        position_x=_quantity(element, "PositionX", "reference frame"),
        position_y=_quantity(element, "PositionY", "reference frame"),
        position_z=_quantity(element, "PositionZ", "reference frame"),
        delta_t=_quantity(element, "DeltaT", "s"),
        exposure_time=_quantity(element, "ExposureTime", "s"),
    )


def referenced_files(text: str) -> list[str]:
    """File names that TiffData/UUID elements point at, de-duplicated, in document order.

    The names are returned as written; callers must vet them before touching the disk.
    Raises ``xml.etree.ElementTree.ParseError`` for malformed XML.
    """
    root = ET.fromstring(text)  # noqa: S314 - no entity expansion in stdlib expat by default
    names = (e.get("FileName") for e in root.iter() if _local(e.tag) == "UUID")
    return list(dict.fromkeys(n for n in names if n))


def parse_ome_xml(text: str) -> list[OmeImage]:
    """The Image elements of an OME-XML document, in document order.

    Raises ``xml.etree.ElementTree.ParseError`` for malformed XML.
    """
    root = ET.fromstring(text)  # noqa: S314 - no entity expansion in stdlib expat by default
    images = []
    for image in (e for e in root if _local(e.tag) == "Image"):
        pixels = _child(image, "Pixels")
        if pixels is None:
            continue
        date = _child(image, "AcquisitionDate")
        images.append(
            OmeImage(
                name=image.get("Name"),
                dimension_order=pixels.get("DimensionOrder"),
                physical_size_x=_quantity(pixels, "PhysicalSizeX", "µm"),
                physical_size_y=_quantity(pixels, "PhysicalSizeY", "µm"),
                physical_size_z=_quantity(pixels, "PhysicalSizeZ", "µm"),
                time_increment=_quantity(pixels, "TimeIncrement", "s"),
                acquisition_date=_date(date.text if date is not None else None),
                channels=tuple(_channel(e) for e in pixels if _local(e.tag) == "Channel"),
                significant_bits=_int(pixels.get("SignificantBits")),
                planes=tuple(_plane(e) for e in pixels if _local(e.tag) == "Plane"),
            )
        )
    return images


def parse_plates(text: str) -> list[PlateInfo]:
    """The Plate elements of an OME-XML document; each well sample names its image as the
    index (``series``) that image has in :func:`parse_ome_xml`'s list. Samples whose
    ImageRef names no image with pixels are left out.

    Raises ``xml.etree.ElementTree.ParseError`` for malformed XML.
    """
    root = ET.fromstring(text)  # noqa: S314 - no entity expansion in stdlib expat by default
    with_pixels = [e.get("ID") for e in root
                   if _local(e.tag) == "Image" and _child(e, "Pixels") is not None]
    series_of = {image_id: n for n, image_id in enumerate(with_pixels) if image_id}
    plates = []
    for plate in (e for e in root if _local(e.tag) == "Plate"):
        wells = []
        for well in (e for e in plate if _local(e.tag) == "Well"):
            samples = []
            for sample in (e for e in well if _local(e.tag) == "WellSample"):
                ref = _child(sample, "ImageRef")
                series = series_of.get(ref.get("ID") or "") if ref is not None else None
                if series is not None:
                    samples.append(WellSampleInfo(
                        series, _quantity(sample, "PositionX", "reference frame"),
                        _quantity(sample, "PositionY", "reference frame")))
            row, column = _int(well.get("Row")), _int(well.get("Column"))
            if row is not None and column is not None and row >= 0 and column >= 0:
                wells.append(WellInfo(row, column, tuple(samples)))
        plates.append(PlateInfo(
            name=plate.get("Name"), rows=_int(plate.get("Rows")),
            columns=_int(plate.get("Columns")),
            row_naming=_naming(plate.get("RowNamingConvention")),
            column_naming=_naming(plate.get("ColumnNamingConvention")),
            wells=tuple(wells)))
    return plates


def _naming(raw: str | None) -> str | None:
    value = (raw or "").strip().lower()
    return value if value in ("letter", "number") else None
