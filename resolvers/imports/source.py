"""Opening pixels: the files of an import, or the stored pixels of an image."""

from __future__ import annotations

import threading

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.readers import ImageSource, Limits
from engine.readers.fileset import open_fileset
from store.containers import Image
from store.pixels import OriginalFile, Pixels, PyramidState
from store.repository import Repository


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


class SourceCache:
    """Opened sources shared by the images of one job: the images of a fileset are series of
    one source, so it is opened once rather than once per image."""

    def __init__(self, repository: Repository, limits: Limits) -> None:
        self._repository = repository
        self._limits = limits
        self._filesets: dict[int, ImageSource] = {}
        self._others: list[ImageSource] = []
        self._lock = threading.Lock()  # the images of a job are derived on several threads

    def get(self, db: Session, image: Image) -> tuple[ImageSource, int]:
        with self._lock:
            return self._get(db, image)

    def _get(self, db: Session, image: Image) -> tuple[ImageSource, int]:
        if image.fileset_id is not None and image.fileset_id in self._filesets:
            pixels = db.scalar(select(Pixels).where(Pixels.image_id == image.id))
            if pixels is None or pixels.pyramid_state != PyramidState.READY.value:
                return self._filesets[image.fileset_id], image.series
        source, series = open_image(db, self._repository, image, self._limits)
        if series == image.series and image.fileset_id is not None \
                and image.fileset_id not in self._filesets:
            self._filesets[image.fileset_id] = source
        else:
            self._others.append(source)
        return source, series

    def close(self) -> None:
        for source in [*self._filesets.values(), *self._others]:
            source.close()
        self._filesets.clear()
        self._others.clear()
