"""The looks side by side: uniform, tapered and weighted lines and one continuous line, on a few gallery photos.

For each photo and look it records the final evaluation loss, the CPU seconds of the stroke count (after the
models are loaded and the photo is prepared) and their ratio to the uniform line's, and how the exported SVG
draws in two real renderers (resvg, cairosvg) against the rasterizer: the mean absolute difference over all
channels and the IoU of inked pixels (gray < 0.5), as ``tests/core/test_raster_fidelity.py`` measures plain
strokes. Then a Markdown table and ``--picture PNG``: one row per photo, the photo then each look.

    python benchmarks/looks.py [--photos horse coffee chelsea] [--strokes 16]
        [--results benchmarks/results/looks-offline-cpu.json] [--picture docs/looks.png]

Offline backbone, everything local. Needs ``pip install -e '.[bench,test]'`` (scikit-image, resvg-py, cairosvg).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from quality import gallery_photo  # noqa: E402

LOOKS = {"uniform": {}, "tapered": {"line": "tapered"}, "weighted": {"line": "weighted"},
         "one line": {"one_line": True}}


def render(svg: str, renderer: str):
    """``svg`` drawn by ``renderer`` (resvg or cairosvg): ``[H, W, 3]`` float64 0..1 over white."""
    import numpy as np
    from PIL import Image

    if renderer == "resvg":
        import resvg_py

        png = bytes(resvg_py.svg_to_bytes(svg_string=svg))
    else:
        import cairosvg

        png = cairosvg.svg2png(bytestring=svg.encode())
    image = Image.open(io.BytesIO(png)).convert("RGBA")
    white = Image.new("RGBA", image.size, (255, 255, 255, 255))
    return np.asarray(Image.alpha_composite(white, image).convert("RGB"), dtype=np.float64) / 255


def fidelity(ours, theirs) -> dict[str, float]:
    import numpy as np

    inked_ours, inked_theirs = ours.mean(-1) < 0.5, theirs.mean(-1) < 0.5
    union = max(int((inked_ours | inked_theirs).sum()), 1)
    return {"mad": float(np.abs(ours - theirs).mean()), "iou": float((inked_ours & inked_theirs).sum() / union)}


def run_look(engine, photo_name: str, count: int, look: str) -> dict:
    from clipsketch.core.events import CountDone, Started
    from clipsketch.core.options import SketchOptions
    from clipsketch.core.render import render_in_frame

    options = SketchOptions(strokes=(count,), **LOOKS[look])
    for event in engine.events(gallery_photo(photo_name), options):
        if isinstance(event, Started):
            prepared_cpu = time.process_time()
        elif isinstance(event, CountDone):
            result = event.result
            cpu_seconds = time.process_time() - prepared_cpu
    ours = render_in_frame(result.strokes, result.frame).rgb[0].permute(1, 2, 0).double().numpy()
    return {"photo": photo_name, "strokes": count, "look": look, "loss": result.loss, "cpu_seconds": cpu_seconds,
            "svg": result.svg, **{renderer: fidelity(ours, render(result.svg, renderer))
                                  for renderer in ("resvg", "cairosvg")}}


def table(cases: dict[str, dict]) -> str:
    lines = ["| look | cases | median CPU s | median time ratio to uniform | median loss ratio to uniform | "
             "MAD resvg / cairosvg (worst) | IoU resvg / cairosvg (worst) |", "|---|---|---|---|---|---|---|"]
    for look in LOOKS:
        mine = [c for c in cases.values() if c["look"] == look]
        if not mine:
            continue
        base = [cases.get(f"{c['photo']}/{c['strokes']}/uniform") for c in mine]
        pairs = [(c, b) for c, b in zip(mine, base) if b is not None]
        time_ratio = statistics.median(c["cpu_seconds"] / b["cpu_seconds"] for c, b in pairs)
        loss_ratio = statistics.median(c["loss"] / b["loss"] for c, b in pairs)
        mad = " / ".join(f"{max(c[r]['mad'] for c in mine):.4f}" for r in ("resvg", "cairosvg"))
        iou = " / ".join(f"{min(c[r]['iou'] for c in mine):.3f}" for r in ("resvg", "cairosvg"))
        lines.append(f"| {look} | {len(mine)} | {statistics.median(c['cpu_seconds'] for c in mine):.0f} | "
                     f"{time_ratio:.2f} | {loss_ratio:.3f} | {mad} | {iou} |")
    return "\n".join(lines)


def draw_picture(cases: dict[str, dict], photos: list[str], count: int, path: Path, cell: int = 240) -> None:
    """One row per photo: the photo, then each look's sketch as resvg draws its SVG, titled with its time ratio."""
    from PIL import Image, ImageDraw

    header = 20
    sheet = Image.new("RGB", (cell * (1 + len(LOOKS)), header + cell * len(photos)), "white")
    draw = ImageDraw.Draw(sheet)
    draw.text((4, 4), "photo", fill="black")
    for column, look in enumerate(LOOKS, start=1):
        ratios = [cases[f"{p}/{count}/{look}"]["cpu_seconds"] / cases[f"{p}/{count}/uniform"]["cpu_seconds"]
                  for p in photos if f"{p}/{count}/{look}" in cases and f"{p}/{count}/uniform" in cases]
        title = look if look == "uniform" else f"{look} ({statistics.median(ratios):.2f}x the time)" if ratios else look
        draw.text((column * cell + 4, 4), title, fill="black")
    for row, name in enumerate(photos):
        tiles = [gallery_photo(name)]
        for look in LOOKS:
            case = cases.get(f"{name}/{count}/{look}")
            tiles.append(Image.fromarray((render(case["svg"], "resvg") * 255).astype("uint8")) if case
                         else Image.new("RGB", (cell, cell), "white"))
        for column, tile in enumerate(tiles):
            tile = tile.copy()
            tile.thumbnail((cell - 8, cell - 8), Image.LANCZOS)
            sheet.paste(tile, (column * cell + (cell - tile.width) // 2,
                               header + row * cell + (cell - tile.height) // 2))
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--photos", nargs="+", default=["horse", "coffee", "chelsea"])
    parser.add_argument("--strokes", type=int, default=16)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--results", type=Path, default=Path("benchmarks/results/looks-offline-cpu.json"))
    parser.add_argument("--picture", type=Path)
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    cases = json.loads(args.results.read_text())["cases"] if args.results.exists() else {}
    if not args.report_only:
        from clipsketch.core.engine import Engine

        engine = Engine(backbone="offline", device="cpu")
        machine = {"device": str(engine.device), "threads": args.threads, "torch": torch.__version__,
                   "backbone": engine.description}
        for photo in args.photos:
            for look in LOOKS:
                name = f"{photo}/{args.strokes}/{look}"
                if name in cases:
                    continue
                cases[name] = run_look(engine, photo, args.strokes, look)
                print(f"{name}: loss {cases[name]['loss']:.3f}, {cases[name]['cpu_seconds']:.0f} CPU s", file=sys.stderr,
                      flush=True)
                args.results.parent.mkdir(parents=True, exist_ok=True)
                args.results.write_text(json.dumps({"machine": machine, "cases": cases}))
    print(table(cases))
    if args.picture:
        draw_picture(cases, args.photos, args.strokes, args.picture)


if __name__ == "__main__":
    main()
