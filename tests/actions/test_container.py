"""The composition root builds every action the domain names, once, over shared services."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from actions.container import Container
from actions.server import action_executor
from shopmate.settings import Settings, get_settings


def custom_actions(domain: dict[str, Any]) -> set[str]:
    names = [a if isinstance(a, str) else next(iter(a)) for a in domain["actions"]]
    return {name for name in names if not name.startswith("utter_")}


def container(tmp_path: Path) -> Container:
    return Container(
        Settings(database_url=f"sqlite:///{tmp_path / 'shop.db'}", customer_token_secret="c" * 40)
    )


def test_every_custom_action_and_form_validation_is_registered_once(
    tmp_path: Path, domain: dict[str, Any]
) -> None:
    root = container(tmp_path)
    names = [action.name() for action in root.actions()]
    assert len(names) == len(set(names)), "an action is built twice"
    assert set(names) == custom_actions(domain)
    assert set(action_executor(root).actions) == custom_actions(domain)


def test_building_the_actions_loads_no_service(tmp_path: Path) -> None:
    root = container(tmp_path)
    root.actions()
    lazies = (root.database, root.orders, root.product_search, root.recommender, root.generator)
    assert not any(service.built for service in lazies)


def test_one_database_serves_every_service(tmp_path: Path) -> None:
    root = container(tmp_path)
    database = root.database.get()
    assert root.orders.get().database is database
    assert root.catalog.get().database is database
    assert root.carts.get().database is database
    assert root.guest_guard.get().database is database


def test_retrieval_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KB_RETRIEVAL", "hybrid")
    monkeypatch.setenv("KB_MIN_CONFIDENCE", "0.7")
    kb = Container(get_settings()).knowledge_base
    assert (kb.retrieval, kb.min_confidence) == ("hybrid", 0.7)
    monkeypatch.setenv("KB_RETRIEVAL", "fuzzy")
    with pytest.raises(ValueError, match="unknown retrieval mode"):
        Container(get_settings())
