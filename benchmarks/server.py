"""Benchmark the server path against the in-process engine for the same job.

The same sketch (``skimage.data.chelsea()``, 8 strokes, 1 seed, ``--iterations`` steps, no mask, the offline
backbone so that it runs here) is timed in-process with ``Engine.sketch`` and through ``clipsketch serve`` in a
separate process on 127.0.0.1 (models loaded before timing in both). Reports the server's overhead as a ratio,
and the time from sending the request to the first progress event. Prints a table and writes JSON.

    python benchmarks/server.py [--iterations 100] [--repeats 3]
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import skimage.data
import torch
from PIL import Image

from clipsketch.client import SketchClient
from clipsketch.core.engine import Engine
from clipsketch.core.options import SketchOptions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iterations", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "server-cpu.json")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    buffer = io.BytesIO()
    Image.fromarray(skimage.data.chelsea()).save(buffer, "PNG")
    photo = buffer.getvalue()
    job = {"strokes": (8,), "iterations": args.iterations, "seeds": 1, "mask": False}

    engine = Engine(backbone="offline", device="cpu")
    in_process = []
    for repeat in range(args.repeats):
        start = time.perf_counter()
        engine.sketch(photo, SketchOptions(seed=repeat, **job))
        in_process.append(time.perf_counter() - start)
    del engine

    server = subprocess.Popen([sys.executable, "-m", "clipsketch.cli", "serve", "--listen", "127.0.0.1:0",
                               "--preload", "--backbone", "offline", "--device", "cpu"],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                              env={**__import__("os").environ, "OMP_NUM_THREADS": str(args.threads)})
    try:
        address = server.stdout.readline().rsplit(" ", 1)[1].strip()
        through_server, first_progress = [], []
        with SketchClient(address) as client:
            for repeat in range(args.repeats):
                start = time.perf_counter()
                first = None
                for event in client.events(photo, strokes=list(job["strokes"]), iterations=args.iterations, seeds=1,
                                           seed=repeat, mask=False):
                    if first is None and event.HasField("progress"):
                        first = time.perf_counter() - start
                through_server.append(time.perf_counter() - start)
                first_progress.append(first)
    finally:
        server.terminate()
        server.wait(30)

    local, remote = statistics.median(in_process), statistics.median(through_server)
    rows = {"iterations": args.iterations, "in_process_s": local, "server_s": remote,
            "overhead_ratio": remote / local, "first_progress_s": statistics.median(first_progress),
            "in_process_runs": in_process, "server_runs": through_server}
    table = "\n".join([
        f"| job (8 strokes, 1 seed, {args.iterations} iterations, offline backbone) | seconds |",
        "|---|---|",
        f"| in-process `Engine.sketch` | {local:.2f} |",
        f"| through `clipsketch serve` on 127.0.0.1 | {remote:.2f} |",
        f"| server / in-process | {remote / local:.3f} |",
        f"| request → first progress event | {statistics.median(first_progress):.2f} |",
    ])
    print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({**rows, "table": table}, indent=1))
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
