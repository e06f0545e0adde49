"""Stacked strokes in a gallery: for each case of a ``quality.py`` results file, how many of its strokes run, for
80 % of their length, within one stroke width of the other strokes' centre lines (issue 32's measure,
:func:`clipsketch.core.stacked.stacked_strokes`), and whether the case meets the bar (at most one stroke in eight).

    python benchmarks/stacked.py RESULTS.json [MORE.json ...] [--strokes 4 8 16]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def stacked_counts(path: Path, counts: list[int]) -> list[tuple[str, int, int]]:
    """``(case, stacked strokes, strokes)`` for each case of the results file at ``path`` with a stroke count in
    ``counts``, in the file's order."""
    import torch

    from clipsketch.core.stacked import stacked_strokes

    cases = json.loads(path.read_text())["cases"]
    rows = []
    for name, case in cases.items():
        if case["strokes"] not in counts or case.get("joined"):
            continue
        points = torch.tensor(case["points"])[None]
        widths = torch.tensor(case["widths"])[None] if "widths" in case else torch.full(points.shape[:2],
                                                                                          case["width"])
        rows.append((name, int(stacked_strokes(points, widths).sum()), case["strokes"]))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("results", nargs="+", type=Path)
    parser.add_argument("--strokes", nargs="+", type=int, default=[4, 8, 16])
    args = parser.parse_args()
    for path in args.results:
        print(f"{path}\n| case | stacked | strokes | at most 1 in 8 |\n|---|---|---|---|")
        for name, stacked, count in stacked_counts(path, args.strokes):
            print(f"| {name} | {stacked} | {count} | {'yes' if stacked <= count / 8 else 'no'} |")


if __name__ == "__main__":
    main()
