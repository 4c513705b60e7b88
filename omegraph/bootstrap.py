"""First-start accounts (root) and the demo data of ``omegraph serve --demo``."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from resolvers.passwords import hash_password
from store.models import (
    Dataset,
    Experimenter,
    ExperimenterGroup,
    GroupMembership,
    PermissionLevel,
    Project,
    ProjectDatasetLink,
)

ROOT = "root"
SYSTEM_GROUP = "system"
DEMO_USER = "demo"
DEMO_GROUP = "demo-lab"


@dataclass(frozen=True)
class Created:
    username: str
    password: str | None  # set only when generated here, to be shown once


def generate_password() -> str:
    return secrets.token_urlsafe(12)


def ensure_root(db: Session, password: str | None) -> Created | None:
    """Create the admin ``root`` on first start; None if it already exists."""
    if db.scalar(select(Experimenter.id).where(Experimenter.username == ROOT)) is not None:
        return None
    system = db.scalar(select(ExperimenterGroup).where(ExperimenterGroup.name == SYSTEM_GROUP))
    if system is None:
        system = ExperimenterGroup(name=SYSTEM_GROUP, permissions=PermissionLevel.PRIVATE.value,
                                   description="Administrators")
        db.add(system)
        db.flush()
    generated = password is None
    secret = password or generate_password()
    root = Experimenter(username=ROOT, first_name="Root", last_name="Administrator",
                        password_hash=hash_password(secret), is_admin=True,
                        default_group_id=system.id)
    db.add(root)
    db.flush()
    db.add(GroupMembership(experimenter_id=root.id, group_id=system.id, is_owner=True))
    db.commit()
    return Created(ROOT, secret if generated else None)


def ensure_demo(db: Session) -> Created | None:
    """A demo lab (read-annotate) with a user, a project and a dataset; None if present."""
    if db.scalar(select(Experimenter.id).where(Experimenter.username == DEMO_USER)) is not None:
        return None
    group = ExperimenterGroup(name=DEMO_GROUP, permissions=PermissionLevel.READ_ANNOTATE.value,
                              description="Demo lab created by `omegraph serve --demo`")
    db.add(group)
    db.flush()
    password = generate_password()
    user = Experimenter(username=DEMO_USER, first_name="Demo", last_name="User",
                        password_hash=hash_password(password), default_group_id=group.id)
    db.add(user)
    db.flush()
    db.add(GroupMembership(experimenter_id=user.id, group_id=group.id, is_owner=True))
    owned = {"owner_id": user.id, "group_id": group.id}
    project = Project(name="Demo project", description="Start here", **owned)
    dataset = Dataset(name="Demo dataset", description="Images of the demo", **owned)
    db.add_all([project, dataset])
    db.flush()
    db.add(ProjectDatasetLink(parent_id=project.id, child_id=dataset.id, **owned))
    db.commit()
    return Created(DEMO_USER, password)
