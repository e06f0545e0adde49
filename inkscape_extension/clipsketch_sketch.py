#!/usr/bin/env python3
"""Inkscape's entry point for Extensions → Sketch → Abstract sketch (CLIPasso) (and, through
``clipsketch_refine.py``, Refine sketch).

It runs in Inkscape's own Python, on every system the same way: inkex, the standard library and what this folder
bundles (``vendor/``: a pure-Python gRPC client and protobuf). It declares the dialog's parameters;
``clipsketch_inkscape.effect`` does the work.
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
# this folder's packages first, so that libraries of the system's (an older protobuf) cannot shadow them
sys.path[:0] = [HERE, os.path.join(HERE, "vendor")]

import warnings  # noqa: E402

import inkex  # noqa: E402

# inkex turns every Python warning on (for extension authors); Inkscape shows anything on stderr as an error
# dialog, which in a batch run waits forever. A warning is never the illustrator's to act on: none is shown.
warnings.simplefilter("ignore")


class Sketch(inkex.EffectExtension):
    """Extensions → Sketch → Abstract sketch (CLIPasso)…: one layer of strokes per stroke count; and
    Extensions → Sketch → Refine sketch…: one layer that starts from the selected paths."""

    def add_arguments(self, pars):
        pars.add_argument("--action", default="sketch", help="sketch (Abstract sketch) or refine (Refine sketch)")
        pars.add_argument("--tab", default="options")
        pars.add_argument("--total_strokes", type=int, default=16, help="Refine: strokes in all, the selected ones too")
        pars.add_argument("--keep_fixed", type=inkex.Boolean, default=True, help="Refine: keep my strokes fixed")
        # the dialog's defaults are the .inx files'; left out, the server's own (GetInfo) apply
        pars.add_argument("--strokes", default="", help="stroke counts, e.g. 4,8,16,32 (none: the server's)")
        pars.add_argument("--schedule", default="", help="fast or reference (CLIPasso's own); none: the server's")
        pars.add_argument("--iterations", type=int, default=0, help="0: the schedule's")
        pars.add_argument("--seeds", type=int, default=0, help="0: the schedule's")
        pars.add_argument("--mask", type=inkex.Boolean, default=True)
        pars.add_argument("--stroke_width", type=float, default=2.0, help="stroke width in px")
        pars.add_argument("--stroke_color", type=inkex.Color, default=inkex.Color("black"))
        pars.add_argument("--line", default="", help="uniform, tapered or weighted (none: the server's, uniform)")
        pars.add_argument("--one_line", type=inkex.Boolean, default=False, help="one continuous line")
        pars.add_argument("--server", default="127.0.0.1:50051")
        pars.add_argument("--token_file", default="", help="file holding the server's token (remote servers)")
        pars.add_argument("--start_server", type=inkex.Boolean, default=True)
        pars.add_argument("--show_progress", type=inkex.Boolean, default=True)

    def effect(self):
        from clipsketch_inkscape.effect import sketch_selection

        sketch_selection(self)


if __name__ == "__main__":
    Sketch().run()
