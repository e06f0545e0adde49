"""Per-user folders written as portable patterns (``~`` the home folder, ``$NAME`` an environment variable, ``/``
between parts), as the per-system tables of the extension and of ``clipsketch inkscape`` give them.

Standard library only: both the extension (in Inkscape's Python) and clipsketch's installer import it.
"""

from __future__ import annotations

from pathlib import Path

# A variable's value where the environment has none: what the system would set.
VARIABLE_DEFAULTS = {"XDG_CONFIG_HOME": "~/.config", "XDG_CACHE_HOME": "~/.cache", "APPDATA": "~/AppData/Roaming",
                     "LOCALAPPDATA": "~/AppData/Local", "ProgramFiles": "C:/Program Files",
                     "ProgramFiles(x86)": "C:/Program Files (x86)"}


def expand(pattern: str, environ: dict[str, str], home: Path) -> Path:
    """``pattern`` with ``~`` and ``$NAME`` (from ``environ`` in any letter case, as Windows spells its variables;
    else :data:`VARIABLE_DEFAULTS`) replaced."""
    parts: list[str] = []
    for part in pattern.split("/"):
        if not part and not parts:  # an absolute pattern
            parts.append("/")
        elif part == "~":
            parts.append(str(home))
        elif part.startswith("$"):
            name = part[1:]
            value = next((v for k, v in environ.items() if k.upper() == name.upper() and v), None)
            value = value or VARIABLE_DEFAULTS.get(name, "")
            parts.append(str(expand(value, environ, home)) if value.startswith("~") else value)
        else:
            parts.append(part)
    return Path(*parts)
