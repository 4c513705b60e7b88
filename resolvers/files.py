"""Which stored files a user may fetch: originals, filesets, thumbnails."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath

from sqlalchemy import select
from sqlalchemy.orm import Session

from resolvers.actor import Actor
from resolvers.errors import NotFound
from resolvers.permissions import Action, can
from resolvers.sessions import load_actor
from store.accounts import Experimenter
from store.containers import Fileset, Image
from store.pixels import OriginalFile, Pixels


@dataclass(frozen=True)
class FileRef:
    path: str  # relative to the repository root
    name: str  # name in a download
    size: int


def actor_of(db: Session, user_id: int) -> Actor:
    """The actor a signed URL names (its permissions as they are now)."""
    user = db.get(Experimenter, user_id)
    if user is None or not user.active:
        raise NotFound("not found")
    return load_actor(db, user)


def _visible(actor: Actor, row: object | None, what: str) -> None:
    if row is None or not can(actor, Action.VIEW, row.owner_id, row.group_id):  # type: ignore[attr-defined]
        raise NotFound(f"{what} not found")


def original_file(db: Session, actor: Actor, file_id: int) -> FileRef:
    row = db.get(OriginalFile, file_id)
    _visible(actor, row, "file")
    assert row is not None
    return FileRef(row.path, row.name, row.size)


def fileset_files(db: Session, actor: Actor, fileset_id: int) -> tuple[str, list[FileRef]]:
    """The fileset's download name and its files, named by their path inside the fileset."""
    fileset = db.get(Fileset, fileset_id)
    _visible(actor, fileset, "fileset")
    assert fileset is not None
    prefix = PurePosixPath(fileset.template_prefix)
    refs = []
    for row in db.scalars(select(OriginalFile).where(OriginalFile.fileset_id == fileset_id)
                          .order_by(OriginalFile.id)):
        inside = PurePosixPath(row.path)
        name = str(inside.relative_to(prefix)) if inside.is_relative_to(prefix) else row.name
        refs.append(FileRef(row.path, name, row.size))
    return f"fileset-{fileset_id}", refs


def thumbnail(db: Session, actor: Actor, image_id: int) -> FileRef:
    image = db.get(Image, image_id)
    _visible(actor, image, "image")
    path = db.scalar(select(Pixels.thumbnail_path).where(Pixels.image_id == image_id))
    if path is None:
        raise NotFound("the image has no thumbnail yet")
    return FileRef(path, f"image-{image_id}.png", 0)
