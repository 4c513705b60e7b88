"""Persistence: SQLAlchemy models of the OME model and accounts, migrations, the repository."""
