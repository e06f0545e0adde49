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

    sketch = commands.add_parser("sketch", help="sketch a photo: one SVG and PNG per stroke count, and a contact sheet")
    sketch.add_argument("photo", type=Path, help="photo file (PNG, JPEG, WebP, TIFF, …)")
    sketch.add_argument("--strokes", type=int, nargs="+", default=[16], help="stroke counts, e.g. 4 8 16 32")
    sketch.add_argument("--iterations", type=int, default=2000, help="optimisation steps per stroke count")
    sketch.add_argument("--seeds", type=int, default=3, help="random starts per stroke count; the best wins")
    sketch.add_argument("--seed", type=int, default=0, help="first seed")
    sketch.add_argument("--mask", action=argparse.BooleanOptionalAction, default=None,
                        help="remove the background with U²-Net (default: when installed)")
    sketch.add_argument("--width", type=float, default=None, help="stroke width in canvas pixels (default 3 per 224)")
    sketch.add_argument("--color", default="#000000", help="stroke color (CSS color, default black)")
    sketch.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    sketch.add_argument("--backbone", default="auto", choices=["auto", "clip", "offline"],
                        help="auto: CLIP when its weights are cached or reachable, else the offline backbone")
    sketch.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16"])
    sketch.add_argument("--clip-weights", default=None, help="local CLIP RN101 checkpoint (file or directory)")
    sketch.add_argument("--out", type=Path, default=Path("out"), help="output directory (default ./out)")
    sketch.set_defaults(run=run_sketch)

    render = commands.add_parser("render", help="draw an SVG sketch with the differentiable rasterizer (PNG)")
    render.add_argument("svg", type=Path, help="SVG sketch (clipsketch's own, or any SVG with stroked paths)")
    render.add_argument("-o", "--out", type=Path, help="PNG to write (default: beside the SVG)")
    render.add_argument("--scale", type=float, default=1.0, help="pixels per SVG user unit (default 1)")
    render.set_defaults(run=run_render)

    args = parser.parse_args(argv)
    from clipsketch.core.backbones import WeightsUnavailable
    from clipsketch.core.mask import MaskUnavailable

    try:
        return args.run(args)
    except (OSError, ValueError, WeightsUnavailable, MaskUnavailable) as error:  # a clear message, no traceback
        print(f"clipsketch {args.command}: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"clipsketch {args.command}: interrupted", file=sys.stderr)
        return 130


def run_sketch(args: argparse.Namespace) -> int:
    from PIL import ImageColor
    from tqdm import tqdm

    from clipsketch.core.photo import load_photo
    from clipsketch.core.render import contact_sheet, render_in_frame, save_png
    from clipsketch.core.sketch import CountDone, Engine, Progress, SketchOptions, Started

    try:
        red, green, blue = ImageColor.getrgb(args.color)[:3]
    except ValueError:
        raise ValueError(f"unknown color {args.color!r}") from None
    options = SketchOptions(strokes=tuple(args.strokes), iterations=args.iterations, seeds=args.seeds, seed=args.seed,
                            mask=args.mask, width=args.width, color=(red / 255, green / 255, blue / 255, 1.0))
    photo = load_photo(args.photo)  # refuse a bad photo before loading any model
    engine = Engine(backbone=args.backbone, device=args.device, precision=args.precision,
                    clip_weights=args.clip_weights)
    for note in engine.notes:
        print(f"note: {note}", file=sys.stderr)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.photo.stem
    bar = None
    written = []
    try:
        for event in engine.events(photo, options):
            if isinstance(event, Started):
                print(f"sketching {args.photo.name} on {event.device} with {event.backbone} "
                      f"({engine.precision}); saliency: {event.saliency_source}; "
                      f"background removal: {'on' if event.mask_used else 'off'}", file=sys.stderr)
            elif isinstance(event, Progress):
                if bar is None:
                    bar = tqdm(total=event.step.iterations, desc=f"{event.count:>3} strokes", unit="it",
                               file=sys.stderr, dynamic_ncols=True)
                bar.update(1)
                bar.set_postfix(loss=f"{event.step.total:.4g}", best=f"{event.step.evaluation:.4g}", refresh=False)
            elif isinstance(event, CountDone):
                if bar is not None:
                    bar.close()
                    bar = None
                result = event.result
                svg_path = args.out / f"{stem}-{result.count}-strokes.svg"
                svg_path.write_text(result.svg)
                png_path = svg_path.with_suffix(".png")
                save_png(render_in_frame(result.strokes, result.frame).rgb[0], png_path)
                written += [svg_path, png_path]
            else:
                sketch_result = event.result
    finally:
        if bar is not None:
            bar.close()
    if len(sketch_result.sketches) > 1:
        sheet = args.out / f"{stem}-contact-sheet.png"
        contact_sheet(sketch_result).save(sheet)
        written.append(sheet)
    for path in written:
        print(f"wrote {path}")
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
