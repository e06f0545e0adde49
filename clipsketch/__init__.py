"""clipsketch: photo in, abstract line sketch of N Bézier strokes out (CLIPasso).

The engine lives in :mod:`clipsketch.core` (folder ``core/``); the command line in :mod:`clipsketch.cli`.
"""

__version__ = "0.1.0"
