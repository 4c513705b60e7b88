"""Experimenters, groups with OMERO permission levels, memberships and login sessions."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from store.base import Base, Timestamped, utcnow


class PermissionLevel(enum.StrEnum):
    """OMERO's four group permission levels, stored as their permission strings."""

    PRIVATE = "rw----"
    READ_ONLY = "rwr---"
    READ_ANNOTATE = "rwra--"
    READ_WRITE = "rwrw--"

    @property
    def members_read(self) -> bool:
        return self is not PermissionLevel.PRIVATE

    @property
    def members_annotate(self) -> bool:
        return self in (PermissionLevel.READ_ANNOTATE, PermissionLevel.READ_WRITE)

    @property
    def members_write(self) -> bool:
        return self is PermissionLevel.READ_WRITE


class Experimenter(Timestamped, Base):
    __tablename__ = "experimenter"
    kind = "Experimenter"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    first_name: Mapped[str] = mapped_column(String(255), default="")
    last_name: Mapped[str] = mapped_column(String(255), default="")
    email: Mapped[str | None] = mapped_column(String(255), default=None)
    institution: Mapped[str | None] = mapped_column(String(255), default=None)
    # None means no local password (LDAP-managed or disabled local login).
    password_hash: Mapped[str | None] = mapped_column(String(255), default=None)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    # Restricted administrators: a subset of store.security.Privilege values.
    privileges: Mapped[list[str]] = mapped_column(JSON, default=list,
                                                  server_default=text("'[]'"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Where the password lives: "local" (password_hash) or "ldap" (the directory).
    auth_source: Mapped[str] = mapped_column(String(16), default="local",
                                             server_default="local")
    ldap_dn: Mapped[str | None] = mapped_column(String(1024), default=None)
    default_group_id: Mapped[int | None] = mapped_column(
        ForeignKey("experimenter_group.id", ondelete="SET NULL"), default=None
    )

    memberships: Mapped[list[GroupMembership]] = relationship(
        back_populates="experimenter", cascade="all, delete-orphan",
        foreign_keys="GroupMembership.experimenter_id",
    )


class ExperimenterGroup(Timestamped, Base):
    __tablename__ = "experimenter_group"
    __table_args__ = (
        CheckConstraint(
            "permissions IN ('rw----', 'rwr---', 'rwra--', 'rwrw--')", name="permission_level"
        ),
    )
    kind = "Group"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    description: Mapped[str | None] = mapped_column(String(10_000), default=None)
    permissions: Mapped[str] = mapped_column(String(6), default=PermissionLevel.PRIVATE.value)

    memberships: Mapped[list[GroupMembership]] = relationship(
        back_populates="group", cascade="all, delete-orphan"
    )

    @property
    def level(self) -> PermissionLevel:
        return PermissionLevel(self.permissions)


class GroupMembership(Base):
    __tablename__ = "group_membership"

    experimenter_id: Mapped[int] = mapped_column(
        ForeignKey("experimenter.id", ondelete="CASCADE"), primary_key=True
    )
    group_id: Mapped[int] = mapped_column(
        ForeignKey("experimenter_group.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    is_owner: Mapped[bool] = mapped_column(Boolean, default=False)
    # "ldap" when a directory rule made it, so a sync only ever removes what LDAP added.
    managed_by: Mapped[str | None] = mapped_column(String(16), default=None)
    created: Mapped[dt.datetime] = mapped_column(default=utcnow)

    experimenter: Mapped[Experimenter] = relationship(
        back_populates="memberships", foreign_keys=[experimenter_id]
    )
    group: Mapped[ExperimenterGroup] = relationship(back_populates="memberships")


class AuthSession(Base):
    """A login session. Only the sha256 of the bearer token is stored."""

    __tablename__ = "auth_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    experimenter_id: Mapped[int] = mapped_column(
        ForeignKey("experimenter.id", ondelete="CASCADE"), index=True
    )
    created: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_seen: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires: Mapped[dt.datetime] = mapped_column()
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    # Set when an administrator opened this session as another user (sudo).
    sudo_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("experimenter.id", ondelete="CASCADE"), default=None)
    user_agent: Mapped[str | None] = mapped_column(String(255), default=None)
    client_address: Mapped[str | None] = mapped_column(String(64), default=None)
