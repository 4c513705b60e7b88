"""GraphQL types of the OME model: containers, images, pixels, channels, wells, ROIs, jobs."""

from __future__ import annotations

import datetime as dt
from typing import Any

import strawberry

from resolvers.filters import ListFilter
from schema.annotations import Annotation
from schema.base import OwnedObject, computed, loaded, ome_type, ready
from schema.connections import Connection
from schema.context import Info
from schema.inputs import ObjectFilter, Sort, object_filter
from schema.listing import list_connection
from schema.rendering import Rendering, image_rendering
from store import models


@strawberry.interface(description="An object annotations can be linked to.")
class Annotated(OwnedObject):
    @loaded
    def annotations(self, root: strawberry.Parent[Any], info: Info) -> list[Annotation]:
        return ready(info.context.loaders.annotations_by_parent[root.kind].load(root.id))  # type: ignore[no-any-return]


@strawberry.interface
class Container(Annotated):
    name: str
    description: str | None


@ome_type(models.Project)
class Project(Container):
    @loaded
    def datasets(self, root: strawberry.Parent[Any], info: Info) -> list[Dataset]:
        return ready(info.context.loaders.children_by_link["Project"].load(root.id))  # type: ignore[no-any-return]


@ome_type(models.Dataset)
class Dataset(Container):
    @loaded
    def projects(self, root: strawberry.Parent[Any], info: Info) -> list[Project]:
        return ready(info.context.loaders.parents_by_link["Dataset"].load(root.id))  # type: ignore[no-any-return]

    @strawberry.field(description="Images in this dataset, paginated.")
    async def images(self, root: strawberry.Parent[Any], info: Info, first: int | None = None,
                     after: str | None = None, last: int | None = None,
                     before: str | None = None, sort: Sort | None = None,
                     filter: ObjectFilter | None = None) -> Connection[Image]:
        spec = object_filter(filter)
        spec = ListFilter(**{**spec.__dict__, "parent": ("Dataset", root.id)})
        return await list_connection(info, models.Image, spec, first, after, last, before, sort)


@ome_type(models.Screen)
class Screen(Container):
    @loaded
    def plates(self, root: strawberry.Parent[Any], info: Info) -> list[Plate]:
        return ready(info.context.loaders.children_by_link["Screen"].load(root.id))  # type: ignore[no-any-return]


@ome_type(models.Plate)
class Plate(Container):
    rows: int | None
    columns: int | None
    row_naming: str
    column_naming: str

    @loaded
    def screens(self, root: strawberry.Parent[Any], info: Info) -> list[Screen]:
        return ready(info.context.loaders.parents_by_link["Plate"].load(root.id))  # type: ignore[no-any-return]

    @loaded
    def wells(self, root: strawberry.Parent[Any], info: Info) -> list[Well]:
        return ready(info.context.loaders.wells_by_plate.load(root.id))  # type: ignore[no-any-return]


@ome_type(models.Well)
class Well(Annotated):
    row: int
    column: int
    external_description: str | None

    @loaded
    def samples(self, root: strawberry.Parent[Any], info: Info) -> list[WellSample]:
        return ready(info.context.loaders.samples_by_well.load(root.id))  # type: ignore[no-any-return]


@ome_type(models.WellSample)
class WellSample(OwnedObject):
    position_x: float | None
    position_y: float | None
    timepoint: dt.datetime | None

    @loaded
    def image(self, root: strawberry.Parent[Any], info: Info) -> Image | None:
        return ready(info.context.loaders.object_by_id["Image"].load(root.image_id))  # type: ignore[no-any-return]


@ome_type(models.Image)
class Image(Annotated):
    name: str
    description: str | None
    acquisition_date: dt.datetime | None
    series: int

    @loaded
    def pixels(self, root: strawberry.Parent[Any], info: Info) -> Pixels | None:
        return ready(info.context.loaders.pixels_by_image.load(root.id))  # type: ignore[no-any-return]

    @loaded
    def datasets(self, root: strawberry.Parent[Any], info: Info) -> list[Dataset]:
        return ready(info.context.loaders.parents_by_link["Image"].load(root.id))  # type: ignore[no-any-return]

    @loaded
    def wells(self, root: strawberry.Parent[Any], info: Info) -> list[WellSample]:
        return ready(info.context.loaders.samples_by_image.load(root.id))  # type: ignore[no-any-return]

    @loaded
    def rois(self, root: strawberry.Parent[Any], info: Info) -> list[Roi]:
        return ready(info.context.loaders.rois_by_image.load(root.id))  # type: ignore[no-any-return]

    @loaded
    def fileset(self, root: strawberry.Parent[Any], info: Info) -> Fileset | None:
        if root.fileset_id is None:
            return None
        return ready(info.context.loaders.object_by_id["Fileset"].load(root.fileset_id))  # type: ignore[no-any-return]

    @strawberry.field(description="A signed, expiring URL of the image's thumbnail (PNG, "
                                  "longest side 96 by default); works without credentials.")
    def thumbnail_url(self, root: strawberry.Parent[Any], info: Info) -> str:
        return info.context.signed(f"/thumbnails/{root.id}")

    @strawberry.field(description="How you see the image (your settings, else its owner's, "
                                  "else the defaults) and signed URLs to fetch it rendered; "
                                  "null while it has no pixels.")
    async def rendering(self, root: strawberry.Parent[Any], info: Info) -> Rendering | None:
        return await image_rendering(info, root.id)


@strawberry.type(description="A length or time with its unit (OME unit symbols, e.g. µm, s).")
class Quantity:
    value: float
    unit: str | None


def _quantity(value: float | None, unit: str | None) -> Quantity | None:
    return None if value is None else Quantity(value=value, unit=unit)


@ome_type(models.Pixels)
class Pixels(OwnedObject):
    size_x: int
    size_y: int
    size_z: int
    size_c: int
    size_t: int
    pixel_type: str
    dimension_order: str
    significant_bits: int | None

    @computed
    def physical_size_x(self, root: strawberry.Parent[Any]) -> Quantity | None:
        return _quantity(root.physical_size_x, root.physical_size_x_unit)

    @computed
    def physical_size_y(self, root: strawberry.Parent[Any]) -> Quantity | None:
        return _quantity(root.physical_size_y, root.physical_size_y_unit)

    @computed
    def physical_size_z(self, root: strawberry.Parent[Any]) -> Quantity | None:
        return _quantity(root.physical_size_z, root.physical_size_z_unit)

    @computed
    def time_increment(self, root: strawberry.Parent[Any]) -> Quantity | None:
        return _quantity(root.time_increment, root.time_increment_unit)

    @loaded
    def channels(self, root: strawberry.Parent[Any], info: Info) -> list[Channel]:
        return ready(info.context.loaders.channels_by_pixels.load(root.id))  # type: ignore[no-any-return]

    @computed(description="Resolution levels [[sizeX, sizeY], ...] from full resolution down.")
    def levels(self, root: strawberry.Parent[Any]) -> list[list[int]]:
        return [list(level) for level in root.levels or [[root.size_x, root.size_y]]]

    @computed(description="none (read from the originals), pending, ready or failed.")
    def pyramid_state(self, root: strawberry.Parent[Any]) -> str:
        return root.pyramid_state  # type: ignore[no-any-return]


@ome_type(models.Channel)
class Channel(OwnedObject):
    index: int
    name: str | None
    color: int | None = strawberry.field(description="RGBA packed in a signed 32-bit integer.")
    fluor: str | None

    @computed
    def excitation_wavelength(self, root: strawberry.Parent[Any]) -> Quantity | None:
        return _quantity(root.excitation_wavelength, root.excitation_wavelength_unit)

    @computed
    def emission_wavelength(self, root: strawberry.Parent[Any]) -> Quantity | None:
        return _quantity(root.emission_wavelength, root.emission_wavelength_unit)

    @computed(description="Pixel value statistics computed at import; null until then.")
    def statistics(self, root: strawberry.Parent[Any]) -> ChannelStatistics | None:
        if root.stats_min is None:
            return None
        return ChannelStatistics(min=root.stats_min, max=root.stats_max, low=root.stats_low,
                                 high=root.stats_high)


@strawberry.type(description="Pixel values of a channel over all its planes (sampled planes for "
                             "large images): range, and the 0.1 and 99.9 percentiles that "
                             "make a default display window.")
class ChannelStatistics:
    min: float
    max: float
    low: float
    high: float


@ome_type(models.Fileset)
class Fileset(OwnedObject):
    template_prefix: str

    @loaded
    def original_files(self, root: strawberry.Parent[Any], info: Info) -> list[OriginalFile]:
        return ready(info.context.loaders.original_files_by_fileset.load(root.id))  # type: ignore[no-any-return]

    @strawberry.field(description="A signed, expiring URL of all its files as one zip.")
    def download_url(self, root: strawberry.Parent[Any], info: Info) -> str:
        return info.context.signed(f"/files/filesets/{root.id}.zip")


@ome_type(models.OriginalFile)
class OriginalFile(OwnedObject):
    name: str
    size: float = strawberry.field(description="Bytes (a Float: sizes exceed 32-bit Int).")
    sha256: str
    mimetype: str

    @strawberry.field(description="A signed, expiring URL of the file, byte for byte.")
    def download_url(self, root: strawberry.Parent[Any], info: Info) -> str:
        return info.context.signed(f"/files/originals/{root.id}")


@ome_type(models.Roi, name="Roi")
class Roi(Annotated):
    name: str | None
    description: str | None

    @loaded
    def shapes(self, root: strawberry.Parent[Any], info: Info) -> list[Shape]:
        return ready(info.context.loaders.shapes_by_roi.load(root.id))  # type: ignore[no-any-return]

    @loaded
    def image(self, root: strawberry.Parent[Any], info: Info) -> Image | None:
        return ready(info.context.loaders.object_by_id["Image"].load(root.image_id))  # type: ignore[no-any-return]


ShapeKind = strawberry.enum(models.ShapeKind, name="ShapeKind")


@ome_type(models.Shape)
class Shape(OwnedObject):
    the_z: int | None
    the_t: int | None
    the_c: int | None
    stroke_color: int | None
    fill_color: int | None
    stroke_width: float | None
    text: str | None
    x: float | None
    y: float | None
    width: float | None
    height: float | None
    radius_x: float | None
    radius_y: float | None
    x2: float | None
    y2: float | None
    points: str | None

    @computed
    def kind(self, root: strawberry.Parent[Any]) -> ShapeKind:  # type: ignore[valid-type]
        return models.ShapeKind(root.shape_kind)
