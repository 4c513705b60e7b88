"""Login throttling by account, by client address, and by both together.

Failures are rows in the database, so every API process sees the same counts. Limits slow an
attacker down without locking the real user out for good: the per-address limits clear after
the window, and an account attacked from everywhere still accepts one attempt per
``account_interval``, so its owner can always get in.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from sqlalchemy import and_, delete, func, select
from sqlalchemy.orm import Session

from resolvers.errors import Throttled
from store.base import utcnow
from store.security import LoginFailure


@dataclass(frozen=True)
class ThrottlePolicy:
    window: dt.timedelta = dt.timedelta(minutes=15)
    per_account_and_address: int = 5
    per_address: int = 30
    per_account: int = 20
    account_interval: dt.timedelta = dt.timedelta(seconds=30)


def _seconds(delta: dt.timedelta) -> int:
    return max(1, math.ceil(delta.total_seconds()))


def check(db: Session, policy: ThrottlePolicy, username: str, address: str | None) -> None:
    """Raise Throttled if this attempt must not be heard now."""
    now = utcnow()
    since = now - policy.window
    recent = LoginFailure.occurred >= since
    by_pair = and_(recent, LoginFailure.username == username,
                   LoginFailure.client_address == address)
    by_address = and_(recent, LoginFailure.client_address == address)
    by_account = and_(recent, LoginFailure.username == username)
    for condition, limit in ((by_pair, policy.per_account_and_address),
                             (by_address, policy.per_address)):
        count, oldest = db.execute(select(func.count(), func.min(LoginFailure.occurred))
                                   .where(condition)).one()
        if count >= limit:
            raise Throttled(_seconds(oldest + policy.window - now))
    count, latest = db.execute(select(func.count(), func.max(LoginFailure.occurred))
                               .where(by_account)).one()
    if count >= policy.per_account and latest + policy.account_interval > now:
        raise Throttled(_seconds(latest + policy.account_interval - now))


def record_failure(db: Session, username: str, address: str | None) -> None:
    db.add(LoginFailure(username=username[:255], client_address=address))


def forget(db: Session, policy: ThrottlePolicy, username: str, address: str | None) -> None:
    """After a successful login: clear this pair's failures and expire old rows."""
    db.execute(delete(LoginFailure).where(
        (and_(LoginFailure.username == username, LoginFailure.client_address == address))
        | (LoginFailure.occurred < utcnow() - policy.window)))
