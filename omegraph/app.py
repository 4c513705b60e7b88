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
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

from omegraph.settings import Settings, SettingsError, load_settings
from omegraph.watch import start_watcher
from resolvers.authn import Authenticator, LocalPasswords, PasswordProvider
from resolvers.jobs.service import JobService
from resolvers.sessions import SessionPolicy
from resolvers.signing import Signer, load_or_create_key
from resolvers.throttle import ThrottlePolicy
from schema.build import build_schema
from store.db import create_db_engine, session_factory, writer_factory
from store.migrate import check_migrated
from web.auth import AuthMiddleware
from web.body_limit import BodyLimitMiddleware
from web.files import download_fileset, download_original, get_thumbnail
from web.graphiql import STATIC_DIR
from web.graphql import GraphQLApp
from web.headers import SecurityHeadersMiddleware
from web.tiles import open_sources
from web.tiles import routes as render_routes
from web.uploads import upload

log = logging.getLogger("omegraph")


def session_policy(settings: Settings) -> SessionPolicy:
    return SessionPolicy(
        idle_timeout=timedelta(seconds=settings.session_idle_timeout),
        absolute_timeout=timedelta(seconds=settings.session_absolute_timeout),
    )


def password_provider(name: str, settings: Settings) -> PasswordProvider:
    """The provider called ``name`` in ``auth_order``.

    ``local``: argon2 hashes stored here. ``ldap``: a directory (the ``ldap_*`` settings);
    use it as ``OMEGRAPH_AUTH_ORDER=ldap,local`` so local administrators can still log in
    while the directory is down.
    """
    if name == "local":
        return LocalPasswords()
    if name == "ldap":
        from resolvers.ldap_login import LdapPasswords  # ldap3 is loaded only when used

        return LdapPasswords(settings)
    raise SettingsError(f"auth_order: unknown login provider {name!r} (known: local, ldap)")


def build_authenticator(settings: Settings) -> Authenticator:
    if not settings.auth_order:
        raise SettingsError("auth_order: name at least one login provider")
    return Authenticator(
        policy=session_policy(settings),
        providers=tuple(password_provider(name, settings) for name in settings.auth_order),
        throttle=ThrottlePolicy(
            window=timedelta(seconds=settings.login_window),
            per_account_and_address=settings.login_failures_per_account_address,
            per_address=settings.login_failures_per_address,
            per_account=settings.login_failures_per_account,
        ),
    )


def create_app(settings: Settings, engine: Engine | None = None,
               factory: sessionmaker[Session] | None = None,
               jobs: JobService | None = None) -> Starlette:
    """Build the app. Tests pass their engine, a session factory bound to one connection and
    an inline job service; by default jobs run on RQ (with Redis) or in this process."""
    owns_engine = engine is None
    # A factory given by tests is bound to one connection: no watcher thread may share it.
    owns_sessions = factory is None
    engine = engine or create_db_engine(settings.db_url)
    job_factory = factory or writer_factory(engine)
    factory = factory or session_factory(engine)
    authenticator = build_authenticator(settings)
    graphql = GraphQLApp(build_schema(settings), settings, authenticator)
    jobs = jobs or JobService.for_server(settings, job_factory)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        check_migrated(engine)  # refuse to serve an unmigrated database
        if jobs.mode != "inline" and (settings.redis_url or settings.run_jobs_in_server):
            jobs.start()
        # The DropBox, when enabled.
        watcher = start_watcher(settings, job_factory, jobs) if owns_sessions else None
        # Everything imported and built so far lives as long as the process: keep it out of
        # the collector's full passes, which otherwise walk it during every large response.
        gc.collect()
        gc.freeze()
        yield
        if watcher is not None:
            watcher.stop()
        jobs.stop()
        _app.state.render_sources.close()
        if owns_engine:
            engine.dispose()

    async def health(_request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def home(_request: Request) -> Response:
        return RedirectResponse("/graphql")

    routes = [
        Route("/", home),
        Route("/health", health),
        # Every method reaches the GraphQL view, so even a PUT gets a JSON 405 from it.
        Route("/graphql", graphql, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
        WebSocketRoute("/graphql", graphql),  # subscriptions (graphql-transport-ws)
        Route("/uploads/{job:int}/{index:int}", upload, methods=["PUT", "HEAD"]),
        Route("/files/originals/{id:int}", download_original),
        Route("/files/filesets/{id:int}.zip", download_fileset),
        Route("/thumbnails/{id:int}", get_thumbnail),
        # Rendered tiles and regions (signed URLs from Image.rendering, or the session).
        *render_routes(),
        Mount("/static", StaticFiles(directory=STATIC_DIR, check_dir=False), name="static"),
    ]
    middleware = [
        Middleware(SecurityHeadersMiddleware),
        Middleware(BodyLimitMiddleware, max_bytes=settings.max_request_bytes),
        *_cors(settings),
        Middleware(AuthMiddleware, factory=factory, policy=authenticator.policy),
    ]
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
    app.state.settings = settings
    app.state.engine = engine
    app.state.jobs = jobs
    app.state.render_sources = open_sources(settings)
    app.state.signer = Signer(load_or_create_key(settings.secret_key, settings.data_dir))
    return app


def _cors(settings: Settings) -> list[Middleware]:
    """Closed unless origins are named: browsers then refuse cross-origin calls outright."""
    if not settings.cors_origins:
        return []
    return [Middleware(CORSMiddleware, allow_origins=list(settings.cors_origins),
                       allow_methods=["GET", "POST"], allow_credentials=True,
                       allow_headers=["Authorization", "Content-Type", "X-OMEGraph-CSRF"],
                       max_age=600)]


def app_from_env() -> Starlette:
    """Entry point for ``uvicorn --factory`` when serving with several worker processes."""
    return create_app(load_settings())
