"""Alembic environment: runs against the engine handed over by store.migrate."""

from alembic import context

from store.models import Base

config = context.config
engine = config.attributes["engine"]

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=True,  # SQLite needs table rebuilds for ALTERs
        compare_type=True,
    )
    context.run_migrations()
