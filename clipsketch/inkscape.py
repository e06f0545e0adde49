"""``clipsketch inkscape install|uninstall|package``: the Inkscape extension, built into a profile or a zip.

The extension is one folder, ``clipsketch-extension/``, the same for every system: the ``.inx`` files, two small
entry scripts, the ``clipsketch_inkscape`` package, the pure-Python libraries it bundles (``vendor/``, pinned in
``vendor.txt``, each with its licence), LICENSE and NOTICE. Two files are copied in when it is built, so that each
has one source: ``clipsketch/addresses.py`` and the protobuf code generated from ``proto/sketch.proto``. It runs in
Inkscape's own Python and needs nothing installed beside it; ``install`` also records the ``clipsketch`` command
of this environment (``clipsketch_server.json``) so that the extension can start a local server.

The folder's name is no Python identifier on purpose: Inkscape puts ``<profile>/extensions`` on PYTHONPATH, where
a folder named ``clipsketch`` would shadow the package (earlier versions installed there; install and uninstall
remove that folder).
"""

from __future__ import annotations

import importlib.util
import json
import os
import platform
import shutil
import subprocess
import zipfile
from pathlib import Path

import clipsketch
import clipsketch.inkscape_extension
from clipsketch import __version__
from clipsketch.inkscape_extension.clipsketch_inkscape.folders import expand  # stdlib only, shared

FOLDER = "clipsketch-extension"
LEGACY_FOLDER = "clipsketch"
SERVER_RECORD = "clipsketch_server.json"
SOURCE = Path(clipsketch.inkscape_extension.__file__).resolve().parent
PACKAGE = Path(clipsketch.__file__).resolve().parent
COPIED_IN = {"clipsketch_inkscape/addresses.py": "clipsketch.addresses",
             "clipsketch_inkscape/sketch_pb2.py": "clipsketch.proto.sketch_pb2"}  # the modules' files, found, not run
LEGAL = ("LICENSE", "NOTICE")

# Where Inkscape keeps a user's profile when it cannot be asked (``~`` is the home folder, ``$NAME`` a variable),
# most specific first; the last entry of each system is its default.
PROFILE_DIRS = {
    "Windows": [("Inkscape", "$APPDATA/inkscape")],
    "Darwin": [("Inkscape.app", "~/Library/Application Support/org.inkscape.Inkscape/config/inkscape")],
    "Linux": [("the Flatpak", "~/.var/app/org.inkscape.Inkscape/config/inkscape"),
              ("the Snap", "~/snap/inkscape/current/.config/inkscape"),
              ("Inkscape", "$XDG_CONFIG_HOME/inkscape")],
}
# Where the Inkscape binary is when it is not on PATH.
INKSCAPE_BINARIES = {
    "Windows": ["$ProgramFiles/Inkscape/bin/inkscape.exe", "$ProgramFiles(x86)/Inkscape/bin/inkscape.exe"],
    "Darwin": ["/Applications/Inkscape.app/Contents/MacOS/inkscape",
               "~/Applications/Inkscape.app/Contents/MacOS/inkscape"],
    "Linux": [],
}


class ProfileNotFound(Exception):
    """No Inkscape profile folder could be chosen; the message says what to pass instead."""


def find_profile(system: str | None = None, environ: dict[str, str] | None = None, home: Path | None = None,
                 ask=None) -> tuple[Path, str]:
    """Inkscape's user data directory and how it was found: ``INKSCAPE_PROFILE_DIR``, what the Inkscape binary
    says (``inkscape --user-data-directory``: on PATH, or where the system installs it), else the first folder of
    :data:`PROFILE_DIRS` that exists, else the system's default. ``ask(binary)`` runs the binary (tests)."""
    system = system or platform.system()
    environ = dict(os.environ) if environ is None else environ
    home = home or Path.home()
    if environ.get("INKSCAPE_PROFILE_DIR"):
        return Path(environ["INKSCAPE_PROFILE_DIR"]), "INKSCAPE_PROFILE_DIR"
    ask = ask or _ask_inkscape
    binaries = [shutil.which("inkscape", path=environ.get("PATH"))] if environ.get("PATH") is not None else []
    binaries += [str(expand(pattern, environ, home)) for pattern in INKSCAPE_BINARIES.get(system, [])]
    for binary in filter(None, binaries):
        if Path(binary).is_file():
            answer = ask(binary)
            if answer:
                return Path(answer), f"asked {binary}"
    candidates = PROFILE_DIRS.get(system)
    if not candidates:
        raise ProfileNotFound(f"no Inkscape profile folder is known for {system}: give it with --profile-dir")
    for label, pattern in candidates:
        path = expand(pattern, environ, home)
        if path.is_dir():
            return path, f"the profile of {label}"
    label, pattern = candidates[-1]
    return expand(pattern, environ, home), f"the default profile of {label} on {system}"


def _ask_inkscape(binary: str) -> str | None:
    try:
        answer = subprocess.run([binary, "--user-data-directory"], capture_output=True, text=True, timeout=60,
                                check=False, stdin=subprocess.DEVNULL).stdout.strip().splitlines()
    except (OSError, subprocess.TimeoutExpired):
        return None
    return answer[-1] if answer else None


def extension_files() -> dict[str, Path]:
    """Every file of the built extension folder (its relative path, ``/``-separated) and where it comes from."""
    files = {}
    for path in sorted(SOURCE.rglob("*")):
        relative = path.relative_to(SOURCE).as_posix()
        if path.is_file() and "__pycache__" not in path.parts and relative != "__init__.py":
            files[relative] = path
    for relative, module in COPIED_IN.items():
        files[relative] = Path(importlib.util.find_spec(module).origin)
    for name in LEGAL:
        files[name] = _legal_file(name)
    return files


def _legal_file(name: str) -> Path:
    """LICENSE or NOTICE: beside the source tree's packages, or in the installed distribution's metadata."""
    beside = PACKAGE.parent / name
    if beside.is_file():
        return beside
    from importlib.metadata import distribution

    for file in distribution("clipsketch").files or []:
        if file.name == name:
            return Path(file.locate())
    raise FileNotFoundError(f"{name} is missing from this clipsketch installation")


def build(target: Path) -> Path:
    """Write the extension folder at ``target`` (replacing an earlier one)."""
    if target.exists():
        shutil.rmtree(target)
    for relative, source in extension_files().items():
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, destination)
    for script in ("clipsketch_sketch.py", "clipsketch_refine.py"):
        (target / script).chmod(0o755)
    return target


def install(profile_dir: Path | None = None) -> tuple[Path, str]:
    """Build the extension into ``<profile>/extensions/`` and record this environment's ``clipsketch`` command;
    the folder and how the profile was found."""
    from clipsketch.server.service import serve_command

    profile, how = (profile_dir, "--profile-dir") if profile_dir else find_profile()
    extensions = profile / "extensions"
    _remove_legacy(extensions)
    target = build(extensions / FOLDER)
    (target / SERVER_RECORD).write_text(json.dumps({"command": serve_command()}, indent=1) + "\n")
    return target, how


def uninstall(profile_dir: Path | None = None) -> Path | None:
    extensions = (profile_dir or find_profile()[0]) / "extensions"
    legacy = _remove_legacy(extensions)
    target = extensions / FOLDER
    if not target.exists():
        return legacy
    shutil.rmtree(target)
    return target


def package(out: Path) -> Path:
    """``out/clipsketch-inkscape-VERSION.zip``: the extension folder, to unzip into any profile's ``extensions/``
    (what Inkscape's Extension Manager and its gallery take)."""
    out.mkdir(parents=True, exist_ok=True)
    archive = out / f"clipsketch-inkscape-{__version__}.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as bundle:
        for relative, source in extension_files().items():
            info = zipfile.ZipInfo(f"{FOLDER}/{relative}", date_time=(2020, 1, 1, 0, 0, 0))  # reproducible
            info.external_attr = (0o755 if relative.endswith(".py") and "/" not in relative else 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            bundle.writestr(info, source.read_bytes())
    return archive


def _remove_legacy(extensions: Path) -> Path | None:
    """Remove an earlier version's ``extensions/clipsketch`` folder (only if it holds just its files)."""
    legacy = extensions / LEGACY_FOLDER
    ours = {"clipsketch_sketch.inx", "clipsketch_sketch.py", "clipsketch_refine.inx", "clipsketch_refine.py",
            "clipsketch_env.json", "__pycache__"}
    if legacy.is_dir() and (legacy / "clipsketch_sketch.inx").exists() and {p.name for p in legacy.iterdir()} <= ours:
        shutil.rmtree(legacy)
        return legacy
    return None
