"""Sessions, API tokens, privileges and sudo."""

from __future__ import annotations

from typing import Any, cast

import strawberry
from sqlalchemy.orm import Session

from resolvers import accounts, sessions, sudo, tokens
from resolvers.actor import Actor
from resolvers.errors import DomainError
from resolvers.ids import parse_typed_id
from schema.accounts import Experimenter
from schema.context import Info
from schema.errors import result_union, to_error
from schema.mutations.accounts import LoginPayload, UserPayload
from schema.mutations.base import USER, perform
from schema.security import ApiToken, Privilege, SessionInfo
from store import models


@strawberry.type
class ApiTokenPayload:
    token: str = strawberry.field(description="The secret, shown this once: keep it safe.")
    api_token: ApiToken


@strawberry.type
class ApiTokenRevokedPayload:
    api_token: ApiToken


@strawberry.type
class SessionPayload:
    session: SessionInfo


@strawberry.type
class SecurityMutations:
    @strawberry.mutation(permission_classes=USER,
                         description="A personal API token for scripts: send it as "
                                     "'Authorization: Bearer <token>'.")
    async def create_api_token(self, info: Info, name: str, read_only: bool = True,
                               expires_in_days: int | None = 90
                               ) -> result_union("CreateApiTokenResult", ApiTokenPayload):  # type: ignore[valid-type]
        def wrap(created: tuple[str, Any]) -> ApiTokenPayload:
            return ApiTokenPayload(token=created[0], api_token=created[1])

        return await perform(info, wrap, tokens.create_token, name, read_only, expires_in_days)

    @strawberry.mutation(permission_classes=USER)
    async def revoke_api_token(self, info: Info, id: strawberry.ID
                               ) -> result_union("RevokeApiTokenResult", ApiTokenRevokedPayload):  # type: ignore[valid-type]
        def revoke(db: Session, actor: Actor) -> Any:
            return tokens.revoke_token(db, actor, parse_typed_id(id, "ApiToken"))

        return await perform(info, lambda row: ApiTokenRevokedPayload(api_token=row),
                             revoke)

    @strawberry.mutation(permission_classes=USER,
                         description="End one of your sessions (administrators: anyone's).")
    async def revoke_session(self, info: Info, id: strawberry.ID
                             ) -> result_union("RevokeSessionResult", SessionPayload):  # type: ignore[valid-type]
        def revoke(db: Session, actor: Actor) -> Any:
            return sessions.revoke_session(db, actor, parse_typed_id(id, "Session"))

        return await perform(info, lambda row: SessionPayload(session=row),
                             revoke)

    @strawberry.mutation(permission_classes=USER,
                         description="Make a user a restricted administrator holding exactly "
                                     "these privileges (you must hold them yourself).")
    async def set_privileges(self, info: Info, user: strawberry.ID,
                             privileges: list[Privilege]  # type: ignore[valid-type]
                             ) -> result_union("SetPrivilegesResult", UserPayload):  # type: ignore[valid-type]
        def grant(db: Session, actor: Actor) -> Any:
            values = [models.Privilege(p).value for p in privileges]
            return accounts.set_privileges(db, actor, parse_typed_id(user, "Experimenter",
                                                                     "user"), values)

        return await perform(info, lambda u: UserPayload(user=u), grant)

    @strawberry.mutation(permission_classes=USER,
                         description="Open a session as another user (sudo privilege). "
                                     "Everything done with it records both of you.")
    async def sudo(self, info: Info, username: str
                   ) -> result_union("SudoResult", LoginPayload):  # type: ignore[valid-type]
        ctx = info.context
        request = ctx.request
        try:
            issued = await ctx.db.run(
                sudo.sudo, ctx.actor, username, ctx.auth.policy,
                request.headers.get("user-agent"),
                request.client.host if request.client else None)
            user = await ctx.db.run(lambda db: db.get(models.Experimenter, issued.user_id))
        except DomainError as exc:
            return to_error(exc)
        return LoginPayload(token=issued.token, expires_at=issued.expires,
                            user=cast(Experimenter, user))

