"""Benchmark the differentiable rasterizer: forward and forward+backward time and peak memory.

For every stroke count N, canvas side and batch size, with short strokes (CLIPasso's initialisation: chained
offsets of 2.5 % of the canvas) and long ones (control points uniform over the canvas), it reports the median
of ``--repeats`` runs and the peak memory of one forward+backward above what the process held before (CUDA:
``torch.cuda.max_memory_allocated``; CPU: peak RSS via ``/proc/self/clear_refs``, measured in a child process
whose allocator returns freed memory to the system at once, so that RSS follows live tensors).
Prints a Markdown table and writes JSON.

    python benchmarks/raster.py                      # CPU, 2 threads, the full grid
    python benchmarks/raster.py --device cuda
    python benchmarks/raster.py --counts 16 --sizes 224 --batches 1 --repeats 50
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

from clipsketch.core.raster import rasterize_strokes
from clipsketch.core.strokes import Strokes, random_points

# diffvg (CPU build, 2x2 samples, the reference's setting) measured on this 2-core machine, forward+backward
# of 16 strokes at 224 px, in ms (from the rasterizer issue).
DIFFVG_16_STROKES_224_MS = {"short": 240.0, "long": 830.0}


def peak_rss_reset() -> int:
    """Reset the kernel's peak-RSS mark for this process; return the current RSS in bytes."""
    Path("/proc/self/clear_refs").write_text("5")
    return _status_kib("VmRSS") * 1024


def peak_rss_since(baseline: int) -> int:
    return max(_status_kib("VmHWM") * 1024 - baseline, 0)


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field}")


def make_strokes(kind: str, batch: int, count: int, size: int, device: torch.device) -> Strokes:
    generator = torch.Generator().manual_seed(1000 * count + size + batch)
    step = 0.025 * size if kind == "short" else None
    points = random_points(batch, count, size, step=step, generator=generator)
    return Strokes.from_points(points, canvas_size=size).to(device)


def forward_backward(strokes: Strokes) -> None:
    rasterize_strokes(strokes.requires_grad_()).rgb.mean().backward()


def peak_cpu_mib(strokes: Strokes) -> float:
    forward_backward(strokes)  # warm up
    baseline = peak_rss_reset()
    forward_backward(strokes)
    return peak_rss_since(baseline) / 2**20


def cpu_peaks_in_child(configs: list[tuple[str, int, int, int]], threads: int) -> list[float]:
    """Peak MiB per config, measured by this script in a child process with glibc returning memory at once."""
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="16384", MALLOC_TRIM_THRESHOLD_="0", MALLOC_TOP_PAD_="0")
    spec = json.dumps(configs)
    output = subprocess.run([sys.executable, __file__, "--memory-child", spec, "--threads", str(threads)],
                            env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(output)


def measure(strokes: Strokes, repeats: int, device: torch.device) -> dict[str, float]:
    def forward():
        return rasterize_strokes(strokes)

    def timed(fn) -> float:
        for _ in range(3):
            fn()
        samples = []
        for _ in range(repeats):
            if device.type == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
            fn()
            if device.type == "cuda":
                torch.cuda.synchronize()
            samples.append(time.perf_counter() - start)
        return statistics.median(samples) * 1e3

    result = {"forward_ms": timed(forward), "forward_backward_ms": timed(lambda: forward_backward(strokes))}
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
        baseline = torch.cuda.memory_allocated()
        forward_backward(strokes)
        result["peak_mib"] = (torch.cuda.max_memory_allocated() - baseline) / 2**20
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--threads", type=int, default=2, help="CPU threads (default 2, this machine's cores)")
    parser.add_argument("--counts", type=int, nargs="+", default=[4, 8, 16, 32, 64, 128])
    parser.add_argument("--sizes", type=int, nargs="+", default=[224, 512])
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 3])
    parser.add_argument("--kinds", nargs="+", default=["short", "long"], choices=["short", "long"])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--out", type=Path, default=None, help="JSON path (default benchmarks/results/raster-DEVICE.json)")
    parser.add_argument("--memory-child", help=argparse.SUPPRESS)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    if args.memory_child:
        configs = json.loads(args.memory_child)
        print(json.dumps([peak_cpu_mib(make_strokes(*config, torch.device("cpu"))) for config in configs]))
        return
    device = torch.device(args.device)
    out = args.out or Path(__file__).parent / "results" / f"raster-{args.device}.json"
    rows = []
    for kind in args.kinds:
        for size in args.sizes:
            for batch in args.batches:
                for count in args.counts:
                    result = measure(make_strokes(kind, batch, count, size, device), args.repeats, device)
                    rows.append({"strokes": kind, "size": size, "batch": batch, "count": count, **result})
                    print(f"{kind:5s} {size}² batch {batch} N={count:3d}: forward {result['forward_ms']:7.2f} ms, "
                          f"forward+backward {result['forward_backward_ms']:7.2f} ms", flush=True)
    if device.type == "cpu":
        configs = [(r["strokes"], r["batch"], r["count"], r["size"]) for r in rows]
        for row, peak in zip(rows, cpu_peaks_in_child(configs, args.threads)):
            row["peak_mib"] = peak

    print()
    print(table(rows, args.counts))
    out.parent.mkdir(parents=True, exist_ok=True)
    machine = {"device": str(device), "threads": args.threads, "torch": torch.__version__,
               "cpu": platform.processor() or platform.machine()}
    if device.type == "cuda":
        machine["gpu"] = torch.cuda.get_device_name(device)
    out.write_text(json.dumps({"machine": machine, "repeats": args.repeats, "results": rows}, indent=1))
    print(f"\nwrote {out}")


def table(rows: list[dict], counts: list[int]) -> str:
    """Markdown: one row per (strokes, size, batch), forward+backward ms per N, then forward ms and peak MiB."""
    header = "| strokes | canvas | batch | " + " | ".join(f"N={n}" for n in counts) + " | forward, N=16 | peak MiB, max N |"
    lines = [header, "|" + "---|" * (len(counts) + 5)]
    keys = sorted({(r["strokes"], r["size"], r["batch"]) for r in rows}, key=lambda k: (k[0] != "short", k[1], k[2]))
    for kind, size, batch in keys:
        cells = {r["count"]: r for r in rows if (r["strokes"], r["size"], r["batch"]) == (kind, size, batch)}
        timings = " | ".join(f"{cells[n]['forward_backward_ms']:.1f}" if n in cells else "" for n in counts)
        forward16 = f"{cells[16]['forward_ms']:.1f}" if 16 in cells else ""
        peak = f"{cells[max(cells)]['peak_mib']:.0f}"
        lines.append(f"| {kind} | {size}² | {batch} | {timings} | {forward16} | {peak} |")
    notes = []
    for kind, reference in DIFFVG_16_STROKES_224_MS.items():
        match = [r for r in rows if (r["strokes"], r["size"], r["batch"], r["count"]) == (kind, 224, 1, 16)]
        if match:
            ours = match[0]["forward_backward_ms"]
            notes.append(f"{kind} strokes: {ours:.1f} ms vs diffvg {reference:.0f} ms = {reference / ours:.0f}× faster")
    return "\n".join(lines) + ("\n\nforward+backward, 16 strokes at 224², batch 1: " + "; ".join(notes) if notes else "")


if __name__ == "__main__":
    main()
