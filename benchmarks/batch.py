"""Batch throughput: photos per hour through `clipsketch batch` with 1, 2, … local servers.

For each server count, that many `clipsketch serve` processes (the offline backbone, so that it runs here; the
machine's threads split evenly between them; models loaded before timing) sketch the same photos from
scikit-image's gallery with the default options (16 strokes, the fast schedule, no mask), and `clipsketch batch`
spreads the photos over them. Times the batch from start to end (the client's start-up included, the servers'
not). Needs the machine to itself. Prints a table and writes JSON.

    python benchmarks/batch.py [--photos 6] [--servers 1 2] [--device cpu]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import skimage.data
from PIL import Image

GALLERY = ["chelsea", "astronaut", "coffee", "rocket", "camera", "horse", "cat", "coins"]


def gallery(folder: Path, count: int) -> None:
    for k in range(count):
        image = np.asarray(getattr(skimage.data, GALLERY[k % len(GALLERY)])())
        if image.dtype == bool:
            image = image.astype(np.uint8) * 255
        Image.fromarray(image).save(folder / f"{k:02d}-{GALLERY[k % len(GALLERY)]}.png")


def start_servers(count: int, threads: int, device: str) -> tuple[list[subprocess.Popen], list[str]]:
    processes, addresses = [], []
    for _ in range(count):
        process = subprocess.Popen(
            [sys.executable, "-m", "clipsketch.cli", "serve", "--listen", "127.0.0.1:0", "--preload", "--backbone",
             "offline", "--device", device], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            env={**os.environ, "OMP_NUM_THREADS": str(threads)})
        processes.append(process)
    for process in processes:
        addresses.append(process.stdout.readline().rsplit(" ", 1)[1].strip())
    return processes, addresses


def run(photos: Path, servers: int, threads: int, device: str, extra: list[str]) -> dict:
    processes, addresses = start_servers(servers, threads, device)
    try:
        with tempfile.TemporaryDirectory() as out:
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "clipsketch.cli", "batch", str(photos), "--out", out, "--no-mask",
                            *extra, *[a for address in addresses for a in ("--server", address)]], check=True,
                           stdout=subprocess.DEVNULL, env={**os.environ, "OMP_NUM_THREADS": "1"})
            seconds = time.perf_counter() - start
            records = [json.loads(line) for line in (Path(out) / "clipsketch-batch.jsonl").read_text().splitlines()]
    finally:
        for process in processes:
            process.terminate()
            process.wait(60)
    done = [r for r in records if r["status"] == "done"]
    assert len(done) == len(records), "every photo sketched"
    return {"servers": servers, "threads_per_server": threads, "photos": len(done), "seconds": round(seconds, 1),
            "photos_per_hour": round(len(done) / seconds * 3600, 1),
            "median_job_seconds": round(statistics.median(r["seconds"] for r in done), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=int, default=6)
    parser.add_argument("--servers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="threads shared by the servers")
    parser.add_argument("--out", type=Path, default=None, help="JSON to write (default results/batch-DEVICE.json)")
    parser.add_argument("extra", nargs="*", help="more `clipsketch batch` options, after --")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        gallery(Path(folder), args.photos)
        for servers in args.servers:
            rows.append(run(Path(folder), servers, max(args.threads // servers, 1), args.device, args.extra))
            print(rows[-1], flush=True)
    base = rows[0]["photos_per_hour"]
    print(f"\n{'servers':>7} {'threads each':>12} {'photos':>6} {'seconds':>8} {'photos/hour':>11} "
          f"{'job s (median)':>14} {'vs first':>8}")
    for row in rows:
        print(f"{row['servers']:>7} {row['threads_per_server']:>12} {row['photos']:>6} {row['seconds']:>8} "
              f"{row['photos_per_hour']:>11} {row['median_job_seconds']:>14} "
              f"{row['photos_per_hour'] / base:>7.2f}x")
    out = args.out or Path(__file__).parent / "results" / f"batch-{args.device}.json"
    out.write_text(json.dumps({"device": args.device, "machine_threads": os.cpu_count(),
                               "options": "16 strokes, fast schedule, offline backbone, no mask " + " ".join(
                                   args.extra), "rows": rows}, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
