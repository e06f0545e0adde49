"""The engine's package: no import up into the package root."""

from __future__ import annotations

import ast
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]


def test_the_engine_and_the_server_import_nothing_from_the_package_root():
    """``core/`` and ``server/`` sit below ``clipsketch/`` (the CLI and client): they never import its
    ``__init__`` for a name (the version is the installed distribution's)."""
    upward = []
    for path in sorted([*(REPOSITORY / "core").glob("*.py"), *(REPOSITORY / "server").glob("*.py")]):
        for node in ast.walk(ast.parse(path.read_text())):
            root_from = isinstance(node, ast.ImportFrom) and node.module == "clipsketch"
            root = isinstance(node, ast.Import) and any(alias.name == "clipsketch" for alias in node.names)
            if root_from or root:
                upward.append(f"{path.relative_to(REPOSITORY)}:{node.lineno}")
    assert upward == []
