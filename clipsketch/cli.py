"""The ``clipsketch`` command line: a thin layer over :mod:`clipsketch.core`, the server and the client."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from clipsketch import __version__
from clipsketch.batch import RETRIES
from clipsketch.core.options import (
    BACKBONES,
    DEVICES,
    DEFAULT_STROKES,
    INIT_MODES,
    LINE_LOOKS,
    LOSS_MODEL,
    PRECISIONS,
    SALIENCY_MODEL,
)
from clipsketch.core.schedules import DEFAULT_SCHEDULE, SCHEDULES

DEFAULT_DRAIN_SECONDS = 30.0
"""How long ``serve`` lets running jobs finish after SIGTERM or Ctrl-C (Kubernetes' default grace is 30 s)."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="clipsketch", description="Turn photos into abstract line sketches.")
    parser.add_argument("--version", action="version", version=f"clipsketch {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    sketch = commands.add_parser("sketch", help="sketch a photo: one SVG and PNG per stroke count, and a contact sheet",
                                 description="Sketch a photo. Ctrl-C once finishes early and keeps the best "
                                             "strokes so far; twice aborts.")
    sketch.add_argument("photo", type=Path, help="photo file (PNG, JPEG, WebP, TIFF, …)")
    _add_sketch_options(sketch)
    sketch.add_argument("--out", type=Path, default=Path("out"), help="output directory (default ./out)")
    sketch.add_argument("--start", type=Path, default=None, metavar="SKETCH.svg",
                        help="start from the stroked paths of this SVG (photo pixels); --strokes counts them too")
    sketch.add_argument("--lock-start", action="store_true", help="keep the --start strokes exactly where they are")
    _add_engine_options(sketch)
    remote = sketch.add_argument_group("on a server (see `clipsketch serve`)")
    remote.add_argument("--server", action="append", default=None, metavar="ADDR",
                        help="host:port of a server; repeat to spread requests over several (round robin)")
    _add_client_security(remote)
    sketch.set_defaults(run=run_sketch)

    batch = commands.add_parser(
        "batch", help="sketch many photos (files, folders, globs), resumably, in process or over servers",
        description="Sketch every photo the inputs name, into OUT mirroring their folders. The manifest "
                    "OUT/clipsketch-batch.jsonl makes a rerun resume: photos done with the same content and options "
                    "are skipped. A job a server loses goes to another. Ctrl-C once finishes the photos in flight "
                    "and stops; twice cancels them. Exit status: 0 all done, 1 some photos failed (listed), 2 bad "
                    "usage.")
    batch.add_argument("inputs", nargs="+", metavar="INPUT",
                       help="photo files, folders (searched recursively) or globs ('photos/**/*.jpg'); - reads "
                            "paths from stdin, one per line")
    batch.add_argument("--out", type=Path, required=True, help="output folder")
    _add_sketch_options(batch)
    batch.add_argument("--png", action="store_true", help="write a PNG preview beside each SVG")
    batch.add_argument("--watch", action="store_true",
                       help="keep running and sketch photos as they appear in (or change in) the input folders")
    batch.add_argument("--watch-every", type=float, default=2.0, metavar="SECONDS",
                       help="--watch: seconds between looks at the folders (default 2)")
    batch.add_argument("--retries", type=int, default=RETRIES,
                       help=f"times a job a server lost is sent again (default {RETRIES})")
    batch.add_argument("--retry-failed", action="store_true",
                       help="sketch again the photos refused before (by default they are skipped until they change)")
    _add_engine_options(batch)
    remote = batch.add_argument_group("on servers (see `clipsketch serve`)")
    remote.add_argument("--server", action="append", default=None, metavar="ADDR",
                        help="host:port of a server, or dns:///NAME:PORT for every address of a name (a Kubernetes "
                             "headless Service); repeat for several. Each keeps as many jobs in flight as it has "
                             "workers")
    _add_client_security(remote)
    batch.set_defaults(run=run_batch)

    serve = commands.add_parser("serve", help="run the gRPC sketching server")
    _add_serve_arguments(serve)
    serve.set_defaults(run=run_serve)

    service = commands.add_parser("service", help="the server as a per-user service (systemd, launchd, Task "
                                                  "Scheduler)")
    service.add_argument("action", choices=["install", "uninstall", "status", "print"])
    service.add_argument("--system", default=None, choices=["Linux", "Darwin", "Windows"],
                         help="print: the definition for that system instead of this one")
    _add_serve_arguments(service, for_unit=True)
    service.set_defaults(run=run_service)

    inkscape = commands.add_parser("inkscape", help="install the Inkscape extension, or zip it for any computer")
    inkscape.add_argument("action", choices=["install", "uninstall", "package"])
    inkscape.add_argument("--profile-dir", type=Path, default=None,
                          help="Inkscape's user data directory (default: what `inkscape --user-data-directory` "
                               "says, else the system's usual one)")
    inkscape.add_argument("--out", type=Path, default=Path("dist"),
                          help="package: the folder for clipsketch-inkscape-VERSION.zip (default: dist)")
    inkscape.set_defaults(run=run_inkscape)

    render = commands.add_parser("render", help="draw an SVG sketch with the differentiable rasterizer (PNG)")
    render.add_argument("svg", type=Path, help="SVG sketch (clipsketch's own, or any SVG with stroked paths)")
    render.add_argument("-o", "--out", type=Path, help="PNG to write (default: beside the SVG)")
    render.add_argument("--scale", type=float, default=1.0, help="pixels per SVG user unit (default 1)")
    render.set_defaults(run=run_render)

    args = parser.parse_args(argv)
    from clipsketch.client import ServerError
    from clipsketch.core.backbones import WeightsUnavailable
    from clipsketch.core.mask import MaskUnavailable

    try:
        return args.run(args)
    except (OSError, ValueError, RuntimeError, WeightsUnavailable, MaskUnavailable) as error:
        print(f"clipsketch {args.command}: {error}", file=sys.stderr)  # a clear message, no traceback
        return 2
    except ServerError as error:
        print(f"clipsketch {args.command}: server: {error} ({error.code.name})", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"clipsketch {args.command}: interrupted", file=sys.stderr)
        return 130


def _add_sketch_options(parser: argparse.ArgumentParser) -> None:
    """What to draw: the options ``sketch`` and ``batch`` share."""
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
                             "contour (thin XDoG contours); auto: reference with CLIP, contour offline")
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


def _add_engine_options(parser: argparse.ArgumentParser) -> None:
    local = parser.add_argument_group("in-process engine")
    local.add_argument("--device", default="auto", choices=DEVICES)
    local.add_argument("--backbone", default="auto", choices=BACKBONES,
                       help="auto: CLIP when its weights are cached or reachable, else the offline backbone")
    local.add_argument("--precision", default="auto", choices=PRECISIONS)
    local.add_argument("--clip-weights", default=None, help="local CLIP RN101 checkpoint (file or directory)")


def _engine(args, say):
    """The in-process engine of the parsed engine options; ``say`` gets its notes (why offline, say)."""
    from clipsketch.core.engine import Engine

    engine = Engine(backbone=args.backbone, device=args.device, precision=args.precision,
                    clip_weights=args.clip_weights)
    for note in engine.notes:
        say(f"note: {note}")
    return engine


def _sketch_options(args, start=None):
    """The :class:`SketchOptions` of the parsed sketch options, checked against the server's limits (a job that
    runs here also runs there)."""
    from clipsketch.core.limits import Limits
    from clipsketch.core.options import DEFAULT_COLOR, SketchOptions, parse_color

    options = SketchOptions(strokes=tuple(args.strokes), schedule=args.schedule, iterations=args.iterations,
                            seeds=args.seeds, seed=args.seed, mask=args.mask, width=args.width,
                            color=parse_color(args.color) if args.color else DEFAULT_COLOR, start=start,
                            init=args.init, line=args.line, one_line=args.one_line, reseed=args.reseed)
    Limits().check(options.strokes, options.iterations, options.seeds)  # None: the schedule's
    return options


def _new_options(options, animate: bool) -> dict:
    """The options a batch's manifest records only where they differ from their defaults (so that a folder
    sketched before they existed is not done again)."""
    return {**({"line": options.line} if options.line != "uniform" else {}),
            **({"one_line": True} if options.one_line else {}),
            **({"reseed": options.reseed} if options.reseed is not None else {}),
            **({"animate": True} if animate else {})}


def _server_fields(args) -> dict:
    """The request fields of the parsed sketch options (0 and empty: the server's defaults)."""
    return {"strokes": args.strokes, "iterations": args.iterations or 0, "seeds": args.seeds or 0,
            "seed": args.seed, "mask": args.mask, "stroke_width": args.width or 0.0,
            "stroke_color": args.color or "", "schedule": args.schedule,
            "init": "" if args.init == "auto" else args.init, "line": args.line, "one_line": args.one_line,
            "reseed": args.reseed}


def _add_client_security(group) -> None:
    group.add_argument("--token", default=None, help="token for a server that requires one")
    group.add_argument("--token-file", default=None, help="file holding the token")
    group.add_argument("--tls-ca", default=None, help="PEM certificate to trust for a TLS server")


def _add_serve_arguments(parser: argparse.ArgumentParser, for_unit: bool = False) -> None:
    parser.add_argument("--listen", default="127.0.0.1:50051", help="host:port (default loopback, port 50051)")
    parser.add_argument("--device", default="auto", choices=DEVICES)
    parser.add_argument("--max-queue", type=int, default=16, help="jobs that may wait (more are refused)")
    parser.add_argument("--workers", type=int, default=1,
                        help="groups of jobs run side by side, each with its own threads (default one per device)")
    parser.add_argument("--max-batch", type=int, default=0,
                        help="jobs a worker runs at once, sharing each optimisation step (default from the "
                             "device's free memory: up to 64 on a GPU, 2 on a CPU)")
    parser.add_argument("--backbone", default="auto", choices=BACKBONES)
    parser.add_argument("--precision", default="auto", choices=PRECISIONS)
    parser.add_argument("--clip-weights", default=None, help="local CLIP RN101 checkpoint (file or directory)")
    parser.add_argument("--token", default=None, help="require this token (needed off loopback)")
    parser.add_argument("--token-file", default=None, help="require the token in this file")
    parser.add_argument("--tls-cert", default=None, help="PEM certificate for TLS")
    parser.add_argument("--tls-key", default=None, help="PEM private key for TLS")
    parser.add_argument("--drain-seconds", type=float, default=DEFAULT_DRAIN_SECONDS,
                        help="on SIGTERM or Ctrl-C, let running jobs finish this long before stopping them; a "
                             f"second signal stops them at once (default {DEFAULT_DRAIN_SECONDS:g})")
    if not for_unit:
        parser.add_argument("--preload", action="store_true", help="load the models before listening")
    # For tests and benchmarks: model architectures with random weights, and extra model config folders.
    parser.add_argument("--weights", default="openai", help=argparse.SUPPRESS)
    parser.add_argument("--loss-model", default=LOSS_MODEL, help=argparse.SUPPRESS)
    parser.add_argument("--saliency-model", default=SALIENCY_MODEL, help=argparse.SUPPRESS)
    parser.add_argument("--model-config-dir", default=None, help=argparse.SUPPRESS)


def _read_token(args) -> str | None:
    from clipsketch.addresses import read_token_file

    return read_token_file(args.token_file) if getattr(args, "token_file", None) else args.token


def run_sketch(args: argparse.Namespace) -> int:
    from clipsketch.core.limits import Limits
    from clipsketch.core.options import StartStrokes
    from clipsketch.core.photo import load_photo_within

    if args.lock_start and not args.start:
        raise ValueError("--lock-start needs --start SKETCH.svg")
    start = StartStrokes.from_svg(args.start.read_bytes(), locked=args.lock_start) if args.start else None
    args.options = _sketch_options(args, start)
    photo_bytes = args.photo.read_bytes()
    image = load_photo_within(photo_bytes, Limits())  # before loading models or calling a server
    args.options.check_photo(image.size)
    args.out.mkdir(parents=True, exist_ok=True)
    with _Progress() as progress, _Interrupts() as interrupts:
        if args.server:
            sketches = _sketch_on_server(args, photo_bytes, progress, interrupts)
        else:
            sketches = _sketch_in_process(args, image, progress, interrupts)
    if interrupts.finishing.is_set():
        print(f"finished early: {len(sketches)} of {len(args.strokes)} stroke count(s) kept", file=sys.stderr)
    written = []
    from clipsketch.core.render import contact_sheet, render_in_frame, save_png

    for count, strokes, frame, svg in sketches:
        svg_path = args.out / f"{args.photo.stem}-{count}-strokes.svg"
        svg_path.write_text(svg)
        png_path = svg_path.with_suffix(".png")
        save_png(render_in_frame(strokes, frame).rgb[0], png_path)
        written += [svg_path, png_path]
        if args.animate:
            from clipsketch.core.animate import animated_svg

            animated = svg_path.with_name(f"{svg_path.stem}-animated.svg")
            animated.write_text(animated_svg(svg))
            written.append(animated)
    if len(sketches) > 1:
        sheet = args.out / f"{args.photo.stem}-contact-sheet.png"
        contact_sheet(image, [(count, strokes, frame) for count, strokes, frame, _ in sketches]).save(sheet)
        written.append(sheet)
    for path in written:
        print(f"wrote {path}")
    return 0


def _sketch_in_process(args, image, progress, interrupts: _Interrupts) -> list:
    from clipsketch.core.events import CountDone, Progress, Started

    options = args.options
    engine = _engine(args, lambda line: print(line, file=sys.stderr))
    sketches = []
    for event in engine.events(image, options, finish=interrupts.finishing.is_set):
        if isinstance(event, Started):
            progress.started(event.device, f"{event.backbone} ({engine.precision})", event.saliency_source,
                             event.mask_used)
        elif isinstance(event, Progress):
            progress.step(event.count, event.step.iteration, event.step.iterations, event.step.total,
                          event.step.evaluation)
        elif isinstance(event, CountDone):
            result = event.result
            sketches.append((result.count, result.strokes, result.frame, result.svg))
    return sketches


def _sketch_on_server(args, photo_bytes: bytes, progress, interrupts: _Interrupts) -> list:
    import threading
    import uuid

    from clipsketch.client import SketchClient, start_strokes
    from clipsketch.core.svg import hex_color, svg_to_strokes

    given = args.options.start
    start = start_strokes(given.points, given.widths, [hex_color(c[:3]) for c in given.colors],
                          [c[3] for c in given.colors], given.locked) if given else []
    sketches = []
    request_id = uuid.uuid4().hex
    with SketchClient(args.server, token=_read_token(args), tls_ca=args.tls_ca) as client:
        interrupts.on_first = lambda: threading.Thread(target=client.finish, args=(request_id,), daemon=True).start()
        for event in client.events(photo_bytes, start=start, request_id=request_id, **_server_fields(args)):
            kind = event.WhichOneof("event")
            if kind == "queued":
                progress.queued(event.queued.position)
            elif kind == "started":
                started = event.started
                for note in started.notes:
                    print(f"note (server): {note}", file=sys.stderr)
                progress.started(started.device, started.backbone, started.saliency, started.mask_used)
            elif kind == "progress":
                step = event.progress
                progress.step(step.strokes, step.iteration, step.iterations, step.loss, step.best_loss)
            elif kind == "result":
                imported = svg_to_strokes(event.result.svg)
                sketches.append((event.result.strokes, imported.strokes, imported.frame, event.result.svg))
    return sketches


class _Interrupts:
    """Ctrl-C once sets ``finishing`` (and calls ``on_first``): the sketch ends early with its best strokes so
    far. Ctrl-C again raises KeyboardInterrupt: abort."""

    def __init__(self):
        import threading

        self.finishing = threading.Event()
        self.on_first = lambda: None

    def __enter__(self) -> _Interrupts:
        import signal

        self._previous = signal.signal(signal.SIGINT, self._interrupted)
        return self

    def __exit__(self, *_exc) -> None:
        import signal

        signal.signal(signal.SIGINT, self._previous)

    def _interrupted(self, _signal, _frame) -> None:
        if self.finishing.is_set():
            raise KeyboardInterrupt
        self.finishing.set()
        print("\nfinishing early: keeping the best strokes so far (Ctrl-C again to abort)", file=sys.stderr,
              flush=True)
        self.on_first()


class _Progress:
    """A tqdm bar per stroke count on stderr, and one-line status messages."""

    def __init__(self):
        self.bar = None
        self.count = None

    def __enter__(self) -> _Progress:
        return self

    def __exit__(self, *_exc) -> None:
        if self.bar is not None:
            self.bar.close()

    def queued(self, position: int) -> None:
        print(f"queued: {position} job(s) ahead", file=sys.stderr)

    def started(self, device: str, backbone: str, saliency: str, mask_used: bool) -> None:
        print(f"sketching on {device} with {backbone}; saliency: {saliency}; "
              f"background removal: {'on' if mask_used else 'off'}", file=sys.stderr)

    def step(self, count: int, iteration: int, total: int, loss: float, best: float) -> None:
        from tqdm import tqdm

        if self.count != count:
            if self.bar is not None:
                self.bar.close()
            self.bar = tqdm(total=total, desc=f"{count:>3} strokes", unit="it", file=sys.stderr, dynamic_ncols=True)
            self.count = count
        self.bar.update(iteration - self.bar.n)
        self.bar.set_postfix(loss=f"{loss:.4g}", best=f"{best:.4g}", refresh=False)


def run_batch(args: argparse.Namespace) -> int:
    from functools import partial

    from tqdm import tqdm

    from clipsketch.batch import fleet
    from clipsketch.batch.manifest import Manifest
    from clipsketch.batch.outputs import remove_leftovers
    from clipsketch.batch.photos import collect
    from clipsketch.batch.runner import Batch
    from clipsketch.core.svg import hex_color

    options = _sketch_options(args)
    if args.retries < 0 or not args.watch_every > 0:
        raise ValueError("--retries must be >= 0 and --watch-every > 0")
    if args.watch and all(given == "-" for given in args.inputs):
        raise ValueError("--watch needs a folder or a glob to watch")
    photos = collect(args.inputs, sys.stdin, exclude=args.out, must_match=not args.watch)
    if not photos and not args.watch:
        raise ValueError(f"no photos in {' '.join(args.inputs)}")
    say = partial(tqdm.write, file=sys.stderr)
    recorded = {"strokes": list(options.strokes), "schedule": options.schedule, "iterations": options.iterations,
                "seeds": options.seeds, "seed": options.seed, "mask": options.mask, "width": options.width,
                "color": hex_color(options.color[:3]), "init": options.init, "png": args.png,
                **_new_options(options, args.animate)}
    with Manifest(args.out) as manifest:
        if remove_leftovers(args.out):
            say("removed the partly written files of an earlier batch that was stopped")
        if args.server:
            token = _read_token(args)
            targets = fleet.resolve(args.server)
            if not targets:
                raise ValueError(f"no server found at {' '.join(args.server)} (the names do not resolve)")
            batch = Batch(args.out, manifest, recorded, args.png, say, animate=args.animate, retries=args.retries,
                          retry_failed=args.retry_failed,
                          connect=lambda target: fleet.RemoteServer(target, token, args.tls_ca, _server_fields(args)),
                          resolve=lambda: fleet.resolve(args.server))
        else:
            batch = Batch(args.out, manifest, recorded, args.png, say, animate=args.animate,
                          local=fleet.LocalEngine(_engine(args, say), options),
                          retries=args.retries, retry_failed=args.retry_failed)
        queued = batch.plan(photos)
        watching = [given for given in args.inputs if given != "-"]
        rescan = partial(_photos_now, watching, args.out) if args.watch else None
        if args.watch:
            say(f"watching {' '.join(watching)} for new photos (Ctrl-C stops)")
        summary = batch.run(rescan, args.watch_every) if queued or args.watch else batch.summary
    return _report_batch(summary, manifest.path, args.watch)


def _photos_now(inputs: list[str], out: Path):
    """What the watched inputs hold now (the batch itself leaves out photos that would collide)."""
    from clipsketch.batch.photos import collect

    return collect(inputs, exclude=out, must_match=False, check_outputs=False)


def _report_batch(summary, manifest_path: Path, watching: bool) -> int:
    """Print what the batch did; its exit status (0 all done, 1 some failed, 2 stopped by an error, 130
    interrupted before the end)."""
    if summary.fatal:
        print(f"clipsketch batch: {summary.fatal}", file=sys.stderr)
        return 2
    failed = summary.failed + summary.failed_before
    if not summary.sketched and not summary.failed:
        print(f"nothing to do: {summary.skipped} photo(s) done before with these options"
              + (f", {len(summary.failed_before)} failed before and unchanged" if summary.failed_before else "")
              + f" ({manifest_path})")
    else:
        print(f"sketched {len(summary.sketched)} photo(s), skipped {summary.skipped} done before, "
              f"{len(failed)} failed ({manifest_path})")
    for photo, message in failed:
        print(f"  failed: {photo}: {message}")
    if summary.interrupted and not watching:
        print("interrupted: run the same command again to sketch the rest", file=sys.stderr)
        return 130
    return 1 if failed else 0


def run_serve(args: argparse.Namespace) -> int:
    if args.model_config_dir:
        import open_clip

        open_clip.add_model_config(args.model_config_dir)
    from clipsketch.server.app import serve

    return serve(args)


def run_service(args: argparse.Namespace) -> int:
    from clipsketch.server import service

    forwarded = ["--listen", args.listen, "--device", args.device, "--max-queue", str(args.max_queue),
                 "--workers", str(args.workers), "--max-batch", str(args.max_batch), "--backbone", args.backbone,
                 "--precision", args.precision,
                 "--drain-seconds", f"{args.drain_seconds:g}"]
    for flag in ("clip_weights", "token_file", "tls_cert", "tls_key"):
        if getattr(args, flag):
            forwarded += [f"--{flag.replace('_', '-')}", str(Path(getattr(args, flag)).resolve())]
    if args.token:
        raise ValueError("a token on the unit's command line would be readable by every user: use --token-file")
    if args.action in ("print", "install"):  # refuse what `serve` would refuse, before writing a unit
        from clipsketch.server.app import check_security

        check_security(args.listen, _read_token(args), args.tls_cert, args.tls_key)
    if args.action == "print":
        print(service.definition(forwarded, args.system), end="")
    elif args.action == "install":
        print(service.install(forwarded, shlex.join(["clipsketch", "serve", *forwarded])))
    elif args.action == "uninstall":
        print(service.uninstall())
    else:
        print(service.status())
    return 0


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
