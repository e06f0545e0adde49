#!/usr/bin/env python3
"""Inkscape's entry point for Extensions → Sketch → Refine sketch…: the hand-over of ``clipsketch_sketch.py``
(standard library and inkex only), with the effect's ``refine`` action."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # its sibling, wherever Inkscape runs it from

from clipsketch_sketch import GUARD, Sketch, hand_over, run_here  # noqa: E402


class Refine(Sketch):
    """Extensions → Sketch → Refine sketch…: one layer that starts from the selected paths (kept fixed when
    asked) and adds strokes up to the total."""

    def add_arguments(self, pars):
        super().add_arguments(pars)
        pars.set_defaults(action="refine", iterations=0, seeds=1)  # as its .inx says


if __name__ == "__main__":
    if os.environ.get(GUARD):
        run_here(Refine)
    else:
        hand_over(__file__)
