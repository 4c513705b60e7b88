"""Rendering settings: one row per (user, image), as OMERO keeps a RenderingDef per owner."""

from __future__ import annotations

from sqlalchemy import JSON, ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from store.base import Base, Owned


class RenderingSettings(Owned, Base):
    """A user's rendering of an image.

    ``query`` holds the settings whole as OMERO.web's query parameters
    (``engine.render.query_of``: ``c``, ``maps``, ``m``, ``p``, ``z``, ``t``), so the stored
    form, the signed tile URLs and the API's ``query`` are one grammar, validated by one
    parser; the channel count is the image's. ``owner_id`` is the user whose settings these
    are (who may only view the image), ``group_id`` the image's group.
    """

    __tablename__ = "rendering_settings"
    __table_args__ = (UniqueConstraint("image_id", "owner_id"),)
    kind = "RenderingSettings"

    image_id: Mapped[int] = mapped_column(ForeignKey("image.id", ondelete="CASCADE"), index=True)
    query: Mapped[dict[str, str]] = mapped_column(JSON, default=dict, server_default="{}")
