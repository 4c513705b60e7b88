"""DropBox files: what the watcher has seen in ``<dropbox>/<user>/...`` and what became of it."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, String, Text, true
from sqlalchemy.orm import Mapped, mapped_column

from store.base import Base, Timestamped, utcnow


class DropboxState(enum.StrEnum):
    PENDING = "pending"  # seen; waiting until it stops changing
    WAITING = "waiting"  # complete; waiting for the companion files of its fileset
    IMPORTING = "importing"  # an import job has it
    IMPORTED = "imported"
    FAILED = "failed"
    CHANGED = "changed"  # changed after its import; reported, not imported again


class DropboxFile(Timestamped, Base):
    """One version of one file below the dropbox root.

    A path has one ``current`` row (the file as last seen); a file that changes after its
    import gets a new current row, the old one keeps the import's history. Exactly-once is
    (path, sha256): a current row is never imported when an imported row with the same path
    and checksum exists.
    """

    __tablename__ = "dropbox_file"
    __table_args__ = (
        Index("ix_dropbox_file_path_current", "path", "current"),
        Index("ix_dropbox_file_owner_sha256", "owner_id", "sha256"),
    )
    kind = "DropboxFile"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(
        ForeignKey("experimenter.id", ondelete="CASCADE"), index=True)
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("experimenter_group.id", ondelete="SET NULL"), default=None)
    # Relative to the dropbox root, '/'-separated, starting with the user's folder.
    path: Mapped[str] = mapped_column(String(4096))
    current: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    size: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    mtime_ns: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    state: Mapped[str] = mapped_column(String(16), default=DropboxState.PENDING.value,
                                       server_default="pending", index=True)
    # Multi-file filesets: the path of the file whose import carries the whole fileset.
    fileset_head: Mapped[str | None] = mapped_column(String(4096), default=None)
    # Companion file names (same folder) the file waits for.
    companions: Mapped[list[str] | None] = mapped_column(JSON, default=None)
    job_id: Mapped[int | None] = mapped_column(
        ForeignKey("job.id", ondelete="SET NULL"), default=None, index=True)
    image_ids: Mapped[list[int] | None] = mapped_column(JSON, default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    message: Mapped[str | None] = mapped_column(Text, default=None)
    # When its size or modification time last changed: the start of its quiet period.
    changed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    imported_at: Mapped[dt.datetime | None] = mapped_column(default=None)
