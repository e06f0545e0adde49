"""Soak: does a long-running server's memory level off? 200 small jobs against a real `clipsketch serve` process.

Each job sends a different photo (a random crop of scikit-image's photos, so the results cache misses and fills
up), 4 strokes, a few iterations, 1 seed. The server's resident memory (VmRSS) is read every 20 jobs. Run it with
the machine to itself: `python benchmarks/soak.py [--jobs 200] [--backbone offline] [--mask]`.
"""

from __future__ import annotations

import argparse
import io
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import skimage.data
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from clipsketch.client import SketchClient  # noqa: E402
from clipsketch.server.service import serve_command, serve_environment  # noqa: E402


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def photos(count: int, seed: int = 0):
    """``count`` different PNG photos: random crops (at least 160 px) of four scikit-image photos."""
    sources = [skimage.data.chelsea(), skimage.data.astronaut(), skimage.data.coffee(), skimage.data.rocket()]
    generator = np.random.default_rng(seed)
    for k in range(count):
        source = sources[k % len(sources)]
        height, width = source.shape[:2]
        h, w = generator.integers(160, height + 1), generator.integers(160, width + 1)
        top, left = generator.integers(0, height - h + 1), generator.integers(0, width - w + 1)
        buffer = io.BytesIO()
        Image.fromarray(source[top : top + h, left : left + w]).save(buffer, "PNG")
        yield buffer.getvalue()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--every", type=int, default=20)
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--backbone", default="offline")
    parser.add_argument("--mask", action=argparse.BooleanOptionalAction, default=True)
    args = parser.parse_args()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{probe.getsockname()[1]}"
    environment = serve_environment()
    environment.setdefault("HF_HUB_OFFLINE", "1")
    server = subprocess.Popen([*serve_command(), "serve", "--listen", address, "--backbone", args.backbone,
                               "--preload"], env=environment, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              text=True)
    try:
        server.stdout.readline()  # "listening on …" once the models are loaded
        rows = [(0, rss_mib(server.pid), 0.0)]
        start = time.perf_counter()
        with SketchClient(address) as client:
            for k, photo in enumerate(photos(args.jobs), start=1):
                client.sketch(photo, strokes=[4], iterations=args.iterations, seeds=1, mask=args.mask)
                if k % args.every == 0:
                    rows.append((k, rss_mib(server.pid), time.perf_counter() - start))
    finally:
        server.terminate()
        server.wait(30)
    print(f"soak: {args.jobs} jobs, {args.backbone} backbone, mask {'on' if args.mask else 'off'}, "
          f"{args.iterations} iterations, {os.cpu_count()} cores")
    print("| jobs | server RSS (MiB) | change since the previous row | seconds |")
    print("|---:|---:|---:|---:|")
    previous = rows[0][1]
    for jobs, rss, seconds in rows:
        print(f"| {jobs} | {rss:.0f} | {rss - previous:+.0f} | {seconds:.0f} |")
        previous = rss
    return 0


if __name__ == "__main__":
    sys.exit(main())
