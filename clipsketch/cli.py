"""The ``clipsketch`` command line: argument parsing over one sketching layer (:mod:`clipsketch.session`, a
backend in this process or on a server) and one writer (:mod:`clipsketch.outputs`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path, PurePosixPath

from clipsketch.arguments import (
    add_engine_options,
    add_server_options,
    add_sketch_options,
    local_backend,
    read_token,
    sketch_options,
)
from clipsketch import __version__


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="clipsketch", description="Turn photos into abstract line sketches.")
    parser.add_argument("--version", action="version", version=f"clipsketch {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    _add_sketch_parser(commands)
    from clipsketch.batch import command as batch_command
    from clipsketch import serving

    from clipsketch.web import command as web_command

    batch_command.add_parser(commands)
    serving.add_parsers(commands)
    web_command.add_parser(commands)
    _add_inkscape_parser(commands)
    render = commands.add_parser("render", help="draw an SVG sketch with the differentiable rasterizer (PNG)")
    render.add_argument("svg", type=Path, help="SVG sketch (clipsketch's own, or any SVG with stroked paths)")
    render.add_argument("-o", "--out", type=Path, help="PNG to write (default: beside the SVG)")
    render.add_argument("--scale", type=float, default=1.0, help="pixels per SVG user unit (default 1)")
    render.set_defaults(run=run_render)

    args = parser.parse_args(argv)
    from clipsketch.client import ServerError
    from clipsketch.session import Fatal, Refused, Retry

    try:
        return args.run(args)
    except (OSError, ValueError, RuntimeError) as error:  # WeightsUnavailable and MaskUnavailable among them
        print(f"clipsketch {args.command}: {error}", file=sys.stderr)  # a clear message, no traceback
        return 2
    except (Refused, Retry, Fatal) as error:
        print(f"clipsketch {args.command}: {'server: ' if getattr(args, 'server', None) else ''}{error}",
              file=sys.stderr)
        return 2
    except ServerError as error:
        print(f"clipsketch {args.command}: server: {error} ({error.code.name})", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"clipsketch {args.command}: interrupted", file=sys.stderr)
        return 130


def _add_sketch_parser(commands) -> None:
    sketch = commands.add_parser("sketch", help="sketch a photo: one SVG and PNG per stroke count, and a contact sheet",
                                 description="Sketch a photo. Ctrl-C once finishes early and keeps the best "
                                             "strokes so far; twice aborts.")
    sketch.add_argument("photo", type=Path, help="photo file (PNG, JPEG, WebP, TIFF, …)")
    add_sketch_options(sketch)
    sketch.add_argument("--out", type=Path, default=Path("out"), help="output directory (default ./out)")
    sketch.add_argument("--start", type=Path, default=None, metavar="SKETCH.svg",
                        help="start from the stroked paths of this SVG (photo pixels); --strokes counts them too")
    sketch.add_argument("--lock-start", action="store_true", help="keep the --start strokes exactly where they are")
    add_engine_options(sketch)
    add_server_options(sketch, "host:port of a server; repeat to spread requests over several (round robin)")
    sketch.set_defaults(run=run_sketch)


def run_sketch(args: argparse.Namespace) -> int:
    from clipsketch.core.limits import Limits
    from clipsketch.core.photo import load_photo_within
    from clipsketch.core.svg import svg_to_start_strokes
    from clipsketch.outputs import write_sketches
    from clipsketch.session import Job, OnServer, run
    from clipsketch.terminal import Interrupts, ProgressBar

    if args.lock_start and not args.start:
        raise ValueError("--lock-start needs --start SKETCH.svg")
    start = svg_to_start_strokes(args.start.read_bytes(), locked=args.lock_start) if args.start else None
    options = sketch_options(args, start)
    photo = args.photo.read_bytes()
    image = load_photo_within(photo, Limits())  # before loading models or calling a server
    options.check_photo(image.size)
    args.out.mkdir(parents=True, exist_ok=True)
    backend = OnServer(args.server, read_token(args), args.tls_ca) if args.server else local_backend(args)
    job = Job()
    try:
        with ProgressBar() as progress, Interrupts(job):
            outcome = run(backend, photo, options, job, on_event=progress)
    finally:
        backend.close()
    if job.finishing.is_set():
        print(f"finished early: {len(outcome.sketches)} of {len(options.strokes)} stroke count(s) kept",
              file=sys.stderr)
    sketches = [outcome.sketches[count] for count in options.strokes if count in outcome.sketches]
    for relative in write_sketches(args.out, PurePosixPath(args.photo.stem), sketches, animate=args.animate,
                                   photo=image):
        print(f"wrote {args.out / relative}")
    return 0


def _add_inkscape_parser(commands) -> None:
    inkscape = commands.add_parser("inkscape", help="install the Inkscape extension, or zip it for any computer")
    inkscape.add_argument("action", choices=["install", "uninstall", "package"])
    inkscape.add_argument("--profile-dir", type=Path, default=None,
                          help="Inkscape's user data directory (default: what `inkscape --user-data-directory` "
                               "says, else the system's usual one)")
    inkscape.add_argument("--out", type=Path, default=Path("dist"),
                          help="package: the folder for clipsketch-inkscape-VERSION.zip (default: dist)")
    inkscape.set_defaults(run=run_inkscape)


def run_inkscape(args: argparse.Namespace) -> int:
    from clipsketch import inkscape

    try:
        if args.action == "package":
            archive = inkscape.package(args.out)
            print(f"wrote {archive} ({archive.stat().st_size / 2**20:.1f} MB): unzip it into the extensions folder "
                  "of any Inkscape profile, or install it with Inkscape's Extension Manager")
        elif args.action == "install":
            target, how = inkscape.install(args.profile_dir)
            print(f"installed the extension in {target} (profile: {how}); restart Inkscape, then use Extensions → "
                  "Sketch → Abstract sketch (CLIPasso)")
        else:
            target = inkscape.uninstall(args.profile_dir)
            print(f"removed {target}" if target else "the extension was not installed there")
    except inkscape.ProfileNotFound as error:
        raise ValueError(str(error)) from None
    return 0


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
