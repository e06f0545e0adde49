"""The ``clipsketch`` command line: a thin layer over :mod:`clipsketch.core`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from clipsketch import __version__


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="clipsketch", description="Turn photos into abstract line sketches.")
    parser.add_argument("--version", action="version", version=f"clipsketch {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    render = commands.add_parser("render", help="draw an SVG sketch with the differentiable rasterizer (PNG)")
    render.add_argument("svg", type=Path, help="SVG sketch (clipsketch's own, or any SVG with stroked paths)")
    render.add_argument("-o", "--out", type=Path, help="PNG to write (default: beside the SVG)")
    render.add_argument("--scale", type=float, default=1.0, help="pixels per SVG user unit (default 1)")
    render.set_defaults(run=run_render)

    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except (OSError, ValueError) as error:  # bad input: a clear message, no traceback
        print(f"clipsketch {args.command}: {error}", file=sys.stderr)
        return 2


def run_render(args: argparse.Namespace) -> int:
    from clipsketch.core.render import render_in_frame, save_png
    from clipsketch.core.svg import svg_to_strokes

    sketch = svg_to_strokes(args.svg.read_bytes())
    out = args.out or args.svg.with_suffix(".png")
    save_png(render_in_frame(sketch.strokes, sketch.frame, args.scale).rgb[0], out)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
