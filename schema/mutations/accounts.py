"""Log in and out; manage users, groups and memberships."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

import strawberry
from sqlalchemy.orm import Session

from resolvers import accounts, authn, sessions
from resolvers.actor import Actor
from resolvers.errors import DomainError
from resolvers.ids import parse_typed_id
from schema.accounts import Experimenter, Group, Membership, PermissionLevel
from schema.context import Info
from schema.errors import result_union, to_error
from schema.mutations.base import ADMIN, PUBLIC, USER, OkPayload, guarded, perform
from store import models

SESSION_COOKIE = "omegraph_session"


@strawberry.type
class LoginPayload:
    token: str = strawberry.field(description="Send as 'Authorization: Bearer <token>'.")
    expires_at: dt.datetime
    user: Experimenter


@strawberry.input
class CreateUserInput:
    username: str
    password: str | None = strawberry.field(
        default=None, description="None: no local password (cannot log in locally yet).")
    first_name: str = ""
    last_name: str = ""
    email: str | None = None
    is_admin: bool = False
    groups: list[strawberry.ID] = strawberry.field(default_factory=list)


@strawberry.input
class UpdateUserInput:
    id: strawberry.ID
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    active: bool | None = None
    is_admin: bool | None = None
    default_group: strawberry.ID | None = None


@strawberry.input
class CreateGroupInput:
    name: str
    permissions: PermissionLevel  # type: ignore[valid-type]
    description: str | None = None


@strawberry.input
class UpdateGroupInput:
    id: strawberry.ID
    name: str | None = None
    permissions: PermissionLevel | None = None  # type: ignore[valid-type]
    description: str | None = None


@strawberry.type
class UserPayload:
    user: Experimenter


@strawberry.type
class GroupPayload:
    group: Group


@strawberry.type
class MembershipPayload:
    membership: Membership


def _user_id(value: str, field: str = "user") -> int:
    return parse_typed_id(value, "Experimenter", field)


def _group_id(value: str, field: str = "group") -> int:
    return parse_typed_id(value, "Group", field)


def _set_cookie(info: Info, token: str, expires: dt.datetime) -> None:
    response = info.context.response
    if response is None:
        return
    secure = info.context.settings.cookie_secure
    if secure is None:
        secure = info.context.request.url.scheme == "https"
    response.set_cookie(
        SESSION_COOKIE, token, expires=expires, httponly=True, secure=secure,
        samesite="lax", path="/",
    )


@strawberry.type
class AccountMutations:
    @strawberry.mutation(permission_classes=PUBLIC,
                         description="Open a session; also sets an HttpOnly cookie for browsers.")
    async def login(self, info: Info, username: str, password: str
                    ) -> result_union("LoginResult", LoginPayload):  # type: ignore[valid-type]
        ctx = info.context
        request = ctx.request
        client = request.client.host if request.client else None
        try:
            issued = await ctx.db.run(
                authn.login, ctx.auth, username[:256], password,
                request.headers.get("user-agent"), client,
            )
            user = await ctx.db.run(lambda db: db.get(models.Experimenter, issued.user_id))
        except DomainError as exc:
            return to_error(exc)
        assert user is not None
        _set_cookie(info, issued.token, issued.expires)
        return LoginPayload(token=issued.token, expires_at=issued.expires, user=cast(Any, user))

    @strawberry.mutation(permission_classes=USER, description="End the current session.")
    async def logout(self, info: Info) -> result_union("LogoutResult", OkPayload):  # type: ignore[valid-type]
        ctx = info.context
        if ctx.token is not None:
            await ctx.db.run(sessions.logout, ctx.token, ctx.actor)
        if ctx.response is not None:
            ctx.response.delete_cookie(SESSION_COOKIE, path="/")
        return OkPayload()

    @strawberry.mutation(permission_classes=USER,
                         description="Change your password (or, as admin, anyone's). "
                                     "Ends the user's other sessions.")
    async def change_password(self, info: Info, new_password: str,
                              old_password: str | None = None,
                              user: strawberry.ID | None = None
                              ) -> result_union("ChangePasswordResult", OkPayload):  # type: ignore[valid-type]
        async def run() -> Any:
            target = _user_id(user) if user else info.context.actor.user_id
            return await perform(info, lambda _: OkPayload(), accounts.set_password, target,
                                 new_password, old_password)

        return await guarded(run())

    @strawberry.mutation(permission_classes=ADMIN)
    async def create_user(self, info: Info, input: CreateUserInput
                          ) -> result_union("CreateUserResult", UserPayload):  # type: ignore[valid-type]
        def create(db: Session, actor: Actor) -> Any:
            groups = [_group_id(g, f"groups.{i}") for i, g in enumerate(input.groups)]
            return accounts.create_user(
                db, actor, input.username, input.password, first_name=input.first_name,
                last_name=input.last_name, email=input.email, is_admin=input.is_admin,
                group_ids=groups)

        return await perform(info, lambda u: UserPayload(user=u), create)

    @strawberry.mutation(permission_classes=USER,
                         description="Update your own profile, or anyone's as an admin.")
    async def update_user(self, info: Info, input: UpdateUserInput
                          ) -> result_union("UpdateUserResult", UserPayload):  # type: ignore[valid-type]
        def update(db: Session, actor: Actor) -> Any:
            return accounts.update_user(
                db, actor, _user_id(input.id, "id"), first_name=input.first_name,
                last_name=input.last_name, email=input.email, active=input.active,
                is_admin=input.is_admin,
                default_group_id=_group_id(input.default_group, "default_group")
                if input.default_group else None)

        return await perform(info, lambda u: UserPayload(user=u), update)

    @strawberry.mutation(permission_classes=ADMIN)
    async def create_group(self, info: Info, input: CreateGroupInput
                           ) -> result_union("CreateGroupResult", GroupPayload):  # type: ignore[valid-type]
        return await perform(info, lambda g: GroupPayload(group=g), accounts.create_group,
                             input.name, models.PermissionLevel(input.permissions),
                             input.description)

    @strawberry.mutation(permission_classes=USER,
                         description="Admins and group owners; only admins rename or lower.")
    async def update_group(self, info: Info, input: UpdateGroupInput
                           ) -> result_union("UpdateGroupResult", GroupPayload):  # type: ignore[valid-type]
        def update(db: Session, actor: Actor) -> Any:
            level = models.PermissionLevel(input.permissions) if input.permissions else None
            return accounts.update_group(db, actor, _group_id(input.id, "id"), input.name,
                                         level, input.description)

        return await perform(info, lambda g: GroupPayload(group=g), update)

    @strawberry.mutation(permission_classes=USER, description="Admins and group owners.")
    async def add_group_member(self, info: Info, group: strawberry.ID, user: strawberry.ID,
                               owner: bool = False
                               ) -> result_union("AddGroupMemberResult", MembershipPayload):  # type: ignore[valid-type]
        def add(db: Session, actor: Actor) -> Any:
            return accounts.add_member(db, actor, _group_id(group), _user_id(user), owner)

        return await perform(info, lambda m: MembershipPayload(membership=m), add)

    @strawberry.mutation(permission_classes=USER, description="Admins and group owners.")
    async def remove_group_member(self, info: Info, group: strawberry.ID, user: strawberry.ID
                                  ) -> result_union("RemoveGroupMemberResult", OkPayload):  # type: ignore[valid-type]
        def remove(db: Session, actor: Actor) -> Any:
            accounts.remove_member(db, actor, _group_id(group), _user_id(user))

        return await perform(info, lambda _: OkPayload(), remove)
