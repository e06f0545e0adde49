"""The command line's side of the contract: the sketch options as flags, parsed back into one
:class:`~clipsketch.core.options.SketchOptions`, and the backend the flags name (the engine in this process or a
server). ``sketch`` and ``batch`` share them."""

from __future__ import annotations

import argparse

from clipsketch.core.options import (
    BACKBONES,
    DEFAULT_COLOR,
    DEFAULT_STROKES,
    DEVICES,
    INIT_MODES,
    LINE_LOOKS,
    PRECISIONS,
    SketchOptions,
    StartStrokes,
    parse_color,
)
from clipsketch.core.schedules import DEFAULT_SCHEDULE, SCHEDULES


def add_sketch_options(parser: argparse.ArgumentParser) -> None:
    """What to draw: the flags of :class:`SketchOptions`."""
    parser.add_argument("--strokes", type=int, nargs="+", default=list(DEFAULT_STROKES),
                        help=f"stroke counts, e.g. 4 8 16 32 (default {' '.join(map(str, DEFAULT_STROKES))})")
    parser.add_argument("--schedule", default=DEFAULT_SCHEDULE, choices=list(SCHEDULES),
                        help=f"fast: the default, converged in a fraction of the time; reference: CLIPasso's own "
                             f"(2000 steps at a constant learning rate, 3 seeds) (default {DEFAULT_SCHEDULE})")
    parser.add_argument("--iterations", type=int, default=None,
                        help="optimisation steps per stroke count (default: the schedule's, "
                             + ", ".join(f"{s.name} {s.iterations}" + (f" ({s.on_cuda.iterations} on a CUDA GPU)"
                                         if s.on_cuda else "") for s in SCHEDULES.values()) + ")")
    parser.add_argument("--seeds", type=int, default=None,
                        help="random starts per stroke count; the best wins (default: the schedule's, "
                             + ", ".join(f"{s.name} {s.seeds}" for s in SCHEDULES.values()) + ")")
    parser.add_argument("--seed", type=int, default=0, help="first seed")
    parser.add_argument("--mask", action=argparse.BooleanOptionalAction, default=None,
                        help="remove the background with U²-Net (default: when installed)")
    parser.add_argument("--width", type=float, default=None,
                        help="stroke width in photo pixels (default: 3/224 of the framed photo's side)")
    parser.add_argument("--color", default=None, help="stroke color (CSS color, default black)")
    parser.add_argument("--init", default="auto", choices=["auto", *INIT_MODES],
                        help="where strokes start: reference (CLIPasso's XDoG map: contours and dark regions), "
                             "contour (thin XDoG contours), hed (the long contours of HED, a network trained on the "
                             "lines people draw; offline, its line drawing is the target too); auto: reference with "
                             "CLIP, hed offline (contour where HED's weights cannot be had)")
    parser.add_argument("--line", default="uniform", choices=list(LINE_LOOKS),
                        help="uniform: one width end to end (a marker); tapered: thin ends, full middle (a pen); "
                             "weighted: tapered, each stroke's width optimised too (heavier where it matters). "
                             "Tapered lines are written as filled outlines (default uniform)")
    parser.add_argument("--one-line", action="store_true",
                        help="draw the sketch as one continuous line of --strokes cubic segments")
    parser.add_argument("--reseed", action=argparse.BooleanOptionalAction, default=None,
                        help="place strokes that collapse to dots (or hide under others) afresh during the run "
                             "(default: on with the fast schedule, off with the reference)")
    parser.add_argument("--animate", action="store_true",
                        help="also write NAME-N-strokes-animated.svg: the drawing draws itself in a browser")


def sketch_options(args: argparse.Namespace, start: StartStrokes | None = None) -> SketchOptions:
    """The :class:`SketchOptions` of the parsed flags, checked against a server's limits (a job that runs here also
    runs there)."""
    from clipsketch.core.limits import Limits

    options = SketchOptions(strokes=tuple(args.strokes), schedule=args.schedule, iterations=args.iterations,
                            seeds=args.seeds, seed=args.seed, mask=args.mask, width=args.width,
                            color=parse_color(args.color) if args.color else DEFAULT_COLOR, start=start,
                            init=args.init, line=args.line, one_line=args.one_line, reseed=args.reseed)
    Limits().check(options.strokes, options.iterations, options.seeds)  # None: the schedule's
    return options


def add_engine_options(parser: argparse.ArgumentParser) -> None:
    local = parser.add_argument_group("in-process engine")
    local.add_argument("--device", default="auto", choices=DEVICES)
    local.add_argument("--backbone", default="auto", choices=BACKBONES,
                       help="auto: CLIP when its weights are cached or reachable, else the offline backbone")
    local.add_argument("--precision", default="auto", choices=PRECISIONS)
    local.add_argument("--clip-weights", default=None, help="local CLIP RN101 checkpoint (file or directory)")


def add_server_options(parser: argparse.ArgumentParser, help_text: str) -> None:
    remote = parser.add_argument_group("on servers (see `clipsketch serve`)")
    remote.add_argument("--server", action="append", default=None, metavar="ADDR", help=help_text)
    remote.add_argument("--token", default=None, help="token for a server that requires one")
    remote.add_argument("--token-file", default=None, help="file holding the token")
    remote.add_argument("--tls-ca", default=None, help="PEM certificate to trust for a TLS server")


def read_token(args: argparse.Namespace) -> str | None:
    from clipsketch.addresses import read_token_file

    return read_token_file(args.token_file) if getattr(args, "token_file", None) else args.token


def local_backend(args: argparse.Namespace):
    """The engine in this process the flags ask for, as a backend (its notes say why offline, say)."""
    from clipsketch.core.engine import Engine
    from clipsketch.session import InProcess

    return InProcess(Engine(backbone=args.backbone, device=args.device, precision=args.precision,
                            clip_weights=args.clip_weights))
