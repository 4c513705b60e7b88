"""Users, groups, memberships and privileges: what administrators and group owners may do.

Restricted administrators act only where they hold the privilege, and nobody can grant, use
or take over powers they do not hold: a restricted admin cannot touch a full admin's account,
nor anyone holding privileges the restricted admin lacks.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from resolvers import audit
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
from store.security import Privilege

ALL_PRIVILEGES = frozenset(privilege.value for privilege in Privilege)


def held(actor: Actor) -> frozenset[str]:
    return ALL_PRIVILEGES if actor.is_admin else actor.privileges


def require_privilege(actor: Actor, privilege: Privilege, field: str | None = None) -> None:
    if not actor.has(privilege.value):
        raise PermissionDenied(f"this needs the {privilege.value} privilege", field)


def require_power_over(actor: Actor, user: Experimenter, field: str = "user") -> None:
    """Managing an account must not hand its holder's powers to someone who lacks them."""
    if user.is_admin and not actor.is_admin:
        raise PermissionDenied("only full administrators may manage a full administrator", field)
    lacking = set(user.privileges or ()) - held(actor)
    if lacking:
        raise PermissionDenied(
            f"that user holds privileges you do not: {', '.join(sorted(lacking))}", field)


def require_group_manager(actor: Actor, group_id: int) -> None:
    """Administrators with the membership privilege, and the group's owners."""
    if not (actor.has(Privilege.MANAGE_GROUP_MEMBERSHIP.value) or actor.owns_group(group_id)):
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
    require_privilege(actor, Privilege.MANAGE_USERS)
    name = clean_text(name, "name", 255, required=True)
    if db.scalar(select(ExperimenterGroup.id).where(ExperimenterGroup.name == name)):
        raise Conflict(f"a group named {name!r} already exists", "name")
    group = ExperimenterGroup(name=name, permissions=level.value,
                              description=clean_description(description))
    db.add(group)
    db.flush()
    audit.record(db, "group.create", actor, target=f"Group:{group.id}",
                 details={"name": name, "permissions": level.value})
    db.commit()
    return group


def update_group(db: Session, actor: Actor, group_id: int, name: str | None,
                 level: PermissionLevel | None, description: str | None) -> ExperimenterGroup:
    group = get_group(db, group_id, "id")
    require_group_manager(actor, group.id)
    changes: dict[str, object] = {}
    if name is not None:
        require_privilege(actor, Privilege.MANAGE_USERS, "name")
        name = clean_text(name, "name", 255, required=True)
        clash = db.scalar(select(ExperimenterGroup.id).where(
            ExperimenterGroup.name == name, ExperimenterGroup.id != group.id))
        if clash:
            raise Conflict(f"a group named {name!r} already exists", "name")
        changes["name"] = name
        group.name = name
    if level is not None:
        order = list(PermissionLevel)
        # As in OMERO, owners may open a group up; only admins may restrict it again.
        if order.index(level) < order.index(group.level) and \
                not actor.has(Privilege.MANAGE_USERS.value):
            raise PermissionDenied("only administrators may lower a group's permissions",
                                   "permissions")
        changes["permissions"] = level.value
        group.permissions = level.value
    if description is not None:
        group.description = clean_description(description)
    if changes:
        audit.record(db, "group.update", actor, target=f"Group:{group.id}", details=changes)
    db.commit()
    return group


def create_user(db: Session, actor: Actor, username: str, password: str | None, *,
                first_name: str = "", last_name: str = "", email: str | None = None,
                is_admin: bool = False, group_ids: Sequence[int] = ()) -> Experimenter:
    require_privilege(actor, Privilege.MANAGE_USERS)
    if is_admin and not actor.is_admin:
        raise PermissionDenied("only full administrators may create full administrators",
                               "is_admin")
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
    audit.record(db, "user.create", actor, target=f"Experimenter:{user.id}",
                 details={"username": username, "is_admin": is_admin,
                          "groups": [g.name for g in groups]})
    db.commit()
    return user


def update_user(db: Session, actor: Actor, user_id: int, *, first_name: str | None = None,
                last_name: str | None = None, email: str | None = None,
                active: bool | None = None, is_admin: bool | None = None,
                default_group_id: int | None = None) -> Experimenter:
    user = get_user(db, user_id, "id")
    if user.id != actor.user_id:
        require_privilege(actor, Privilege.MANAGE_USERS, "id")
        require_power_over(actor, user, "id")
    if active is not None:
        require_privilege(actor, Privilege.MANAGE_USERS, "active")
    if is_admin is not None and not actor.is_admin:
        raise PermissionDenied("only full administrators may make or unmake them", "is_admin")
    if user.id == actor.user_id and (active is False or is_admin is False):
        raise Invalid("you cannot deactivate or demote yourself", "active")
    changes: dict[str, object] = {}
    for name, value in (("first_name", first_name), ("last_name", last_name)):
        if value is not None:
            setattr(user, name, clean_text(value, name, 255))
            changes[name] = getattr(user, name)
    if email is not None:
        user.email = clean_text(email, "email", 255) or None
        changes["email"] = user.email
    if active is not None:
        user.active = active
        changes["active"] = active
    if is_admin is not None:
        user.is_admin = is_admin
        changes["is_admin"] = is_admin
    if default_group_id is not None:
        if not db.get(GroupMembership, (user.id, default_group_id)):
            raise Invalid("the default group must be one of the user's groups", "default_group")
        user.default_group_id = default_group_id
        changes["default_group"] = default_group_id
    audit.record(db, "user.update", actor, target=f"Experimenter:{user.id}", details=changes)
    db.commit()
    return user


def set_privileges(db: Session, actor: Actor, user_id: int,
                   privileges: Sequence[str]) -> Experimenter:
    """Make ``user`` a restricted administrator holding exactly ``privileges``."""
    require_privilege(actor, Privilege.MANAGE_USERS)
    unknown = sorted(set(privileges) - ALL_PRIVILEGES)
    if unknown:
        raise Invalid(f"unknown privileges: {', '.join(unknown)}", "privileges")
    user = get_user(db, user_id)
    if user.is_admin:
        raise Invalid("full administrators hold every privilege", "user")
    if user.id == actor.user_id and not actor.is_admin:
        raise PermissionDenied("you cannot change your own privileges", "user")
    old, new = set(user.privileges or ()), set(privileges)
    lacking = (old ^ new) - held(actor)
    if lacking:
        raise PermissionDenied(
            f"you cannot grant or remove privileges you do not hold: {', '.join(sorted(lacking))}",
            "privileges")
    user.privileges = sorted(new)
    audit.record(db, "user.privileges", actor, target=f"Experimenter:{user.id}",
                 details={"added": sorted(new - old), "removed": sorted(old - new)})
    db.commit()
    return user


def set_password(db: Session, actor: Actor, user_id: int, new_password: str,
                 old_password: str | None = None) -> None:
    """Users change their own password (knowing the old one); admins reset anyone's."""
    user = get_user(db, user_id, "user")
    if user.auth_source != "local":
        raise Invalid("this account's password is kept in the directory (LDAP)", "user")
    if user.id == actor.user_id and actor.sudo_by_id is None and not actor.is_admin:
        if old_password is None or not verify_password(user.password_hash, old_password):
            raise Unauthenticated("the current password is wrong", "old_password")
    elif user.id != actor.user_id or actor.sudo_by_id is not None:
        require_privilege(actor, Privilege.MANAGE_USERS, "user")
        require_power_over(actor, user)
    user.password_hash = hash_password(new_password)
    # A changed password ends every other session of that user.
    db.execute(
        update(AuthSession)
        .where(AuthSession.experimenter_id == user.id)
        .where(AuthSession.id != (actor.session_id or -1))
        .values(revoked=True)
    )
    audit.record(db, "user.password", actor, target=f"Experimenter:{user.id}")
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
        membership.managed_by = None  # set by hand now: a directory sync leaves it alone
    if user.default_group_id is None:
        user.default_group_id = group.id
    audit.record(db, "group.member.add", actor, target=f"Group:{group.id}",
                 details={"user": user.username, "owner": owner})
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
    audit.record(db, "group.member.remove", actor, target=f"Group:{group.id}",
                 details={"user": user.username})
    db.commit()
