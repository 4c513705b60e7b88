"""Rows of an import: what the engine read becomes Images, Pixels and Channels, in the
caller's transaction (the import commits them together or not at all)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from engine.metadata import Channel as ChannelMeta
from engine.metadata import ImageMetadata, Quantity
from store.base import NAME_LENGTH
from store.containers import DatasetImageLink, Image
from store.pixels import Channel, Pixels, PyramidState


@dataclass(frozen=True)
class Owner:
    user_id: int
    group_id: int


def image_name(file_name: str, meta: ImageMetadata, series_count: int) -> str:
    """OMERO's convention: the file's name, plus ``[series]`` when a file holds several."""
    if series_count <= 1:
        return file_name[:NAME_LENGTH]
    label = meta.name if meta.name and meta.name != file_name else f"Series {meta.series}"
    return f"{file_name} [{label}]"[:NAME_LENGTH]


def _unit_pair(quantity: Quantity | None) -> tuple[float | None, str | None]:
    return (None, None) if quantity is None else (quantity.value, quantity.unit[:16])


def add_image(db: Session, owner: Owner, meta: ImageMetadata, name: str, fileset_id: int,
              series: int, dataset_id: int | None, pyramid: PyramidState) -> Image:
    """Image + Pixels + Channels (+ dataset link) for one series; flushed, not committed."""
    own = {"owner_id": owner.user_id, "group_id": owner.group_id}
    image = Image(name=name, fileset_id=fileset_id, series=series,
                  acquisition_date=meta.acquisition_date, **own)
    db.add(image)
    db.flush()
    px, pxu = _unit_pair(meta.physical_size_x)
    py, pyu = _unit_pair(meta.physical_size_y)
    pz, pzu = _unit_pair(meta.physical_size_z)
    ti, tiu = _unit_pair(meta.time_increment)
    pixels = Pixels(image_id=image.id, size_x=meta.size_x, size_y=meta.size_y,
                    size_z=meta.size_z, size_c=meta.size_c, size_t=meta.size_t,
                    pixel_type=meta.pixel_type, dimension_order=meta.dimension_order,
                    significant_bits=meta.significant_bits,
                    physical_size_x=px, physical_size_x_unit=pxu,
                    physical_size_y=py, physical_size_y_unit=pyu,
                    physical_size_z=pz, physical_size_z_unit=pzu,
                    time_increment=ti, time_increment_unit=tiu,
                    levels=[list(level) for level in meta.resolution_levels],
                    pyramid_state=pyramid.value, **own)
    db.add(pixels)
    db.flush()
    channels: Sequence[ChannelMeta] = meta.channels or ()
    for index in range(meta.size_c):
        info = channels[index] if index < len(channels) else None
        ex, exu = _unit_pair(info.excitation_wavelength if info else None)
        em, emu = _unit_pair(info.emission_wavelength if info else None)
        db.add(Channel(pixels_id=pixels.id, index=index,
                       name=(info.name[:NAME_LENGTH] if info and info.name else None),
                       color=info.color if info else None,
                       excitation_wavelength=ex, excitation_wavelength_unit=exu,
                       emission_wavelength=em, emission_wavelength_unit=emu,
                       fluor=(info.fluor[:NAME_LENGTH] if info and info.fluor else None),
                       **own))
    if dataset_id is not None:
        db.add(DatasetImageLink(parent_id=dataset_id, child_id=image.id, **own))
    return image
