"""A freshly migrated order database per test, on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from alembic import command
from alembic.config import Config

from actions.services.db.session import Database
from tests.conftest import PROJECT_ROOT

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def migrate(url: str) -> None:
    config = Config(str(PROJECT_ROOT / "actions" / "services" / "db" / "alembic.ini"))
    config.attributes["database_url"] = url
    command.upgrade(config, "head")


def _postgres_database() -> Iterator[str]:
    try:
        psycopg.connect(POSTGRES_URL, connect_timeout=3).close()
    except psycopg.OperationalError as error:
        reason = f"PostgreSQL not reachable at {POSTGRES_URL}: {type(error).__name__}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} (required under CI)")
        pytest.skip(reason)
    name = f"shopmate_db_{secrets.token_hex(4)}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """An empty database migrated with the project's Alembic migrations."""
    if request.param == "sqlite":
        urls: Iterator[str] = iter([f"sqlite:///{tmp_path / 'shop.db'}"])
    else:
        urls = _postgres_database()
    url = next(urls)
    migrate(url)
    db = Database(url)
    try:
        yield db
    finally:
        db.dispose()
        next(urls, None)  # runs the PostgreSQL clean-up
