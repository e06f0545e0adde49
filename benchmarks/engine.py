"""Benchmark the sketching loop: seconds per iteration and peak RSS, and end-to-end time for 100 iterations.

Configurations (3 seeds × 16 strokes on ``skimage.data.chelsea()``, the CLIP models with random weights since
weights cannot be downloaded here; the shapes and so the cost are those of the real models):

- ``reference-style``: what CLIPasso's loop does per iteration, rebuilt on our rasterizer: fp32, CLIP weights not
  frozen (weight gradients accumulate), the photo's views recomputed with gradients every step, one seed at a
  time (the time per iteration is multiplied by 3 for 3 seeds);
- ``clipsketch fp32`` / ``clipsketch bf16``: our loop (frozen models, photo taps without gradients, seeds as one
  batch), in fp32 and in bf16 autocast;
- ``offline``: our loop on the offline backbone (EfficientNet-Lite0).

Each configuration runs in its own process so that its peak RSS is its own. Prints a Markdown table, writes JSON.

    python benchmarks/engine.py [--device cpu|cuda] [--iterations 5] [--end-to-end 100]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import torch

CONFIGS = ["reference-style", "clipsketch fp32", "clipsketch bf16", "offline"]


def measure(config: str, device: str, iterations: int, end_to_end: int) -> dict:
    import skimage.data

    from clipsketch.core.backbones import ClipResNetTaps, create_clip_visual
    from clipsketch.core.losses import LossConfig, augment_pairs, paired_augmentation, sketch_loss
    from clipsketch.core.optimize import Controls, OptimizerConfig, Target, optimize_strokes
    from clipsketch.core.photo import frame_photo, load_photo
    from clipsketch.core.raster import rasterize_strokes
    from clipsketch.core.saliency import initial_points
    from clipsketch.core.engine import Engine
    from clipsketch.core.options import SketchOptions
    from clipsketch.core.strokes import Strokes

    photo = skimage.data.chelsea()
    canvas = frame_photo(load_photo(photo)).image.to(device)
    saliency = torch.rand(224, 224)
    result: dict = {"config": config}

    if config == "reference-style":
        visual = create_clip_visual("RN101-quickgelu", "random").to(device)
        for parameter in visual.parameters():  # the reference never freezes CLIP
            parameter.requires_grad_(True)
        backbone = ClipResNetTaps(visual, "RN101 random, unfrozen")
        strokes = Strokes.from_points(initial_points(saliency, 16, [0], 224).to(device)).requires_grad_()
        optimizer = torch.optim.Adam([strokes.points], lr=1.0)
        augmentation, loss_config = paired_augmentation(LossConfig(), 224), LossConfig()
        times = []
        for _ in range(iterations + 1):
            start = time.perf_counter()
            sketch = rasterize_strokes(strokes).rgb
            photo_views, sketch_views = augment_pairs(canvas, sketch, augmentation, 4)
            terms = sketch_loss(backbone(sketch_views[0]), backbone(photo_views), 1, loss_config)  # photo with grad
            optimizer.zero_grad()
            terms.total.sum().backward()
            optimizer.step()
            _sync(device)
            times.append(time.perf_counter() - start)
        result["seconds_per_iteration"] = 3 * _median(times[1:])  # three seeds, one after another
        result["peak_rss_gib"] = _peak_rss_gib()
        return result

    backbone_name = "offline" if config == "offline" else "clip"
    precision = "fp32" if config == "clipsketch fp32" else ("bf16" if config == "clipsketch bf16" else "auto")
    engine = Engine(backbone=backbone_name, device=device, precision=precision, weights="random")
    result["precision"] = engine.precision
    with torch.no_grad(), engine.autocast():
        photo_taps = engine.backbone(canvas)
    start_points = Strokes.from_points(initial_points(saliency, 16, [0, 1, 2], 224).to(device))
    times = []
    clock = time.perf_counter()
    steps = optimize_strokes(start_points, Target(canvas, photo_taps, engine.backbone, LossConfig()),
                             OptimizerConfig(iterations=iterations + 1, tolerance=0, seeds_per_pass=engine.seeds_per_pass),
                             Controls(engine.autocast))
    for _ in steps:
        _sync(device)
        now = time.perf_counter()
        times.append(now - clock)
        clock = now
    result["seconds_per_iteration"] = _median(times[1:])  # the first step includes warm-up
    if end_to_end:
        start = time.perf_counter()
        run = engine.sketch(photo, SketchOptions(strokes=(16,), iterations=end_to_end, seeds=3))
        result["end_to_end_seconds"] = time.perf_counter() - start
        result["end_to_end_iterations"] = run.sketches[16].history[-1][0] + 1
    result["peak_rss_gib"] = _peak_rss_gib()
    return result


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def _peak_rss_gib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 2**20
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--iterations", type=int, default=5, help="timed iterations per configuration")
    parser.add_argument("--end-to-end", type=int, default=100, help="iterations of the end-to-end run (0: none)")
    parser.add_argument("--configs", nargs="+", default=CONFIGS, choices=CONFIGS)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.child:
        end_to_end = args.end_to_end if args.child in ("clipsketch bf16", "offline") else 0
        print(json.dumps(measure(args.child, args.device, args.iterations, end_to_end)))
        return

    rows = []
    for config in args.configs:
        command = [sys.executable, __file__, "--child", config, "--device", args.device, "--threads",
                   str(args.threads), "--iterations", str(args.iterations), "--end-to-end", str(args.end_to_end)]
        output = subprocess.run(command, check=True, capture_output=True, text=True,
                                env=dict(os.environ, PYTHONWARNINGS="ignore")).stdout
        rows.append(json.loads(output.strip().splitlines()[-1]))
        print(json.dumps(rows[-1]), flush=True)

    reference = next((r["seconds_per_iteration"] for r in rows if r["config"] == "reference-style"), None)
    lines = ["| configuration (3 seeds × 16 strokes) | s / iteration | vs reference-style | peak RSS GiB | "
             f"end to end, {args.end_to_end} iterations |", "|---|---|---|---|---|"]
    for row in rows:
        ratio = f"{reference / row['seconds_per_iteration']:.1f}× faster" if reference and row["config"] != "reference-style" else ""
        end = (f"{row['end_to_end_seconds']:.0f} s ({row['end_to_end_iterations']} it)"
               if "end_to_end_seconds" in row else "")
        name = row["config"] + (f" ({row['precision']})" if row.get("precision") and row["config"] == "offline" else "")
        lines.append(f"| {name} | {row['seconds_per_iteration']:.2f} | {ratio} | {row['peak_rss_gib']:.2f} | {end} |")
    table = "\n".join(lines)
    print()
    print(table)
    out = args.out or Path(__file__).parent / "results" / f"engine-{args.device}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    machine = {"device": args.device, "threads": args.threads, "torch": torch.__version__}
    if args.device == "cuda":
        machine["gpu"] = torch.cuda.get_device_name()
    out.write_text(json.dumps({"machine": machine, "results": rows, "table": table}, indent=1))
    print(f"\nwrote {out}")


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
