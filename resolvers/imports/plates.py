"""Plates of high-content screening files: Plate, Well and WellSample rows for the images an
import made, linked into the target screen when there is one."""

from __future__ import annotations

from sqlalchemy.orm import Session

from engine.metadata import PlateInfo
from resolvers.imports.rows import Owner
from store.base import NAME_LENGTH
from store.containers import Plate, ScreenPlateLink, Well, WellSample


def plate_series(plates: list[PlateInfo]) -> set[int]:
    """Series that are fields of some well (they belong to a plate, not to a dataset)."""
    return {sample.series for plate in plates for well in plate.wells
            for sample in well.samples}


def add_plates(db: Session, owner: Owner, plates: list[PlateInfo], image_ids: list[int],
               screen_id: int | None, default_name: str) -> list[int]:
    """Rows for ``plates`` (``image_ids[series]`` is the image of each sample); flushed."""
    own = {"owner_id": owner.user_id, "group_id": owner.group_id}
    made = []
    for number, info in enumerate(plates):
        name = info.name or (default_name if len(plates) == 1
                             else f"{default_name} [{number + 1}]")
        plate = Plate(name=name[:NAME_LENGTH], rows=info.rows, columns=info.columns,
                      row_naming=info.row_naming or "letter",
                      column_naming=info.column_naming or "number", **own)
        db.add(plate)
        db.flush()
        for well_info in info.wells:
            well = Well(plate_id=plate.id, row=well_info.row, column=well_info.column, **own)
            db.add(well)
            db.flush()
            for sample in well_info.samples:
                db.add(WellSample(
                    well_id=well.id, image_id=image_ids[sample.series],
                    position_x=sample.position_x.value if sample.position_x else None,
                    position_y=sample.position_y.value if sample.position_y else None, **own))
        if screen_id is not None:
            db.add(ScreenPlateLink(parent_id=screen_id, child_id=plate.id, **own))
        made.append(plate.id)
    return made
