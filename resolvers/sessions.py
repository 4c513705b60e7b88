"""Login sessions: opaque bearer tokens stored only as their sha256; idle and absolute expiry."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass, replace
from typing import TypeVar

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from resolvers import audit
from resolvers.actor import Actor, Membership
from resolvers.errors import NotFound, PermissionDenied, Unauthenticated
from store.accounts import (
    AuthSession,
    Experimenter,
    ExperimenterGroup,
    GroupMembership,
    PermissionLevel,
)
from store.base import utcnow

T = TypeVar("T")

# Refreshing last_seen on every request would turn every read into a write.
LAST_SEEN_RESOLUTION = dt.timedelta(seconds=60)


@dataclass(frozen=True)
class SessionPolicy:
    idle_timeout: dt.timedelta
    absolute_timeout: dt.timedelta


@dataclass(frozen=True)
class IssuedSession:
    token: str
    expires: dt.datetime
    user_id: int


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def open_session(db: Session, user: Experimenter, policy: SessionPolicy,
                 user_agent: str | None = None, client_address: str | None = None, *,
                 sudo_by_id: int | None = None, commit: bool = True) -> IssuedSession:
    """A new session for ``user``; the token is returned once and stored only hashed."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session = AuthSession(
        token_hash=token_digest(token), experimenter_id=user.id, created=now, last_seen=now,
        expires=now + policy.absolute_timeout, sudo_by_id=sudo_by_id,
        user_agent=(user_agent or "")[:255] or None, client_address=client_address,
    )
    db.add(session)
    if commit:
        db.commit()
    else:
        db.flush()
    return IssuedSession(token=token, expires=session.expires, user_id=user.id)


def logout(db: Session, token: str, actor: Actor | None = None) -> bool:
    result = db.execute(
        update(AuthSession)
        .where(AuthSession.token_hash == token_digest(token), AuthSession.revoked.is_(False))
        .values(revoked=True)
    )
    if actor is not None:
        audit.record(db, "logout", actor, target=f"Experimenter:{actor.user_id}")
    db.commit()
    return bool(result.rowcount)  # type: ignore[attr-defined]


def credential_of(db: Session, model: type[T], token: str) -> tuple[T, Experimenter] | None:
    """The stored credential (session or API token) with this token's digest, and its user."""
    row = db.execute(
        select(model, Experimenter)
        .join(Experimenter, Experimenter.id == model.experimenter_id)  # type: ignore[attr-defined]
        .where(model.token_hash == token_digest(token))  # type: ignore[attr-defined]
    ).first()
    return None if row is None else (row[0], row[1])


def authenticate(db: Session, token: str, policy: SessionPolicy) -> Actor:
    """Resolve a bearer token to an Actor, or raise Unauthenticated."""
    found = credential_of(db, AuthSession, token)
    if found is None:
        raise Unauthenticated("invalid session token")
    session, user = found
    now = utcnow()
    if session.revoked or not user.active:
        raise Unauthenticated("session has ended; log in again")
    if session.expires <= now or session.last_seen + policy.idle_timeout <= now:
        raise Unauthenticated("session has expired; log in again")
    if now - session.last_seen >= LAST_SEEN_RESOLUTION:
        session.last_seen = now
        db.commit()
    return replace(load_actor(db, user), session_id=session.id, sudo_by_id=session.sudo_by_id)


def load_actor(db: Session, user: Experimenter) -> Actor:
    rows = db.execute(
        select(GroupMembership.group_id, GroupMembership.is_owner, ExperimenterGroup.permissions)
        .join(ExperimenterGroup, ExperimenterGroup.id == GroupMembership.group_id)
        .where(GroupMembership.experimenter_id == user.id)
    ).all()
    memberships = {gid: Membership(PermissionLevel(perms), owner) for gid, owner, perms in rows}
    levels: dict[int, PermissionLevel] = {}
    if user.is_admin or user.privileges:
        levels = {
            gid: PermissionLevel(perms)
            for gid, perms in db.execute(
                select(ExperimenterGroup.id, ExperimenterGroup.permissions)
            ).all()
        }
    return Actor(
        user_id=user.id, username=user.username, is_admin=user.is_admin,
        memberships=memberships, group_levels=levels, default_group_id=user.default_group_id,
        privileges=frozenset(user.privileges or ()),
    )


def list_sessions(db: Session, actor: Actor, user_id: int | None = None) -> list[AuthSession]:
    """Open sessions of the viewer, or of anyone for administrators who manage users."""
    target = actor.user_id if user_id is None else user_id
    if target != actor.user_id and not actor.has("manage_users"):
        raise PermissionDenied("only administrators may list other people's sessions", "user")
    now = utcnow()
    return list(db.scalars(
        select(AuthSession).where(AuthSession.experimenter_id == target,
                                  AuthSession.revoked.is_(False), AuthSession.expires > now)
        .order_by(AuthSession.id)))


def revoke_session(db: Session, actor: Actor, session_id: int) -> AuthSession:
    session = db.get(AuthSession, session_id)
    mine = session is not None and session.experimenter_id == actor.user_id
    if session is None or not (mine or actor.has("manage_users")):
        raise NotFound(f"Session:{session_id} not found", "id")
    session.revoked = True
    audit.record(db, "session.revoke", actor, target=f"Experimenter:{session.experimenter_id}")
    db.commit()
    return session
