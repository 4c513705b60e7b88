"""Projects, Datasets, Images, Screens, Plates, Wells and the links between them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from store.base import Base, Named, Owned


class Project(Named, Owned, Base):
    __tablename__ = "project"
    kind = "Project"


class Dataset(Named, Owned, Base):
    __tablename__ = "dataset"
    kind = "Dataset"


class Screen(Named, Owned, Base):
    __tablename__ = "screen"
    kind = "Screen"


class Plate(Named, Owned, Base):
    __tablename__ = "plate"
    kind = "Plate"

    rows: Mapped[int | None] = mapped_column(Integer, default=None)
    columns: Mapped[int | None] = mapped_column(Integer, default=None)
    # OMERO's naming conventions: "letter" or "number" for row and column labels.
    row_naming: Mapped[str] = mapped_column(String(8), default="letter")
    column_naming: Mapped[str] = mapped_column(String(8), default="number")


class Fileset(Owned, Base):
    __tablename__ = "fileset"
    kind = "Fileset"

    template_prefix: Mapped[str] = mapped_column(String(1024), default="")


class Image(Named, Owned, Base):
    __tablename__ = "image"
    kind = "Image"

    acquisition_date: Mapped[dt.datetime | None] = mapped_column(default=None)
    fileset_id: Mapped[int | None] = mapped_column(
        ForeignKey("fileset.id", ondelete="SET NULL"), default=None, index=True
    )
    series: Mapped[int] = mapped_column(Integer, default=0)


class Well(Owned, Base):
    __tablename__ = "well"
    __table_args__ = (UniqueConstraint("plate_id", "row", "column"),)
    kind = "Well"

    plate_id: Mapped[int] = mapped_column(ForeignKey("plate.id", ondelete="CASCADE"), index=True)
    row: Mapped[int] = mapped_column(Integer)
    column: Mapped[int] = mapped_column(Integer)
    external_description: Mapped[str | None] = mapped_column(String(1024), default=None)


class WellSample(Owned, Base):
    __tablename__ = "well_sample"
    kind = "WellSample"

    well_id: Mapped[int] = mapped_column(ForeignKey("well.id", ondelete="CASCADE"), index=True)
    image_id: Mapped[int] = mapped_column(ForeignKey("image.id", ondelete="CASCADE"), index=True)
    position_x: Mapped[float | None] = mapped_column(default=None)
    position_y: Mapped[float | None] = mapped_column(default=None)
    timepoint: Mapped[dt.datetime | None] = mapped_column(default=None)


class _Link(Owned):
    """A parent-child link; like OMERO, a link has its own owner and group."""

    __link_parent__: type[Base]
    __link_child__: type[Base]


def _link_columns(parent: str, child: str) -> tuple[Mapped[int], Mapped[int]]:
    return (
        mapped_column(ForeignKey(f"{parent}.id", ondelete="CASCADE"), index=True),
        mapped_column(ForeignKey(f"{child}.id", ondelete="CASCADE"), index=True),
    )


class ProjectDatasetLink(_Link, Base):
    __tablename__ = "project_dataset_link"
    __table_args__ = (UniqueConstraint("parent_id", "child_id"),)
    kind = "ProjectDatasetLink"
    parent_id, child_id = _link_columns("project", "dataset")


class DatasetImageLink(_Link, Base):
    __tablename__ = "dataset_image_link"
    __table_args__ = (UniqueConstraint("parent_id", "child_id"),)
    kind = "DatasetImageLink"
    parent_id, child_id = _link_columns("dataset", "image")


class ScreenPlateLink(_Link, Base):
    __tablename__ = "screen_plate_link"
    __table_args__ = (UniqueConstraint("parent_id", "child_id"),)
    kind = "ScreenPlateLink"
    parent_id, child_id = _link_columns("screen", "plate")


ProjectDatasetLink.__link_parent__, ProjectDatasetLink.__link_child__ = Project, Dataset
DatasetImageLink.__link_parent__, DatasetImageLink.__link_child__ = Dataset, Image
ScreenPlateLink.__link_parent__, ScreenPlateLink.__link_child__ = Screen, Plate

CONTAINER_LINKS: tuple[type[_Link], ...] = (ProjectDatasetLink, DatasetImageLink, ScreenPlateLink)
