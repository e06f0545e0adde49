"""``clipsketch batch``: its flags, the options its manifest records, and its report."""

from __future__ import annotations

import argparse
import sys
from dataclasses import fields
from functools import partial
from pathlib import Path

from clipsketch.arguments import add_engine_options, add_server_options, add_sketch_options, read_token, sketch_options
from clipsketch.batch import RETRIES
from clipsketch.core.options import SketchOptions, hex_color

RECORDED_ALWAYS = ("strokes", "schedule", "iterations", "seeds", "seed", "mask", "width", "color", "init")
"""Options every manifest line records; the others only where they differ from their defaults (so that a folder
sketched before they existed is not done again)."""


def add_parser(commands) -> None:
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
    add_sketch_options(batch)
    batch.add_argument("--png", action="store_true", help="write a PNG preview beside each SVG")
    batch.add_argument("--watch", action="store_true",
                       help="keep running and sketch photos as they appear in (or change in) the input folders")
    batch.add_argument("--watch-every", type=float, default=2.0, metavar="SECONDS",
                       help="--watch: seconds between looks at the folders (default 2)")
    batch.add_argument("--retries", type=int, default=RETRIES,
                       help=f"times a job a server lost is sent again (default {RETRIES})")
    batch.add_argument("--retry-failed", action="store_true",
                       help="sketch again the photos refused before (by default they are skipped until they change)")
    add_engine_options(batch)
    add_server_options(batch, "host:port of a server, or dns:///NAME:PORT for every address of a name (a Kubernetes "
                              "headless Service); repeat for several. Each keeps as many jobs in flight as it has "
                              "workers")
    batch.set_defaults(run=run_batch)


def recorded_options(options: SketchOptions, png: bool, animate: bool) -> dict:
    """The options a manifest line records, as JSON values: a photo done with other options is done again."""
    defaults = SketchOptions()
    recorded = {}
    for name in (f.name for f in fields(SketchOptions)):
        value = getattr(options, name)
        if name in RECORDED_ALWAYS or value != getattr(defaults, name):
            recorded[name] = hex_color(value[:3]) if name == "color" else list(value) if name == "strokes" else value
    return {**recorded, "png": png, **({"animate": True} if animate else {})}


def run_batch(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from clipsketch.batch import fleet
    from clipsketch.batch.manifest import Manifest
    from clipsketch.batch.photos import collect
    from clipsketch.batch.runner import Batch
    from clipsketch.outputs import remove_leftovers

    options = sketch_options(args)
    if args.retries < 0 or not args.watch_every > 0:
        raise ValueError("--retries must be >= 0 and --watch-every > 0")
    if args.watch and all(given == "-" for given in args.inputs):
        raise ValueError("--watch needs a folder or a glob to watch")
    photos = collect(args.inputs, sys.stdin, exclude=args.out, must_match=not args.watch)
    if not photos and not args.watch:
        raise ValueError(f"no photos in {' '.join(args.inputs)}")
    say = partial(tqdm.write, file=sys.stderr)
    with Manifest(args.out) as manifest:
        if remove_leftovers(args.out):
            say("removed the partly written files of an earlier batch that was stopped")
        batch = Batch(args.out, manifest, options, recorded_options(options, args.png, args.animate), args.png, say,
                      animate=args.animate, retries=args.retries, retry_failed=args.retry_failed,
                      **_backends(args, say))
        queued = batch.plan(photos)
        watching = [given for given in args.inputs if given != "-"]
        rescan = partial(_photos_now, watching, args.out) if args.watch else None
        if args.watch:
            say(f"watching {' '.join(watching)} for new photos (Ctrl-C stops)")
        summary = batch.run(rescan, args.watch_every) if queued or args.watch else batch.summary
    return _report(summary, manifest.path, args.watch)


def _backends(args: argparse.Namespace, say) -> dict:
    """Where the batch's jobs run: ``connect`` and ``resolve`` for servers, or ``local``, the engine here."""
    from clipsketch.batch import fleet
    from clipsketch.session import OnServer

    if not args.server:
        from clipsketch.arguments import local_backend

        local = local_backend(args)
        for note in local.engine.notes:
            say(f"note: {note}")
        return {"local": local}
    token = read_token(args)
    if not fleet.resolve(args.server):
        raise ValueError(f"no server found at {' '.join(args.server)} (the names do not resolve)")
    return {"connect": lambda target: OnServer(target.address, token, args.tls_ca, target.name, target.label),
            "resolve": lambda: fleet.resolve(args.server)}


def _photos_now(inputs: list[str], out: Path):
    """What the watched inputs hold now (the batch itself leaves out photos that would collide)."""
    from clipsketch.batch.photos import collect

    return collect(inputs, exclude=out, must_match=False, check_outputs=False)


def _report(summary, manifest_path: Path, watching: bool) -> int:
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
