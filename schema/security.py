"""GraphQL types of the security records: sessions, API tokens and audit events."""

from __future__ import annotations

import datetime as dt
from typing import Any

import strawberry
from strawberry.scalars import JSON

from resolvers.ids import format_id
from schema.base import ome_type
from store import security
from store.accounts import AuthSession

Privilege = strawberry.enum(security.Privilege, name="Privilege")


def _gid(kind: str, pk: int | None) -> strawberry.ID | None:
    return None if pk is None else strawberry.ID(format_id(kind, pk))


@ome_type(AuthSession, name="SessionInfo", description="A login session (never its token).")
class SessionInfo:
    created: dt.datetime
    last_seen: dt.datetime
    expires: dt.datetime
    user_agent: str | None
    client_address: str | None

    @strawberry.field
    def id(self, root: strawberry.Parent[Any]) -> strawberry.ID:
        return strawberry.ID(format_id("Session", root.id))

    @strawberry.field(description="True when opened by an administrator acting as this user.")
    def sudo(self, root: strawberry.Parent[Any]) -> bool:
        return root.sudo_by_id is not None


@ome_type(security.ApiToken, name="ApiToken",
          description="A personal API token (never its secret).")
class ApiToken:
    name: str
    read_only: bool
    created: dt.datetime
    expires: dt.datetime | None
    last_used: dt.datetime | None
    revoked: bool

    @strawberry.field
    def id(self, root: strawberry.Parent[Any]) -> strawberry.ID:
        return strawberry.ID(format_id("ApiToken", root.id))


@ome_type(security.AuditEvent, name="AuditEvent")
class AuditEvent:
    occurred: dt.datetime
    action: str
    outcome: str
    actor_name: str | None = strawberry.field(
        description="Username of who acted (kept if the account is deleted).")
    target: str | None
    client_address: str | None
    details: JSON

    @strawberry.field
    def id(self, root: strawberry.Parent[Any]) -> strawberry.ID:
        return strawberry.ID(format_id("AuditEvent", root.id))

    @strawberry.field
    def actor_id(self, root: strawberry.Parent[Any]) -> strawberry.ID | None:
        return _gid("Experimenter", root.actor_id)

    @strawberry.field(description="The administrator behind a sudo session, if any.")
    def sudo_by_id(self, root: strawberry.Parent[Any]) -> strawberry.ID | None:
        return _gid("Experimenter", root.sudo_by_id)


@strawberry.type
class AuditEventPage:
    events: list[AuditEvent]
    next_cursor: str | None = strawberry.field(
        description="Pass as `before` for older events; null at the end.")


@strawberry.input
class AuditFilterInput:
    action: str | None = None
    actor: strawberry.ID | None = None
    target: str | None = None
    outcome: str | None = None
    after: dt.datetime | None = None
    before_time: dt.datetime | None = None
