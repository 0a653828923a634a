"""The module map of docs/architecture.md, read from the code's imports.

Usage: .venv-actions/bin/python -m scripts.architecture [--write]

Prints a Mermaid graph of who imports whom: the action server's feature modules, its
support and composition root, the core packages of `shopmate/`, and the Rasa-side
`addons/`. `--write` puts it into docs/architecture.md between its markers; a test
(tests/test_architecture.py) fails when the picture there no longer matches the code.
"""

from __future__ import annotations

import argparse
import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "architecture.md"
BEGIN, END = "<!-- module map: begin -->", "<!-- module map: end -->"
SOURCES = ("actions", "shopmate", "addons", "web")
# shopmate/ modules drawn together: the building blocks under the services.
FOUNDATIONS = {"text", "numerals", "choices", "address", "followup"}


def python_files() -> Iterator[Path]:
    for source in SOURCES:
        for path in sorted((ROOT / source).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported(path: Path) -> Iterator[str]:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


def node_of(module: str) -> str | None:
    """The box a module is drawn in, or None for what the map leaves out."""
    parts = module.split(".")
    if parts[0] == "actions":
        if len(parts) == 1:
            return None
        return "actions.support" if parts[1] == "support" else f"actions.{parts[1]}"
    if parts[0] == "shopmate":
        if len(parts) == 1:
            return None
        if parts[1] in FOUNDATIONS:
            return "shopmate.text & choices"
        return f"shopmate.{parts[1]}"
    if parts[0] in ("addons", "web"):
        return parts[0]
    return None


def edges() -> set[tuple[str, str]]:
    found = set()
    for path in python_files():
        source = node_of(module_name(path))
        for target in (node_of(name) for name in imported(path)):
            if source and target and source != target:
                found.add((source, target))
    return found


def mermaid() -> str:
    graph = edges()
    nodes = sorted({n for edge in graph for n in edge})
    ids = {name: "n" + str(i) for i, name in enumerate(nodes)}
    lines = ["```mermaid", "flowchart TD"]
    groups = {
        "the Rasa adapter (actions/)": [n for n in nodes if n.startswith("actions.")],
        "the core (shopmate/)": [n for n in nodes if n.startswith("shopmate.")],
    }
    for title, members in groups.items():
        lines.append(f'  subgraph {title.split(" ")[1]}["{title}"]')
        lines += [f'    {ids[n]}["{n}"]' for n in members]
        lines.append("  end")
    lines += [f'  {ids[n]}["{n}"]' for n in nodes if not n.startswith(("actions.", "shopmate."))]
    lines += [f"  {ids[a]} --> {ids[b]}" for a, b in sorted(graph)]
    lines.append("```")
    return "\n".join(lines)


def with_map(document: str) -> str:
    head, rest = document.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{mermaid()}\n{END}{tail}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", action="store_true", help="update docs/architecture.md")
    args = parser.parse_args()
    if args.write:
        DOC.write_text(with_map(DOC.read_text(encoding="utf-8")), encoding="utf-8")
    else:
        print(mermaid())


if __name__ == "__main__":
    main()
