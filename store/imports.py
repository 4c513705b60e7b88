"""The files of one import: what the client declared, what has arrived, where it went."""

from __future__ import annotations

import enum

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from store.base import Base, Owned


class ImportFileState(enum.StrEnum):
    PENDING = "pending"  # declared, no bytes yet
    UPLOADING = "uploading"  # some bytes received
    RECEIVED = "received"  # all declared bytes are in staging
    STORED = "stored"  # kept in the repository as an OriginalFile
    DUPLICATE = "duplicate"  # same bytes already imported; skipped by the duplicate policy


class ImportFile(Owned, Base):
    __tablename__ = "import_file"
    __table_args__ = (
        UniqueConstraint("job_id", "index"),
        CheckConstraint("received >= 0 AND received <= size", name="received_range"),
    )
    kind = "ImportFile"

    job_id: Mapped[int] = mapped_column(ForeignKey("job.id", ondelete="CASCADE"), index=True)
    index: Mapped[int] = mapped_column(Integer)
    # The client's relative path after safe_relative_path(): kept for names and folders only.
    path: Mapped[str] = mapped_column(String(1024))
    size: Mapped[int] = mapped_column(BigInteger)
    received: Mapped[int] = mapped_column(BigInteger, default=0)
    # Declared by the client (optional), then the checksum of the bytes actually stored.
    sha256: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    # A file already on the server (local CLI import, DropBox). Set by trusted code only,
    # never from a GraphQL argument.
    source: Mapped[str | None] = mapped_column(String(4096), default=None)
    state: Mapped[str] = mapped_column(String(16), default=ImportFileState.PENDING.value)
    original_file_id: Mapped[int | None] = mapped_column(
        ForeignKey("original_file.id", ondelete="SET NULL"), default=None)
