#!/usr/bin/env python3
"""Inkscape's entry point for Extensions → Sketch → Refine sketch…: ``clipsketch_sketch.py``'s extension with the
``refine`` action."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # its sibling, wherever Inkscape runs it from

from clipsketch_sketch import Sketch  # noqa: E402


class Refine(Sketch):
    """Extensions → Sketch → Refine sketch…: one layer that starts from the selected paths (kept fixed when
    asked) and adds strokes up to the total."""

    def add_arguments(self, pars):
        super().add_arguments(pars)
        pars.set_defaults(action="refine", iterations=0, seeds=1)  # as its .inx says


if __name__ == "__main__":
    Refine().run()
