"""The engine's package: its public API, loaded on first use, and no import up into the package root."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import clipsketch.core

REPOSITORY = Path(__file__).resolve().parents[2]


def test_every_public_name_of_the_engine_resolves_from_the_package():
    from clipsketch.core.engine import Engine
    from clipsketch.core.svg import svg_to_start_strokes

    assert clipsketch.core.Engine is Engine and clipsketch.core.svg_to_start_strokes is svg_to_start_strokes
    assert all(getattr(clipsketch.core, name) is not None for name in clipsketch.core.__all__)
    assert set(clipsketch.core.__all__) <= set(dir(clipsketch.core))


def test_naming_the_public_api_imports_no_torch():
    code = ("import sys, clipsketch.core; names = clipsketch.core.__all__; "
            "from clipsketch.core import SketchOptions, Limits; print('torch' in sys.modules)")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "False"


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
