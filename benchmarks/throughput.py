"""Throughput of one device: sketches per hour, and each job's latency, for 1, 4, 16, 64 concurrent jobs.

Each level starts that many 16-stroke jobs at once (the gallery's photos in turn, the fast schedule, no mask) in
one process, one thread a job, sharing their steps through one :class:`~clipsketch.core.step_batch.StepBatch`
(what ``clipsketch serve --max-batch K`` does), and times them from the start to the last one's end. The first
row, one job, is the one-job-at-a-time figure the others are compared with (``× one at a time``: sketches per
hour over that row's). The backbone is CLIP RN101 with random weights (its timing is the real one's) or the
offline one; one job runs first to warm up (CUDA graphs, allocators). Peak memory: the GPU's allocated peak, or
the process's resident peak on a CPU. Needs the machine to itself. Prints a table and writes JSON.

    python benchmarks/throughput.py [--concurrent 1 4 16 64] [--backbone clip|offline] [--iterations N]
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import threading
import time
from pathlib import Path

import numpy as np
import skimage.data
import torch

from clipsketch.core.engine import Engine
from clipsketch.core.options import SketchOptions
from clipsketch.core.step_batch import StepBatch

GALLERY = ["chelsea", "astronaut", "coffee", "rocket", "camera", "horse"]


def photos() -> list[np.ndarray]:
    images = []
    for name in GALLERY:
        image = np.asarray(getattr(skimage.data, name)())
        images.append(np.stack([image] * 3, axis=-1) if image.ndim == 2 else image[..., :3])
    return images


def run_level(engine: Engine, images: list[np.ndarray], concurrent: int, options: SketchOptions) -> dict:
    batch: StepBatch = StepBatch()
    latencies: list[float] = []
    errors: list[BaseException] = []
    start = threading.Barrier(concurrent + 1)

    def job(index: int) -> None:
        start.wait()
        began = time.perf_counter()
        try:
            engine.sketch(images[index % len(images)], options, batch=batch)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)
        latencies.append(time.perf_counter() - began)

    threads = [threading.Thread(target=job, args=(k,)) for k in range(concurrent)]
    for thread in threads:
        thread.start()
    if engine.device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - began
    if errors:
        raise errors[0]
    peak = (torch.cuda.max_memory_allocated() if engine.device.type == "cuda"
            else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
    ordered = sorted(latencies)
    return {"concurrent": concurrent, "seconds": round(seconds, 2),
            "sketches_per_hour": round(concurrent * 3600 / seconds, 1),
            "latency_median_s": round(statistics.median(ordered), 2),
            "latency_p95_s": round(ordered[min(len(ordered) - 1, int(np.ceil(0.95 * len(ordered))) - 1)], 2),
            "largest_shared_step": batch.largest, "peak_memory_gib": round(peak / 2**30, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--concurrent", type=int, nargs="+", default=[1, 4, 16, 64])
    parser.add_argument("--backbone", choices=["clip", "offline"], default="clip")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--strokes", type=int, default=16)
    parser.add_argument("--iterations", type=int, default=0, help="steps a job (default: the schedule's)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "throughput.json")
    args = parser.parse_args()

    engine = Engine(backbone=args.backbone, weights="random", device=args.device)
    options = SketchOptions(strokes=(args.strokes,), mask=False, **({"iterations": args.iterations}
                                                                    if args.iterations else {}))
    images = photos()
    engine.sketch(images[0], options)  # warm-up: graphs, allocator, kernels
    device = torch.cuda.get_device_name() if engine.device.type == "cuda" else f"{platform.processor() or 'CPU'}, " \
        f"{torch.get_num_threads()} threads"
    rows = []
    for concurrent in args.concurrent:
        rows.append(run_level(engine, images, concurrent, options))
        base = rows[0]["sketches_per_hour"]
        rows[-1]["times_one_at_a_time"] = round(rows[-1]["sketches_per_hour"] / base, 2)
        print(json.dumps(rows[-1]), flush=True)

    steps = options.resolve(engine.device.type).options.iterations
    print(f"\n{engine.description} on {device}, {args.strokes} strokes, {steps} steps a job\n")
    print("| concurrent jobs | sketches/hour | × one at a time | latency median | latency p95 | peak memory |")
    print("|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        print(f"| {row['concurrent']} | {row['sketches_per_hour']:.0f} | {row['times_one_at_a_time']:.2f}× | "
              f"{row['latency_median_s']:.1f} s | {row['latency_p95_s']:.1f} s | {row['peak_memory_gib']:.2f} GiB |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"device": device, "backbone": engine.description, "strokes": args.strokes,
                                    "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
