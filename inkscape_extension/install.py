"""``clipsketch inkscape install|uninstall``: put the extension into the user's Inkscape profile.

Copies the ``.inx`` files and the entry scripts into ``<profile>/extensions/clipsketch-extension/`` and records this
environment's Python there, so that Inkscape's own Python can hand over to it. The folder's name is no Python
identifier on purpose: Inkscape puts ``<profile>/extensions`` on PYTHONPATH, where a folder named ``clipsketch``
would shadow the package (earlier versions installed there; install and uninstall remove that folder).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
FILES = ("clipsketch_sketch.inx", "clipsketch_sketch.py", "clipsketch_refine.inx", "clipsketch_refine.py")
FOLDER = "clipsketch-extension"
LEGACY_FOLDER = "clipsketch"


def default_profile_dir() -> Path:
    """Inkscape's user data directory: ``INKSCAPE_PROFILE_DIR``, what ``inkscape --user-data-directory`` says,
    or ``~/.config/inkscape``."""
    if os.environ.get("INKSCAPE_PROFILE_DIR"):
        return Path(os.environ["INKSCAPE_PROFILE_DIR"])
    if shutil.which("inkscape"):
        try:
            answer = subprocess.run(["inkscape", "--user-data-directory"], capture_output=True, text=True,
                                    timeout=60, check=False).stdout.strip().splitlines()
            if answer:
                return Path(answer[-1])
        except (OSError, subprocess.TimeoutExpired):
            pass
    config = Path(os.environ.get("XDG_CONFIG_HOME", Path.home() / ".config"))
    return config / "inkscape"


def install(profile_dir: Path | None = None) -> Path:
    extensions = (profile_dir or default_profile_dir()) / "extensions"
    _remove_legacy(extensions)
    target = extensions / FOLDER
    target.mkdir(parents=True, exist_ok=True)
    for name in FILES:
        shutil.copy2(HERE / name, target / name)
    for script in ("clipsketch_sketch.py", "clipsketch_refine.py"):
        (target / script).chmod(0o755)
    (target / "clipsketch_env.json").write_text(json.dumps({"python": sys.executable}, indent=1) + "\n")
    return target


def uninstall(profile_dir: Path | None = None) -> Path | None:
    extensions = (profile_dir or default_profile_dir()) / "extensions"
    legacy = _remove_legacy(extensions)
    target = extensions / FOLDER
    if not target.exists():
        return legacy
    shutil.rmtree(target)
    return target


def _remove_legacy(extensions: Path) -> Path | None:
    """Remove an earlier version's ``extensions/clipsketch`` folder (only if it holds just our files)."""
    legacy = extensions / LEGACY_FOLDER
    ours = set(FILES) | {"clipsketch_env.json", "__pycache__"}
    if legacy.is_dir() and (legacy / FILES[0]).exists() and {p.name for p in legacy.iterdir()} <= ours:
        shutil.rmtree(legacy)
        return legacy
    return None
