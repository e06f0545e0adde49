"""Quality against time: every schedule on a gallery of photos that ship in scikit-image, everything offline.

For each photo, stroke count and schedule it records the final evaluation loss (fp32, unaugmented: the number
that picks the best strokes), the wall and CPU seconds the stroke count took (after the models are loaded and the
photo is prepared), the steps the winning seed ran, the loss over CPU time and the sketch. Ratios of time are taken
on CPU seconds: with ``--threads 1`` they do not depend on what else the machine runs (two single-threaded runs
side by side on two cores measure what each would alone), so a long reference run can share the machine. Results accumulate in a JSON file
(a case already there is not run again), so a long reference run can be spread over several sessions. Then:

- a Markdown table per stroke count and overall: median loss ratio fast / reference and median time ratio;
- ``--gallery PNG``: one row per photo: photo | 4 | 8 | 16 | 32 strokes, per schedule;
- ``--plot PNG``: evaluation loss (relative to the reference's final loss) against seconds, one line per case.

    python benchmarks/quality.py [--backbone offline] [--schedules reference fast] [--strokes 4 16 32]
        [--schedules fast+reseed=off fast]   (variants: a schedule and options, the first the base of ratios)
        [--photos chelsea astronaut ...] [--results benchmarks/results/quality-offline-cpu.json]
        [--gallery docs/gallery.png] [--plot docs/loss-vs-time.png]

Judge quality with the offline backbone (real ImageNet weights); ``--backbone clip --weights random`` times the
CLIP path (its losses mean nothing). Needs ``pip install -e '.[bench]'`` (matplotlib, scikit-image).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

GALLERY = ["chelsea", "astronaut", "coffee", "rocket", "camera", "horse", "clock", "motorcycle"]
"""Photos in scikit-image's wheel: a cat, a face, a cup, a vehicle, a person, a silhouette, an object, a motorbike."""


def gallery_photo(name: str):
    """The photo ``name`` of :data:`GALLERY` as an RGB PIL image."""
    import numpy as np
    import skimage.data
    from PIL import Image

    array = skimage.data.stereo_motorcycle()[0] if name == "motorcycle" else getattr(skimage.data, name)()
    if array.dtype == bool:  # the horse: a binary mask, True around it; drawn as a black silhouette on white
        array = np.where(array, 255, 0).astype("uint8")
    return Image.fromarray(array).convert("RGB")


SHORT = 0.02
"""A stroke shorter than this fraction of the photo's longer side counts as a dot (issue 22's bar)."""


def variant_options(variant: str) -> tuple[str, dict]:
    """``schedule[+option=value…]`` (e.g. ``fast+reseed=off``, ``fast+line=tapered``, ``fast+seeds=6``) as the
    schedule and the other :class:`SketchOptions` fields it sets."""
    schedule, *settings = variant.split("+")
    fields = {}
    for setting in settings:
        name, _, value = setting.partition("=")
        fields[name] = {"on": True, "off": False}.get(value, int(value) if value.isdigit() else value)
    return schedule, fields


def run_case(engine, photo_name: str, count: int, schedule: str, seed: int, target: str = "auto") -> dict:
    """One stroke count of one photo with one variant (a schedule and its options, :func:`variant_options`):
    loss, seconds, steps, loss over time, the strokes (canvas pixels of the whole photo padded to a square, also
    for a sketch drawn on a window around a small subject: ``window`` holds its frame) and how many are shorter
    than :data:`SHORT`."""
    from clipsketch.core.events import CountDone, Progress, Started
    from clipsketch.core.frame import Frame, reframed
    from clipsketch.core.options import SketchOptions
    from clipsketch.core.reseed import stroke_lengths

    name, fields = variant_options(schedule)
    options = SketchOptions(strokes=(count,), schedule=name, seed=seed, target=target, **fields).resolve(
        engine.device.type).options
    photo = gallery_photo(photo_name)
    began = time.perf_counter()
    curve = []
    for event in engine.events(photo, options):
        if isinstance(event, Started):
            prepared, prepared_cpu = time.perf_counter(), time.process_time()
        elif isinstance(event, Progress) and (event.step.iteration % 10 == 1 or event.step.finished):
            curve.append((time.process_time() - prepared_cpu, event.step.iteration, event.step.evaluation))
        elif isinstance(event, CountDone):
            result = event.result
            seconds, cpu_seconds = time.perf_counter() - prepared, time.process_time() - prepared_cpu
    lengths = stroke_lengths(result.frame.to_target(result.strokes.points[0].double())) / max(photo.size)
    frame, whole = result.frame, Frame.padded(photo.width, photo.height, options.canvas_size, options.margin)
    points, widths = reframed(result.strokes.points[0], result.strokes.widths[0], frame, whole)  # onto the photo
    return {"photo": photo_name, "strokes": count, "schedule": schedule, "loss": result.loss, "seconds": seconds,
            "cpu_seconds": cpu_seconds, "preparation_seconds": prepared - began,
            "iterations_run": result.iterations_run,
            "iterations": options.iterations, "seeds": options.seeds, "seed": result.seed, "curve": curve,
            "points": points.tolist(), "width": float(widths[0]), "widths": widths.tolist(),
            "taper": result.strokes.taper, "joined": result.joined,
            "window": None if frame == whole else [frame.scale, frame.offset_x, frame.offset_y],
            "short_strokes": 0 if result.joined else int((lengths < SHORT).sum()),
            "shortest": float(lengths.min())}


def key(case: dict) -> str:
    return f"{case['photo']}/{case['strokes']}/{case['schedule']}"


def table(cases: dict[str, dict], schedules: list[str], counts: list[int]) -> str:
    """Markdown: per stroke count, median loss and CPU seconds of each schedule, and the median of the per-case
    ratios to the first schedule (the reference)."""
    base, lines = schedules[0], []
    lines.append("| strokes | schedule | cases | median loss | median CPU s | median loss ratio | worst loss "
                 f"ratio | median time ratio | median steps run | strokes < {SHORT:.0%} |")
    lines.append("|---|---|---|---|---|---|---|---|---|---|")
    for count in counts + [None]:
        for schedule in schedules:
            mine = [c for c in cases.values() if c["schedule"] == schedule and count in (None, c["strokes"])]
            if not mine:
                continue
            pairs = [(c, cases.get(f"{c['photo']}/{c['strokes']}/{base}")) for c in mine]
            pairs = [(c, b) for c, b in pairs if b is not None]
            loss_ratios = [c["loss"] / b["loss"] for c, b in pairs]
            time_ratios = [cpu_seconds(c) / cpu_seconds(b) for c, b in pairs]
            lines.append(
                f"| {count or 'all'} | {schedule} | {len(mine)} | {statistics.median(c['loss'] for c in mine):.2f} "
                f"| {statistics.median(cpu_seconds(c) for c in mine):.0f} "
                f"| {_median(loss_ratios, '{:.4f}')} | {_worst(loss_ratios)} | {_median(time_ratios, '{:.3f}')} "
                f"| {statistics.median(c['iterations_run'] for c in mine):.0f} "
                f"| {_short(mine)} |")
    return "\n".join(lines)


def cpu_seconds(case: dict) -> float:
    """The CPU seconds of a case (wall seconds for cases recorded before CPU time was: single-threaded runs)."""
    return case.get("cpu_seconds", case["seconds"])


def _median(values: list[float], form: str) -> str:
    return form.format(statistics.median(values)) if values else "–"


def _short(cases: list[dict]) -> str:
    """Strokes shorter than :data:`SHORT` over the cases, of all their strokes (– for cases recorded before)."""
    if not all("short_strokes" in c for c in cases):
        return "–"
    return f"{sum(c['short_strokes'] for c in cases)} of {sum(c['strokes'] for c in cases)}"


def _worst(values: list[float]) -> str:
    return f"{max(values):.4f}" if values else "–"


def draw_gallery(cases: dict[str, dict], photos: list[str], counts: list[int], schedules: list[str],
                 path: Path, cell: int = 160) -> None:
    """One row per photo: the framed photo, then each schedule's sketches for ``counts`` (black on white; a blank
    tile where a case has not been run)."""
    import torch
    from PIL import Image, ImageDraw

    from clipsketch.core.photo import frame_photo, load_photo
    from clipsketch.core.raster import rasterize_strokes
    from clipsketch.core.strokes import Strokes

    columns = [(None, None)] + [(s, n) for s in schedules for n in counts  # columns with nothing run are left out
                                if any(f"{name}/{n}/{s}" in cases for name in photos)]
    header = 18
    sheet = Image.new("RGB", (cell * len(columns), header + cell * len(photos)), "white")
    draw = ImageDraw.Draw(sheet)
    for column, (schedule, count) in enumerate(columns):
        draw.text((column * cell + 4, 3), "photo" if schedule is None else f"{schedule}, {count} strokes",
                  fill="black")
    for row, name in enumerate(photos):
        framed = frame_photo(load_photo(gallery_photo(name))).image[0]
        tiles = [framed]
        for schedule, count in columns[1:]:
            case = cases.get(f"{name}/{count}/{schedule}")
            if case is None:
                tiles.append(torch.ones(3, 224, 224))
                continue
            points = torch.tensor(case["points"])[None]
            strokes = Strokes.from_points(points, case["width"])
            if "widths" in case:
                strokes = Strokes(points, torch.tensor(case["widths"])[None], strokes.colors, 224, case["taper"])
            with torch.no_grad():
                tiles.append(rasterize_strokes(strokes).rgb[0])
        for column, tile in enumerate(tiles):
            image = Image.fromarray((tile.clamp(0, 1).permute(1, 2, 0) * 255).byte().numpy())
            sheet.paste(image.resize((cell, cell), Image.LANCZOS), (column * cell, header + row * cell))
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path)


def draw_plot(cases: dict[str, dict], schedules: list[str], path: Path) -> None:
    """Evaluation loss divided by the reference's final loss, against CPU seconds (log scale), per case."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(8, 4.5), dpi=110)
    colours = dict(zip(schedules, ["tab:gray", "tab:red", "tab:blue", "tab:green"]))
    for case in cases.values():
        reference = cases.get(f"{case['photo']}/{case['strokes']}/{schedules[0]}")
        if reference is None or case["schedule"] not in colours or not case["curve"]:
            continue
        seconds, _, losses = zip(*case["curve"])
        axes.plot(seconds, [loss / reference["loss"] for loss in losses], color=colours[case["schedule"]],
                  alpha=0.5, linewidth=1)
    for schedule, colour in colours.items():
        axes.plot([], [], color=colour, label=schedule)
    axes.axhline(1.01, color="black", linestyle=":", linewidth=1, label="reference + 1 %")
    axes.set_xscale("log")
    axes.set_ylim(0.97, 1.25)
    axes.set_xlabel("CPU seconds after the photo is prepared (one thread)")
    axes.set_ylabel("best evaluation loss / reference's final")
    axes.legend()
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backbone", default="offline", choices=["offline", "clip"])
    parser.add_argument("--weights", default="openai", help="CLIP weights (random: time the CLIP path only)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--schedules", nargs="+", default=["reference", "fast"],
                        help="schedules, or variants schedule+option=value (fast+reseed=off, fast+line=tapered); "
                             "the first is what ratios are taken against")
    parser.add_argument("--strokes", nargs="+", type=int, default=[4, 8, 16, 32])
    parser.add_argument("--photos", nargs="+", default=GALLERY, choices=GALLERY)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--target", default="auto", choices=["auto", "photo", "lines"],
                        help="what sketches are compared with (the committed results predate lines: photo)")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--results", type=Path, default=Path("benchmarks/results/quality-offline-cpu.json"))
    parser.add_argument("--report-only", action="store_true", help="draw the table/gallery/plot, run nothing")
    parser.add_argument("--gallery", type=Path)
    parser.add_argument("--gallery-strokes", nargs="+", type=int, default=[4, 8, 16, 32])
    parser.add_argument("--cell", type=int, default=160, help="gallery: pixels a tile")
    parser.add_argument("--plot", type=Path)
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    cases: dict[str, dict] = json.loads(args.results.read_text())["cases"] if args.results.exists() else {}
    if not args.report_only:
        from clipsketch.core.engine import Engine

        engine = Engine(backbone=args.backbone, device=args.device, weights=args.weights)
        machine = {"device": str(engine.device), "threads": args.threads, "torch": torch.__version__,
                   "backbone": engine.description, "precision": engine.precision, "target": args.target}
        for photo in args.photos:
            for count in args.strokes:
                for schedule in args.schedules:
                    case = {"photo": photo, "strokes": count, "schedule": schedule}
                    if key(case) in cases:
                        continue
                    cases[key(case)] = run_case(engine, photo, count, schedule, args.seed, args.target)
                    done = cases[key(case)]
                    print(f"{key(case)}: loss {done['loss']:.3f} in {done['seconds']:.0f} s, "
                          f"{done['cpu_seconds']:.0f} CPU s "
                          f"({done['iterations_run']} steps)", file=sys.stderr, flush=True)
                    args.results.parent.mkdir(parents=True, exist_ok=True)
                    args.results.write_text(json.dumps({"machine": machine, "cases": cases}))
    counts = sorted({c["strokes"] for c in cases.values()})
    print(table(cases, args.schedules, counts))
    if args.gallery:
        draw_gallery(cases, args.photos, args.gallery_strokes, args.schedules, args.gallery, args.cell)
    if args.plot:
        draw_plot(cases, args.schedules, args.plot)


if __name__ == "__main__":
    main()
