"""clipsketch: photo in, abstract line sketch of N Bézier strokes out (CLIPasso).

The engine lives in :mod:`clipsketch.core` (folder ``core/``); the command line in :mod:`clipsketch.cli`.
"""

import importlib.metadata

__version__ = importlib.metadata.version("clipsketch")
"""pyproject.toml's, as installed (``clipsketch.server`` reads it there too, not from here)."""
