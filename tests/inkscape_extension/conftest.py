"""The extension as it ships, run as Inkscape runs it: the zip ``clipsketch inkscape package`` writes, unpacked
into a fresh profile, its scripts run by Inkscape's own Python (Debian's ``/usr/bin/python3``, which has inkex
and neither grpcio, torch, numpy nor clipsketch)."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from clipsketch import inkscape

from tests.conftest import INKSCAPE_INKEX, INKSCAPE_PYTHON

EXTENSION_SOURCE = Path(__file__).resolve().parents[2] / "inkscape_extension"
sys.path.insert(0, str(EXTENSION_SOURCE))  # the extension's inkex-only modules (placement, pictures) for unit tests


@pytest.fixture(scope="session")
def extension_zip(tmp_path_factory) -> Path:
    return inkscape.package(tmp_path_factory.mktemp("dist"))


@pytest.fixture(scope="session")
def extension_dir(extension_zip, tmp_path_factory) -> Path:
    """The zip unpacked into a fresh profile's ``extensions/`` (no server command recorded: PATH is used)."""
    extensions = tmp_path_factory.mktemp("profile") / "extensions"
    with zipfile.ZipFile(extension_zip) as archive:
        archive.extractall(extensions)
    return extensions / inkscape.FOLDER


def inkscape_environment(**extra: str) -> dict[str, str]:
    """What Inkscape gives its extensions: its inkex on PYTHONPATH; our virtual environment's bin on PATH, so
    that the extension finds `clipsketch` there as it would on a user's PATH."""
    environment = dict(os.environ, PYTHONPATH=INKSCAPE_INKEX)
    environment["PATH"] = f"{Path(sys.executable).parent}:/usr/bin:/bin"
    environment.pop("VIRTUAL_ENV", None)
    environment.update(extra)
    return environment


def run_extension(folder: Path, arguments: list[str], script: str = "clipsketch_sketch.py", timeout: float = 300,
                  environment: dict[str, str] | None = None, cwd: Path | None = None, python_prelude: str = ""):
    """Run an entry script of the extension in ``folder`` with Inkscape's Python; the finished process.
    ``python_prelude``: code run first in that process (to simulate what tests must not do for real)."""
    command = [INKSCAPE_PYTHON, str(folder / script), *arguments]
    if python_prelude:
        runner = f"{python_prelude}\nimport runpy, sys\nsys.argv = {command[1:]!r}\nrunpy.run_path(sys.argv[0], run_name='__main__')"
        command = [INKSCAPE_PYTHON, "-c", runner]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
                          env=environment or inkscape_environment(), cwd=cwd or folder.parent)


def extension_python(folder: Path, code: str, timeout: float = 120, environment: dict[str, str] | None = None,
                     display: bool = False):
    """Run ``code`` in Inkscape's Python with the extension's folders first on sys.path, as its entry scripts put
    them (under xvfb-run when ``display``); the finished process."""
    prelude = f"import sys\nsys.path[:0] = [{str(folder)!r}, {str(folder / 'vendor')!r}]\n"
    command = [INKSCAPE_PYTHON, "-c", prelude + code]
    if display:
        command = ["xvfb-run", "-a", *command]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
                          env=environment or inkscape_environment())
