"""Personal API tokens for scripts and pipelines: named, read-only or read-write, expiring,
revocable, and stored only as their sha256."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from resolvers import audit
from resolvers.actor import Actor
from resolvers.errors import Invalid, NotFound, PermissionDenied, Unauthenticated
from resolvers.sessions import credential_of, load_actor, token_digest
from resolvers.validate import clean_text
from store.base import utcnow
from store.security import ApiToken

TOKEN_PREFIX = "ogt_"  # noqa: S105  (a public marker, not a secret)
MAX_DAYS = 366
MAX_TOKENS_PER_USER = 100
# Touching last_used on every call would turn reads into writes.
LAST_USED_RESOLUTION = dt.timedelta(minutes=5)


def create_token(db: Session, actor: Actor, name: str, read_only: bool,
                 expires_in_days: int | None) -> tuple[str, ApiToken]:
    """A new token; the secret is returned once and never again."""
    if actor.sudo_by_id is not None:
        raise PermissionDenied("tokens cannot be created while acting as another user")
    if actor.read_only:
        raise PermissionDenied("a read-only token cannot create tokens")
    name = clean_text(name, "name", 255, required=True)
    if expires_in_days is not None and not 1 <= expires_in_days <= MAX_DAYS:
        raise Invalid(f"expiresInDays must be between 1 and {MAX_DAYS}", "expiresInDays")
    count = len(db.scalars(select(ApiToken.id).where(
        ApiToken.experimenter_id == actor.user_id, ApiToken.revoked.is_(False))).all())
    if count >= MAX_TOKENS_PER_USER:
        raise Invalid(f"at most {MAX_TOKENS_PER_USER} active tokens; revoke some first", "name")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    token = ApiToken(experimenter_id=actor.user_id, name=name, token_hash=token_digest(raw),
                     read_only=read_only, created=now,
                     expires=now + dt.timedelta(days=expires_in_days)
                     if expires_in_days is not None else None)
    db.add(token)
    db.flush()
    audit.record(db, "api_token.create", actor, target=f"ApiToken:{token.id}",
                 details={"name": name, "read_only": read_only})
    db.commit()
    return raw, token


def list_tokens(db: Session, actor: Actor) -> list[ApiToken]:
    return list(db.scalars(select(ApiToken).where(ApiToken.experimenter_id == actor.user_id)
                           .order_by(ApiToken.id)))


def revoke_token(db: Session, actor: Actor, token_id: int) -> ApiToken:
    token = db.get(ApiToken, token_id)
    if token is None or (token.experimenter_id != actor.user_id
                         and not actor.has("manage_users")):
        raise NotFound(f"ApiToken:{token_id} not found", "id")
    token.revoked = True
    audit.record(db, "api_token.revoke", actor, target=f"ApiToken:{token.id}")
    db.commit()
    return token


def authenticate_token(db: Session, raw: str) -> Actor:
    found = credential_of(db, ApiToken, raw)
    if found is None:
        raise Unauthenticated("invalid API token")
    token, user = found
    now = utcnow()
    if token.revoked or not user.active:
        raise Unauthenticated("API token has been revoked")
    if token.expires is not None and token.expires <= now:
        raise Unauthenticated("API token has expired")
    if token.last_used is None or now - token.last_used >= LAST_USED_RESOLUTION:
        token.last_used = now
        db.commit()
    return replace(load_actor(db, user), read_only=token.read_only)
