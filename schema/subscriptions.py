"""Subscriptions (graphql-transport-ws on /graphql): live job progress."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Any

import strawberry
from sqlalchemy.orm import Session
from strawberry.permission import BasePermission

from resolvers.actor import Actor
from resolvers.errors import NotFound
from resolvers.ids import format_id, parse_typed_id
from resolvers.jobs.lease import FINISHED
from resolvers.permissions import Action, can
from schema.context import Info
from schema.jobs import Job
from schema.permissions import IsAuthenticated
from store import models

AUTH: list[type[BasePermission]] = [IsAuthenticated]
POLL_SECONDS = 0.25


def _fresh_job(db: Session, actor: Actor, pk: int) -> Any:
    db.rollback()  # a new transaction: see what workers committed since the last look
    job = db.get(models.Job, pk, populate_existing=True)
    if job is None or not can(actor, Action.VIEW, job.owner_id, job.group_id):
        raise NotFound(f"{format_id('Job', pk)} not found", "id")
    db.expunge(job)
    return job


@strawberry.type
class Subscription:
    @strawberry.subscription(permission_classes=AUTH, description=(
        "The job now and at every change of its status or progress, until it ends."))
    async def job(self, info: Info, id: strawberry.ID) -> AsyncGenerator[Job, None]:
        pk = parse_typed_id(id, "Job")
        seen: tuple[object, ...] | None = None
        while True:
            job = await info.context.db.run(_fresh_job, info.context.actor, pk)
            now = (job.state, job.step, job.progress, job.message, job.error)
            if now != seen:
                seen = now
                yield job
            if job.state in FINISHED:
                return
            await asyncio.sleep(POLL_SECONDS)
