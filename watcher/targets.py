"""Users, groups and containers of dropped files: who owns a path and which dataset it
goes to (created when missing, as the user)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from resolvers.actor import Actor
from resolvers.containers import create_container, link
from resolvers.errors import DomainError
from resolvers.ids import format_id
from resolvers.sessions import load_actor
from resolvers.validate import clean_name
from store.models import Dataset, Experimenter, ExperimenterGroup, Project, ProjectDatasetLink
from watcher.paths import Placement, place


class Unplaceable(Exception):
    """A dropped file that cannot go anywhere; the message says why, for people."""


@dataclass(frozen=True)
class Destination:
    actor: Actor
    group_id: int
    target: str  # Dataset:N
    name: str  # the file's path below its dataset folder


def user_ids(db: Session, usernames: set[str]) -> dict[str, int]:
    """Existing users among these folder names (enabled or not: their rows are kept)."""
    if not usernames:
        return {}
    rows = db.execute(select(Experimenter.username, Experimenter.id)
                      .where(Experimenter.username.in_(usernames)))
    return {name: pk for name, pk in rows}


def group_names(db: Session, actor: Actor) -> dict[str, int]:
    rows = db.execute(select(ExperimenterGroup.name, ExperimenterGroup.id)
                      .where(ExperimenterGroup.id.in_(list(actor.memberships))))
    return {name: pk for name, pk in rows}


def placement_of(db: Session, owner_id: int, relative: str, default_group: str | None
                 ) -> tuple[Actor, int, Placement]:
    """The acting user, the group and the placement of a dropped path."""
    user = db.get(Experimenter, owner_id)
    if user is None:
        raise Unplaceable("its user no longer exists")
    actor = load_actor(db, user)
    groups = group_names(db, actor)
    placement = place(relative, frozenset(groups))
    if placement.group is not None:
        group_id = groups[placement.group]
    elif default_group is not None and default_group in groups:
        group_id = groups[default_group]
    elif actor.default_group_id is not None and actor.default_group_id in actor.memberships:
        group_id = actor.default_group_id
    elif actor.memberships:
        group_id = min(actor.memberships)
    else:
        raise Unplaceable(f"{user.username} is a member of no group")
    return actor, group_id, placement


def destination(db: Session, owner_id: int, relative: str, default_dataset: str,
                default_group: str | None) -> Destination:
    """Where ``relative`` goes, creating its project and dataset when missing."""
    actor, group_id, placement = placement_of(db, owner_id, relative, default_group)
    try:
        name = clean_name(placement.dataset or default_dataset)
        if placement.project is None:
            dataset = _orphan_dataset(db, actor, group_id, name)
        else:
            dataset = _dataset_in_project(db, actor, group_id, clean_name(placement.project),
                                          name)
    except DomainError as exc:
        raise Unplaceable(f"no dataset for it: {exc}") from exc
    return Destination(actor, group_id, format_id("Dataset", dataset), placement.name)


def _orphan_dataset(db: Session, actor: Actor, group_id: int, name: str) -> int:
    found = db.scalar(select(Dataset.id).where(
        Dataset.owner_id == actor.user_id, Dataset.group_id == group_id, Dataset.name == name,
        ~Dataset.id.in_(select(ProjectDatasetLink.child_id))).order_by(Dataset.id).limit(1))
    if found is None:
        found = create_container(db, actor, "Dataset", name, None, group_id).id
    return found


def _dataset_in_project(db: Session, actor: Actor, group_id: int, project_name: str,
                        name: str) -> int:
    project = db.scalar(select(Project.id).where(
        Project.owner_id == actor.user_id, Project.group_id == group_id,
        Project.name == project_name).order_by(Project.id).limit(1))
    if project is None:
        project = create_container(db, actor, "Project", project_name, None, group_id).id
    found = db.scalar(select(Dataset.id).join(
        ProjectDatasetLink, ProjectDatasetLink.child_id == Dataset.id).where(
        ProjectDatasetLink.parent_id == project, Dataset.owner_id == actor.user_id,
        Dataset.name == name).order_by(Dataset.id).limit(1))
    if found is None:
        found = create_container(db, actor, "Dataset", name, None, group_id).id
        link(db, actor, format_id("Project", project), format_id("Dataset", found))
    return found
