"""Opening pixels: the files of an import, or the stored pixels of an image."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.readers import ImageSource, Limits
from engine.readers.fileset import FilesetSource, open_fileset
from store.containers import Image
from store.pixels import OriginalFile, Pixels, PyramidState
from store.repository import Repository


def open_files(paths: Sequence[Path], limits: Limits) -> FilesetSource:
    """The images of a fileset's files (multi-file OME-TIFFs joined), numbered across them."""
    return open_fileset(paths, limits)


def open_image(db: Session, repository: Repository, image: Image, limits: Limits,
               *, originals: bool = False) -> tuple[ImageSource, int]:
    """The source and series index to read ``image``'s pixels from: its pyramid when one is
    ready (unless ``originals``), else its fileset's original files."""
    pixels = db.scalar(select(Pixels).where(Pixels.image_id == image.id))
    if (not originals and pixels is not None and pixels.pyramid_path
            and pixels.pyramid_state == PyramidState.READY.value):
        return open_fileset([repository.root / pixels.pyramid_path], limits), 0
    if image.fileset_id is None:
        raise FileNotFoundError(f"image {image.id} has no original files")
    paths = [repository.root / path for path in db.scalars(
        select(OriginalFile.path).where(OriginalFile.fileset_id == image.fileset_id)
        .order_by(OriginalFile.id))]
    return open_fileset(paths, limits), image.series
