"""Users, groups and memberships: admin operations, and what group owners may do."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from resolvers.actor import Actor
from resolvers.errors import Conflict, Invalid, NotFound, PermissionDenied, Unauthenticated
from resolvers.passwords import hash_password, verify_password
from resolvers.validate import clean_description, clean_text, clean_username
from store.models import (
    AuthSession,
    Experimenter,
    ExperimenterGroup,
    GroupMembership,
    PermissionLevel,
)


def require_admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise PermissionDenied("only administrators may do this")


def require_group_manager(actor: Actor, group_id: int) -> None:
    """Admins and the group's owners manage its membership."""
    if not (actor.is_admin or actor.owns_group(group_id)):
        raise PermissionDenied("only administrators and owners of the group may do this", "group")


def parse_level(text: str, field: str = "permissions") -> PermissionLevel:
    try:
        return PermissionLevel(text)
    except ValueError:
        levels = ", ".join(level.value for level in PermissionLevel)
        raise Invalid(f"permissions must be one of {levels}", field) from None


def get_user(db: Session, user_id: int, field: str = "user") -> Experimenter:
    user = db.get(Experimenter, user_id)
    if user is None:
        raise NotFound(f"Experimenter:{user_id} not found", field)
    return user


def get_group(db: Session, group_id: int, field: str = "group") -> ExperimenterGroup:
    group = db.get(ExperimenterGroup, group_id)
    if group is None:
        raise NotFound(f"Group:{group_id} not found", field)
    return group


def create_group(db: Session, actor: Actor, name: str, level: PermissionLevel,
                 description: str | None = None) -> ExperimenterGroup:
    require_admin(actor)
    name = clean_text(name, "name", 255, required=True)
    if db.scalar(select(ExperimenterGroup.id).where(ExperimenterGroup.name == name)):
        raise Conflict(f"a group named {name!r} already exists", "name")
    group = ExperimenterGroup(name=name, permissions=level.value,
                              description=clean_description(description))
    db.add(group)
    db.commit()
    return group


def update_group(db: Session, actor: Actor, group_id: int, name: str | None,
                 level: PermissionLevel | None, description: str | None) -> ExperimenterGroup:
    group = get_group(db, group_id, "id")
    require_group_manager(actor, group.id)
    if name is not None:
        require_admin(actor)
        name = clean_text(name, "name", 255, required=True)
        clash = db.scalar(select(ExperimenterGroup.id).where(
            ExperimenterGroup.name == name, ExperimenterGroup.id != group.id))
        if clash:
            raise Conflict(f"a group named {name!r} already exists", "name")
        group.name = name
    if level is not None:
        order = list(PermissionLevel)
        # As in OMERO, owners may open a group up; only admins may restrict it again.
        if order.index(level) < order.index(group.level) and not actor.is_admin:
            raise PermissionDenied("only administrators may lower a group's permissions",
                                   "permissions")
        group.permissions = level.value
    if description is not None:
        group.description = clean_description(description)
    db.commit()
    return group


def create_user(db: Session, actor: Actor, username: str, password: str | None, *,
                first_name: str = "", last_name: str = "", email: str | None = None,
                is_admin: bool = False, group_ids: Sequence[int] = ()) -> Experimenter:
    require_admin(actor)
    username = clean_username(username)
    if db.scalar(select(Experimenter.id).where(Experimenter.username == username)):
        raise Conflict(f"a user named {username!r} already exists", "username")
    groups = [get_group(db, gid, f"groups.{i}") for i, gid in enumerate(group_ids)]
    user = Experimenter(
        username=username,
        password_hash=hash_password(password) if password is not None else None,
        first_name=clean_text(first_name, "first_name", 255),
        last_name=clean_text(last_name, "last_name", 255),
        email=clean_text(email, "email", 255) if email else None,
        is_admin=is_admin,
        default_group_id=groups[0].id if groups else None,
    )
    db.add(user)
    db.flush()
    db.add_all([GroupMembership(experimenter_id=user.id, group_id=g.id) for g in groups])
    db.commit()
    return user


def update_user(db: Session, actor: Actor, user_id: int, *, first_name: str | None = None,
                last_name: str | None = None, email: str | None = None,
                active: bool | None = None, is_admin: bool | None = None,
                default_group_id: int | None = None) -> Experimenter:
    user = get_user(db, user_id, "id")
    if user.id != actor.user_id:
        require_admin(actor)
    if (active is not None or is_admin is not None) and not actor.is_admin:
        raise PermissionDenied("only administrators may change this", "active")
    if user.id == actor.user_id and (active is False or is_admin is False):
        raise Invalid("you cannot deactivate or demote yourself", "active")
    if first_name is not None:
        user.first_name = clean_text(first_name, "first_name", 255)
    if last_name is not None:
        user.last_name = clean_text(last_name, "last_name", 255)
    if email is not None:
        user.email = clean_text(email, "email", 255) or None
    if active is not None:
        user.active = active
    if is_admin is not None:
        user.is_admin = is_admin
    if default_group_id is not None:
        if not db.get(GroupMembership, (user.id, default_group_id)):
            raise Invalid("the default group must be one of the user's groups", "default_group")
        user.default_group_id = default_group_id
    db.commit()
    return user


def set_password(db: Session, actor: Actor, user_id: int, new_password: str,
                 old_password: str | None = None) -> None:
    """Users change their own password (knowing the old one); admins reset anyone's."""
    user = get_user(db, user_id, "user")
    if user.id == actor.user_id and not actor.is_admin:
        if old_password is None or not verify_password(user.password_hash, old_password):
            raise Unauthenticated("the current password is wrong", "old_password")
    elif user.id != actor.user_id:
        require_admin(actor)
    user.password_hash = hash_password(new_password)
    # A changed password ends every other session of that user.
    db.execute(
        update(AuthSession)
        .where(AuthSession.experimenter_id == user.id)
        .where(AuthSession.id != (actor.session_id or -1))
        .values(revoked=True)
    )
    db.commit()


def add_member(db: Session, actor: Actor, group_id: int, user_id: int,
               owner: bool = False) -> GroupMembership:
    group = get_group(db, group_id)
    require_group_manager(actor, group.id)
    user = get_user(db, user_id)
    membership = db.get(GroupMembership, (user.id, group.id))
    if membership is None:
        membership = GroupMembership(experimenter_id=user.id, group_id=group.id, is_owner=owner)
        db.add(membership)
    else:
        membership.is_owner = owner
    if user.default_group_id is None:
        user.default_group_id = group.id
    db.commit()
    return membership


def remove_member(db: Session, actor: Actor, group_id: int, user_id: int) -> None:
    group = get_group(db, group_id)
    require_group_manager(actor, group.id)
    membership = db.get(GroupMembership, (user_id, group.id))
    if membership is None:
        raise NotFound("that user is not a member of the group", "user")
    db.delete(membership)
    user = get_user(db, user_id)
    if user.default_group_id == group.id:
        user.default_group_id = None
    db.commit()
