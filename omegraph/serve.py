"""``omegraph serve``: first-start accounts, then uvicorn."""

from __future__ import annotations

import uvicorn

from omegraph.app import create_app
from omegraph.bootstrap import Created, ensure_demo, ensure_root
from omegraph.demo import queue_demo_import
from omegraph.logs import log_config
from omegraph.settings import Settings
from store.db import create_db_engine, session_factory
from store.migrate import check_migrated


def _announce(created: Created | None, what: str) -> None:
    if created is None:
        return
    if created.password is None:
        print(f"Created {what} '{created.username}' with the password from the environment.")
        return
    # Printed once, on the console of whoever started the server; never logged.
    print(f"Created {what} '{created.username}' with password: {created.password}")
    print("  (shown only this once; change it with `omegraph user passwd "
          f"{created.username}`)")


def serve(settings: Settings, demo: bool = False) -> int:
    print(f"OMEGraph data directory: {settings.data_dir}")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_db_engine(settings.db_url)
    check_migrated(engine)
    with session_factory(engine)() as db:
        _announce(ensure_root(db, settings.admin_password), "administrator")
        if demo:
            _announce(ensure_demo(db), "demo user")
            if queue_demo_import(db, settings.data_dir) is not None:
                print("Importing the demo images (a few seconds; the large one gets a pyramid)")
    engine.dispose()
    print(f"GraphQL and GraphiQL: http://{settings.host}:{settings.port}/graphql")
    if settings.workers > 1:
        uvicorn.run("omegraph.app:app_from_env", factory=True, host=settings.host,
                    port=settings.port, workers=settings.workers,
                    log_config=log_config(settings.log_level))
    else:
        uvicorn.run(create_app(settings), host=settings.host, port=settings.port,
                    log_config=log_config(settings.log_level))
    return 0
