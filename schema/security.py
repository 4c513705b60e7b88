"""GraphQL types of the security records: sessions, API tokens and audit events."""

from __future__ import annotations

import datetime as dt
from typing import Any

import strawberry
from strawberry.scalars import JSON

from resolvers.ids import format_id
from store import security

Privilege = strawberry.enum(security.Privilege, name="Privilege")


@strawberry.type(description="A login session (never its token).")
class SessionInfo:
    row: strawberry.Private[Any]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(format_id("Session", self.row.id))

    @strawberry.field
    def created(self) -> dt.datetime:
        return self.row.created  # type: ignore[no-any-return]

    @strawberry.field
    def last_seen(self) -> dt.datetime:
        return self.row.last_seen  # type: ignore[no-any-return]

    @strawberry.field
    def expires(self) -> dt.datetime:
        return self.row.expires  # type: ignore[no-any-return]

    @strawberry.field
    def user_agent(self) -> str | None:
        return self.row.user_agent  # type: ignore[no-any-return]

    @strawberry.field
    def client_address(self) -> str | None:
        return self.row.client_address  # type: ignore[no-any-return]

    @strawberry.field(description="True when opened by an administrator acting as this user.")
    def sudo(self) -> bool:
        return self.row.sudo_by_id is not None


@strawberry.type(description="A personal API token (never its secret).")
class ApiToken:
    row: strawberry.Private[Any]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(format_id("ApiToken", self.row.id))

    @strawberry.field
    def name(self) -> str:
        return self.row.name  # type: ignore[no-any-return]

    @strawberry.field
    def read_only(self) -> bool:
        return self.row.read_only  # type: ignore[no-any-return]

    @strawberry.field
    def created(self) -> dt.datetime:
        return self.row.created  # type: ignore[no-any-return]

    @strawberry.field
    def expires(self) -> dt.datetime | None:
        return self.row.expires  # type: ignore[no-any-return]

    @strawberry.field
    def last_used(self) -> dt.datetime | None:
        return self.row.last_used  # type: ignore[no-any-return]

    @strawberry.field
    def revoked(self) -> bool:
        return self.row.revoked  # type: ignore[no-any-return]


@strawberry.type
class AuditEvent:
    row: strawberry.Private[Any]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(format_id("AuditEvent", self.row.id))

    @strawberry.field
    def occurred(self) -> dt.datetime:
        return self.row.occurred  # type: ignore[no-any-return]

    @strawberry.field
    def action(self) -> str:
        return self.row.action  # type: ignore[no-any-return]

    @strawberry.field
    def outcome(self) -> str:
        return self.row.outcome  # type: ignore[no-any-return]

    @strawberry.field(description="Username of who acted (kept if the account is deleted).")
    def actor_name(self) -> str | None:
        return self.row.actor_name  # type: ignore[no-any-return]

    @strawberry.field
    def actor_id(self) -> strawberry.ID | None:
        row = self.row
        return strawberry.ID(format_id("Experimenter", row.actor_id)) if row.actor_id else None

    @strawberry.field(description="The administrator behind a sudo session, if any.")
    def sudo_by_id(self) -> strawberry.ID | None:
        row = self.row
        return strawberry.ID(format_id("Experimenter", row.sudo_by_id)) if row.sudo_by_id \
            else None

    @strawberry.field
    def target(self) -> str | None:
        return self.row.target  # type: ignore[no-any-return]

    @strawberry.field
    def client_address(self) -> str | None:
        return self.row.client_address  # type: ignore[no-any-return]

    @strawberry.field
    def details(self) -> JSON:
        return self.row.details  # type: ignore[no-any-return]


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
