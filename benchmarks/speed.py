"""Seconds to one sketch: a stroke count of one photo, per backbone and schedule, after the models are loaded.

For each configuration it loads an :class:`~clipsketch.core.sketch.Engine`, sketches a photo once to warm up
(kernels, allocator, autotuning: 20 steps), then times the real run: the photo's preparation (saliency, photo
taps) and the optimisation, wall seconds (CUDA synchronised by the engine's own ``.item()`` calls at every step).
With random CLIP weights the loss is flat, so seeds stop early; the table therefore also gives the seconds per
step with all seeds running and with one, and the *projected* seconds of the schedule's full length
(``narrow_after`` steps × the first + the rest × the second), which is what real weights would take.

A configuration ending in ``:eager`` runs without CUDA graphs (:mod:`clipsketch.core.cuda_graphs`; on a GPU the
default replays the backbone's passes from them), to compare the two on one machine.

    python benchmarks/speed.py [--device auto] [--configs offline:fast clip-random:fast clip-random:fast:eager ...]
        [--strokes 16] [--json benchmarks/results/speed-cpu.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

BACKBONES = {"offline": ("offline", "openai"), "clip-random": ("clip", "random"), "clip": ("clip", "openai")}


def measure(engine, photo, count: int, schedule_name: str) -> dict:
    """One timed stroke count: preparation and optimisation seconds, steps run, seconds per step by seeds running."""
    from clipsketch.core.events import CountDone, Progress, Started
    from clipsketch.core.options import SketchOptions

    plan = SketchOptions(strokes=(count,), schedule=schedule_name).resolve(engine.device.type)
    began = time.perf_counter()
    step_seconds: dict[int, list[float]] = {}
    last = None
    for event in engine.events(photo, plan.options):
        now = time.perf_counter()
        if isinstance(event, Started):
            prepared = last = now
        elif isinstance(event, Progress):
            step_seconds.setdefault(event.step.running, []).append(now - last)
            last = now
        elif isinstance(event, CountDone):
            finished, result = now, event.result
    per_step = {running: statistics.median(times) for running, times in step_seconds.items()}
    iterations, seeds, narrow = plan.options.iterations, plan.options.seeds, plan.optimizer.narrow_after
    many, one = per_step.get(seeds), per_step.get(1, per_step.get(seeds))
    if narrow is None:
        projected = iterations * many if many else None
    else:
        projected = narrow * many + (iterations - narrow) * one if many and one else None
    return {"schedule": schedule_name, "strokes": count, "preparation_s": prepared - began,
            "optimisation_s": finished - prepared, "steps_run": result.iterations_run,
            "step_s_all_seeds": many, "step_s_one_seed": one, "projected_s": projected}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16"])
    parser.add_argument("--configs", nargs="+", default=["offline:fast", "clip-random:fast"],
                        help="BACKBONE:SCHEDULE[:eager], backbone one of " + ", ".join(BACKBONES))
    parser.add_argument("--strokes", type=int, default=16)
    parser.add_argument("--photo", default="chelsea", help="a photo of benchmarks/quality.py's gallery")
    parser.add_argument("--threads", type=int)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    import torch

    sys.path.insert(0, str(Path(__file__).parent))
    from quality import gallery_photo

    from clipsketch.core.engine import Engine
    from clipsketch.core.options import SketchOptions

    if args.threads:
        torch.set_num_threads(args.threads)
    photo = gallery_photo(args.photo)
    rows, engines, load_s = [], {}, {}
    for config in args.configs:
        backbone_name, schedule, *mode = config.split(":")
        if backbone_name not in engines:
            loading = time.perf_counter()
            backbone, weights = BACKBONES[backbone_name]
            engine = engines[backbone_name] = Engine(backbone=backbone, device=args.device,
                                                     precision=args.precision, weights=weights)
            load_s[backbone_name] = time.perf_counter() - loading
            engine.sketch(photo, SketchOptions(strokes=(args.strokes,), iterations=20, seeds=3))  # warm-up
        engine = engines[backbone_name]
        engine.cuda_graphs = mode != ["eager"]
        row = {"config": config, "device": str(engine.device), "device_name": _device_name(engine.device),
               "cuda_graphs": engine.cuda_graphs and engine.device.type == "cuda",
               "precision": engine.precision, "threads": torch.get_num_threads(), "load_s": load_s[backbone_name],
               **measure(engine, photo, args.strokes, schedule)}
        rows.append(row)
        print(json.dumps(row), file=sys.stderr, flush=True)
    print("| config | device | precision | strokes | load s | prepare s | optimise s | steps run | s/step all "
          "seeds | s/step one seed | projected full schedule s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['config']} | {r['device_name']} | {r['precision']} | {r['strokes']} | {r['load_s']:.1f} "
              f"| {r['preparation_s']:.2f} | {r['optimisation_s']:.1f} | {r['steps_run']} "
              f"| {_num(r['step_s_all_seeds'])} | {_num(r['step_s_one_seed'])} | {_num(r['projected_s'], 1)} |")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"torch": torch.__version__, "rows": rows}, indent=1))


def _device_name(device) -> str:
    import platform

    import torch

    return torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU {platform.processor() or 'x86-64'}"


def _num(value, digits: int = 4) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


if __name__ == "__main__":
    main()
