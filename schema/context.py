"""The typed GraphQL context: who is asking, their database unit and their dataloaders."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from strawberry.types import Info as StrawberryInfo

from omegraph.settings import Settings
from resolvers.actor import Actor
from resolvers.authn import Authenticator
from resolvers.errors import Unauthenticated
from resolvers.jobs.service import JobService
from resolvers.loaders import Loaders
from resolvers.signing import Signer
from resolvers.unit import RequestDb


@dataclass
class Context:
    request: Request
    response: Response | None
    db: RequestDb
    settings: Settings
    auth: Authenticator
    actor_or_none: Actor | None
    token: str | None = None
    jobs: JobService | None = None
    signer: Signer | None = field(default=None, repr=False)
    _loaders: Loaders | None = field(default=None, repr=False)

    @property
    def actor(self) -> Actor:
        if self.actor_or_none is None:
            raise Unauthenticated("log in first: send a session token as 'Authorization: Bearer'")
        return self.actor_or_none

    def signed(self, path: str) -> str:
        """``path`` signed for the viewer: a URL that works without credentials, for a while."""
        assert self.signer is not None, "the app sets a signer"
        return self.signer.sign(path, self.actor.user_id)

    @property
    def loaders(self) -> Loaders:
        # Built lazily, once per request, for the authenticated actor.
        if self._loaders is None:
            self._loaders = Loaders(self.db, self.actor)
        return self._loaders


Info = StrawberryInfo[Context, Any]
