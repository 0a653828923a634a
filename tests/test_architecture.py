"""The layout's rules, read from the code (docs/architecture.md says why)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from scripts.architecture import DOC, with_map
from tests.conftest import PROJECT_ROOT

ACTIONS = PROJECT_ROOT / "actions"
# Everything in actions/ that is not a feature module: the root, the server, support.
NOT_FEATURES = {"__init__", "container", "server"}
ENV_READ = re.compile(r"os\.environ(?!\.setdefault)|os\.getenv|getenv\(")


def sources(*folders: str) -> list[Path]:
    return [
        path
        for folder in folders
        for path in sorted((PROJECT_ROOT / folder).rglob("*.py"))
        if "migrations" not in path.parts and "node_modules" not in path.parts
    ]


def imports_of(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_the_module_map_in_the_docs_matches_the_code() -> None:
    document = DOC.read_text(encoding="utf-8")
    assert document == with_map(document), "run python -m scripts.architecture --write"


def test_no_feature_module_of_the_actions_imports_another() -> None:
    features = {p.stem for p in ACTIONS.glob("*.py")} - NOT_FEATURES
    for name in sorted(features):
        modules = imports_of(ACTIONS / f"{name}.py")
        imported = {i.split(".")[1] for i in modules if i.startswith("actions.")}
        assert not imported & features, f"actions/{name}.py imports {imported & features}"


def test_support_and_the_core_import_no_feature_module() -> None:
    features = {f"actions.{p.stem}" for p in ACTIONS.glob("*.py")} - {
        f"actions.{n}" for n in NOT_FEATURES
    }
    for path in sources("actions/support", "shopmate"):
        assert not imports_of(path) & features, path


def test_the_core_imports_no_rasa_and_no_adapter() -> None:
    for path in sources("shopmate"):
        for name in imports_of(path):
            top = name.split(".")[0]
            assert top not in ("rasa", "rasa_sdk", "sanic", "actions", "addons"), (path, name)


def test_nothing_outside_the_tests_edits_sys_path() -> None:
    for path in sources("actions", "shopmate", "addons", "web", "scripts"):
        assert "sys.path" not in path.read_text(encoding="utf-8"), path


def test_one_module_per_runtime_reads_the_environment() -> None:
    readers = {
        str(path.relative_to(PROJECT_ROOT))
        for path in sources("actions", "shopmate", "addons", "web")
        if ENV_READ.search(path.read_text(encoding="utf-8"))
    }
    # The action server's runtime, Rasa's, and the demo page's own small server.
    assert readers == {"shopmate/settings.py", "addons/settings.py", "web/server.py"}


def test_no_module_is_over_700_lines() -> None:
    for path in sources("actions", "shopmate", "addons", "web", "scripts"):
        lines = path.read_text(encoding="utf-8").count("\n")
        assert lines <= 700, f"{path.relative_to(PROJECT_ROOT)}: {lines} lines"
