"""Declarative base, column types and the ownership mixin shared by every OME object."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, DateTime, ForeignKey, Integer, MetaData, String, TypeDecorator
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

# Stable constraint names so Alembic migrations are identical on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# 64-bit ids as in OMERO; SQLite needs plain INTEGER for its auto-incrementing rowid alias.
IdType = BigInteger().with_variant(Integer, "sqlite")

NAME_LENGTH = 255
DESCRIPTION_LENGTH = 10_000


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime; OMEGraph stores UTC-aware datetimes only")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        stored: dt.datetime = value
        if stored.tzinfo is None:
            return stored.replace(tzinfo=dt.UTC)
        return stored.astimezone(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    # Every Mapped[int] without an explicit type is an id or a reference to one.
    type_annotation_map = {dt.datetime: UTCDateTime, str: String(NAME_LENGTH), int: IdType}

    # Global ids and permission checks need the GraphQL-facing type name.
    kind: str = ""


class Timestamped:
    created: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Owned(Timestamped):
    """Every OME object belongs to one experimenter and one group, like OMERO's Details."""

    id: Mapped[int] = mapped_column(primary_key=True)

    @declared_attr
    def owner_id(cls) -> Mapped[int]:
        return mapped_column(ForeignKey("experimenter.id", ondelete="RESTRICT"), index=True)

    @declared_attr
    def group_id(cls) -> Mapped[int]:
        return mapped_column(ForeignKey("experimenter_group.id", ondelete="RESTRICT"), index=True)


class Named:
    name: Mapped[str] = mapped_column(String(NAME_LENGTH), index=True)
    description: Mapped[str | None] = mapped_column(String(DESCRIPTION_LENGTH), default=None)
