"""The ASGI application factory: resources are created in the lifespan and passed down."""

from __future__ import annotations

import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from datetime import timedelta

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from omegraph.settings import Settings, load_settings
from resolvers.sessions import SessionPolicy
from schema.build import build_schema
from store.db import create_db_engine, session_factory
from store.migrate import check_migrated
from web.auth import AuthMiddleware
from web.graphiql import STATIC_DIR
from web.graphql import GraphQLApp
from web.headers import SecurityHeadersMiddleware

log = logging.getLogger("omegraph")


def session_policy(settings: Settings) -> SessionPolicy:
    return SessionPolicy(
        idle_timeout=timedelta(seconds=settings.session_idle_timeout),
        absolute_timeout=timedelta(seconds=settings.session_absolute_timeout),
    )


def create_app(settings: Settings, engine: Engine | None = None,
               factory: sessionmaker[Session] | None = None) -> Starlette:
    """Build the app. Tests pass their engine and a session factory bound to one connection."""
    owns_engine = engine is None
    engine = engine or create_db_engine(settings.db_url)
    factory = factory or session_factory(engine)
    policy = session_policy(settings)
    graphql = GraphQLApp(build_schema(settings), settings, policy)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        check_migrated(engine)  # refuse to serve an unmigrated database
        # Everything imported and built so far lives as long as the process: keep it out of
        # the collector's full passes, which otherwise walk it during every large response.
        gc.collect()
        gc.freeze()
        yield
        if owns_engine:
            engine.dispose()

    async def health(_request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def home(_request: Request) -> Response:
        return RedirectResponse("/graphql")

    routes = [
        Route("/", home),
        Route("/health", health),
        Route("/graphql", graphql, methods=["GET", "POST"]),
        Mount("/static", StaticFiles(directory=STATIC_DIR, check_dir=False), name="static"),
    ]
    middleware = [
        Middleware(SecurityHeadersMiddleware),
        Middleware(AuthMiddleware, factory=factory, policy=policy),
    ]
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
    app.state.settings = settings
    app.state.engine = engine
    return app


def app_from_env() -> Starlette:
    """Entry point for ``uvicorn --factory`` when serving with several worker processes."""
    return create_app(load_settings())
