#!/usr/bin/env python3
"""Inkscape's entry point for Extensions → Sketch → Abstract sketch (CLIPasso).

Inkscape runs this with its own Python, which has inkex but not clipsketch (PyTorch, gRPC). So this script needs
only the standard library and inkex: it declares the parameters, and hands over, by re-executing itself, to the
Python of the clipsketch environment recorded at install time (``clipsketch_env.json`` beside it), where
``Sketch.effect`` runs :func:`clipsketch.inkscape_extension.effect.sketch_selection`. An environment variable
guards against a loop.
"""

import json
import os
import sys

try:
    import inkex
except ImportError:  # the clipsketch environment may lack inkex: use the one Inkscape offered at hand-over
    if not os.environ.get("CLIPSKETCH_INKEX_PATH"):
        raise
    sys.path.append(os.environ["CLIPSKETCH_INKEX_PATH"])
    import inkex

GUARD = "CLIPSKETCH_HANDED_OVER"
INKEX_PATH = "CLIPSKETCH_INKEX_PATH"
HERE = os.path.dirname(os.path.abspath(__file__))


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
        pars.add_argument("--server", default="127.0.0.1:50051")
        pars.add_argument("--token_file", default="", help="file holding the server's token (remote servers)")
        pars.add_argument("--start_server", type=inkex.Boolean, default=True)
        pars.add_argument("--show_progress", type=inkex.Boolean, default=True)

    def effect(self):
        from clipsketch.inkscape_extension.effect import sketch_selection

        sketch_selection(self)


def fail(message):
    sys.stderr.write(message + "\n")  # Inkscape shows this in a dialog
    sys.exit(1)  # Inkscape 1.x reads no exit status, but a failure is one


def recorded_interpreter():
    try:
        with open(os.path.join(HERE, "clipsketch_env.json"), encoding="utf-8") as handle:
            return json.load(handle)["python"]
    except (OSError, ValueError, KeyError):
        return None


def hand_over(script=__file__):
    """Re-execute ``script`` (this entry script, or another beside it) with the clipsketch environment's Python."""
    interpreter = recorded_interpreter()
    if not interpreter:
        fail("clipsketch is not set up for this extension: run `clipsketch inkscape install` in the clipsketch "
             "environment.")
    if not os.path.isfile(interpreter):
        fail("The clipsketch environment is gone (" + interpreter + " does not exist). Reinstall clipsketch, then "
             "run `clipsketch inkscape install` again.")
    environment = dict(os.environ)
    environment[GUARD] = "1"
    # Inkscape's own inkex, offered to the clipsketch environment in case it has none
    environment[INKEX_PATH] = os.path.dirname(os.path.dirname(os.path.abspath(inkex.__file__)))
    os.execve(interpreter, [interpreter, os.path.abspath(script)] + sys.argv[1:], environment)


def run_here(extension=None):
    try:
        import clipsketch.inkscape_extension.effect  # noqa: F401  (fails here, with a message, not later)
    except ImportError as error:
        fail("The clipsketch environment (" + sys.executable + ") cannot load the extension: " + str(error) +
             ". Reinstall clipsketch there.")
    (extension or Sketch)().run()


if __name__ == "__main__":
    if os.environ.get(GUARD):
        run_here()  # already in the clipsketch environment (or handed over once: never again)
    else:
        hand_over()
