"""Who may log in: password providers (local, LDAP, ...) tried in a configured order.

A provider answers with the user, with None (not its user, or a wrong password), or raises
ProviderUnavailable when it cannot be asked (a directory that is down); the next provider is
then tried, so local administrators can still log in while LDAP is down. Throttling and the
audit trail wrap every attempt, whatever the provider.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from resolvers import audit, throttle
from resolvers.errors import Throttled, Unauthenticated
from resolvers.passwords import hash_password, needs_rehash, verify_password
from resolvers.sessions import IssuedSession, SessionPolicy, open_session
from resolvers.throttle import ThrottlePolicy
from resolvers.validate import db_safe
from store.accounts import Experimenter

WRONG_CREDENTIALS = "wrong username or password"
_SERVICE_NAMES = {"ldap": "directory (LDAP)"}


class ProviderUnavailable(Exception):
    """The provider could not be asked (network, timeout, misconfiguration)."""


class PasswordProvider(Protocol):
    name: str

    def authenticate(self, db: Session, username: str, password: str) -> Experimenter | None:
        """The user these credentials prove, or None; may create or update the user."""
        ...


class LocalPasswords:
    """Accounts whose argon2 password hash is stored here."""

    name = "local"

    def authenticate(self, db: Session, username: str, password: str) -> Experimenter | None:
        user = db.scalar(select(Experimenter).where(Experimenter.username == username))
        local = user is not None and user.auth_source == "local"
        # Verify even without a user, so unknown names cost as much time as wrong passwords.
        ok = verify_password(user.password_hash if local and user else None, password)
        if not (ok and local and user and user.password_hash):
            return None
        if needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
        return user


@dataclass(frozen=True)
class Authenticator:
    policy: SessionPolicy
    providers: Sequence[PasswordProvider] = field(default_factory=lambda: (LocalPasswords(),))
    throttle: ThrottlePolicy = field(default_factory=ThrottlePolicy)


def login(db: Session, auth: Authenticator, username: str, password: str,
          user_agent: str | None = None, client_address: str | None = None) -> IssuedSession:
    """Check credentials with each provider in turn and open a session, or raise."""
    # Names the database cannot store match nobody; count them under one key.
    key = username[:255] if db_safe(username) else "\ufffd"
    try:
        throttle.check(db, auth.throttle, key, client_address)
    except Throttled:
        _fail(db, key, client_address, "throttled")
        raise
    user, unavailable = None, []
    if key == username:
        for provider in auth.providers:
            try:
                user = provider.authenticate(db, username, password)
            except ProviderUnavailable:
                unavailable.append(provider.name)
                continue
            if user is not None:
                break
    if user is None or not user.active:
        reason = "inactive" if user is not None else "wrong credentials"
        throttle.record_failure(db, key, client_address)
        _fail(db, key, client_address, reason, unavailable)
        if unavailable and user is None:
            services = " and ".join(_SERVICE_NAMES.get(name, name) for name in unavailable)
            raise Unauthenticated(f"the {services} cannot be reached; try again later",
                                  "password")
        raise Unauthenticated(WRONG_CREDENTIALS, "password")
    throttle.forget(db, auth.throttle, key, client_address)
    issued = open_session(db, user, auth.policy, user_agent, client_address, commit=False)
    audit.record(db, "login", None, actor_name=user.username, target=f"Experimenter:{user.id}",
                 client_address=client_address)
    db.commit()
    return issued


def _fail(db: Session, username: str, address: str | None, reason: str,
          unavailable: Sequence[str] = ()) -> None:
    details: dict[str, object] = {"reason": reason}
    if unavailable:
        details["unavailable"] = list(unavailable)
    audit.record(db, "login", None, outcome="failure", actor_name=username[:64],
                 client_address=address, details=details)
    db.commit()
