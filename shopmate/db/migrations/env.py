"""Alembic environment: migrates the database named by DATABASE_URL."""

from __future__ import annotations

from alembic import context

from shopmate.db.models import Base
from shopmate.db.session import create_db_engine
from shopmate.settings import get_settings


def database_url() -> str:
    # Tests pass a URL through `alembic.command.upgrade(config, ...)` attributes.
    return context.config.attributes.get("database_url") or get_settings().database_url


def run_migrations_offline() -> None:
    context.configure(
        url=database_url(),
        target_metadata=Base.metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = create_db_engine(database_url())
    with engine.connect() as connection:
        # Batch mode lets ALTER TABLE work on SQLite (it copies the table).
        context.configure(
            connection=connection, target_metadata=Base.metadata, render_as_batch=True
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
