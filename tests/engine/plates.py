"""A generated high-content screening OME-TIFF: one plate, its wells and fields."""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np
import tifffile

NS = "http://www.openmicroscopy.org/Schemas/OME/2016-06"


def write_plate(path: Path, rows: int = 2, columns: int = 3, fields: int = 2,
                name: str | None = "Assay plate 1") -> np.ndarray:
    """One page per field: wells A1.. in row-major order, ``fields`` images each (32x24 uint8,
    each filled with its image index). Returns the pixel data, (images, 24, 32)."""
    count = rows * columns * fields
    data = np.stack([np.full((24, 32), n, np.uint8) for n in range(count)])
    wells, images = [], []
    for well in range(rows * columns):
        samples = []
        for field in range(fields):
            n = well * fields + field
            samples.append(
                f'<WellSample ID="WellSample:{n}" Index="{n}" PositionX="{field * 100.0}" '
                f'PositionXUnit="µm" PositionY="0"><ImageRef ID="Image:{n}"/></WellSample>')
            images.append(
                f'<Image ID="Image:{n}" Name="Well {well} field {field}">'
                f'<Pixels ID="Pixels:{n}" DimensionOrder="XYZCT" Type="uint8" SizeX="32" '
                f'SizeY="24" SizeZ="1" SizeC="1" SizeT="1"><Channel ID="Channel:{n}:0" '
                f'SamplesPerPixel="1"/><TiffData IFD="{n}" PlaneCount="1"/></Pixels></Image>')
        wells.append(f'<Well ID="Well:{well}" Row="{well // columns}" '
                     f'Column="{well % columns}">{"".join(samples)}</Well>')
    named = f' Name="{name}"' if name else ""
    xml = (f'<?xml version="1.0" encoding="UTF-8"?><OME xmlns="{NS}" '
           f'UUID="urn:uuid:{uuid.uuid4()}"><Plate ID="Plate:0"{named} Rows="{rows}" '
           f'Columns="{columns}" RowNamingConvention="letter" '
           f'ColumnNamingConvention="number">{"".join(wells)}</Plate>{"".join(images)}</OME>')
    with tifffile.TiffWriter(path) as tif:
        for n in range(count):
            tif.write(data[n], photometric="minisblack", metadata=None,
                      description=xml.encode() if n == 0 else None)
    return data
