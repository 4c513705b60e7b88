"""Acting as another user: a session of theirs, opened by an administrator with the sudo
privilege, that records both identities on everything done through it."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from resolvers import audit
from resolvers.accounts import require_power_over, require_privilege
from resolvers.actor import Actor
from resolvers.errors import Invalid, NotFound, PermissionDenied
from resolvers.sessions import IssuedSession, SessionPolicy, open_session
from store.accounts import Experimenter
from store.security import Privilege


def sudo(db: Session, actor: Actor, username: str, policy: SessionPolicy,
         user_agent: str | None = None, client_address: str | None = None) -> IssuedSession:
    require_privilege(actor, Privilege.SUDO)
    if actor.sudo_by_id is not None or actor.read_only:
        raise PermissionDenied("sudo needs your own interactive session", "username")
    user = db.scalar(select(Experimenter).where(Experimenter.username == username[:64]))
    if user is None:
        raise NotFound(f"no user named {username[:64]!r}", "username")
    if user.id == actor.user_id:
        raise Invalid("you are already yourself", "username")
    if not user.active:
        raise Invalid("that account is deactivated", "username")
    require_power_over(actor, user, "username")
    issued = open_session(db, user, policy, user_agent, client_address,
                          sudo_by_id=actor.user_id, commit=False)
    audit.record(db, "sudo", actor, target=f"Experimenter:{user.id}",
                 details={"as": user.username})
    db.commit()
    return issued
