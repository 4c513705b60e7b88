"""Security records: the audit log, personal API tokens and failed-login counters."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from store.base import Base, utcnow


class Privilege(enum.StrEnum):
    """Powers a restricted administrator may hold; full admins hold them all."""

    MANAGE_USERS = "manage_users"
    MANAGE_GROUP_MEMBERSHIP = "manage_group_membership"
    WRITE_OTHERS_DATA = "write_others_data"
    DELETE_OTHERS_DATA = "delete_others_data"
    CHANGE_OWNERSHIP = "change_ownership"
    UPLOAD_OFFICIAL_SCRIPTS = "upload_official_scripts"
    SUDO = "sudo"


class AuditEvent(Base):
    """Who did what, when and from where. Never holds a password, token or session id."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    outcome: Mapped[str] = mapped_column(String(16), default="success")
    # The account that acted, and the admin behind it when acting through sudo.
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("experimenter.id", ondelete="SET NULL"), default=None, index=True)
    sudo_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("experimenter.id", ondelete="SET NULL"), default=None)
    # Kept as text too, so the trail survives the deletion of the account.
    actor_name: Mapped[str | None] = mapped_column(String(64), default=None)
    target: Mapped[str | None] = mapped_column(String(255), default=None, index=True)
    client_address: Mapped[str | None] = mapped_column(String(64), default=None)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class ApiToken(Base):
    """A personal API token for scripts and pipelines; only its sha256 is stored."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    experimenter_id: Mapped[int] = mapped_column(
        ForeignKey("experimenter.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    read_only: Mapped[bool] = mapped_column(Boolean, default=True)
    created: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires: Mapped[dt.datetime | None] = mapped_column(default=None)
    last_used: Mapped[dt.datetime | None] = mapped_column(default=None)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class LoginFailure(Base):
    """One failed login, for throttling by account and by client address."""

    __tablename__ = "login_failure"

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    username: Mapped[str] = mapped_column(String(255), index=True)
    client_address: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    reason: Mapped[str | None] = mapped_column(Text, default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
