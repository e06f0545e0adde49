"""Blind recognition, step 1: the gallery's sketches as rater sets (issue 32, "Measures you can trust").

Each sketch is drawn to a PNG (black strokes on white, every one on the same square canvas, so the picture's shape
tells nothing about the photo) under an opaque random name, and the sketches are dealt out as a Latin square: with
P photos and C stroke counts, rater r sees every photo exactly once, photo p at the count of index (p + r) mod C;
over C raters every (photo, count) is seen once, over 2 × C (the default) twice. Each rater gets a folder
``rater-XX/`` holding its PNGs and an ``instructions.md`` (the classes, plain words, and "none"; one answer per
file, written to ``answers.json``); the key (file -> photo, stroke count) is ``key.json`` beside the folders,
never inside one. The same sketches and ``--seed`` give the same sets.

Variants side by side: given several sources (``--results NAME=PATH`` or ``--svgs NAME=DIR``, repeated), each a
variant, the square deals out (stroke count, variant) pairs instead of counts: every rater still sees every photo
once, some photos as one variant and some as another, so the variants are judged by the same raters in the same
round (rounds of different raters differ by several points; docs/benchmarks.md). ``rater_scores.py`` then scores
each variant apart.

    python benchmarks/rater_sets.py --results benchmarks/results/quality-offline-cpu.json --schedule fast \\
        --out benchmarks/results/raters/2026-12-06
    python benchmarks/rater_sets.py --svgs SKETCHES/ --out ...     (SVGs named PHOTO-N-strokes.svg, as the CLI writes)
    python benchmarks/rater_sets.py --results before=A.json --results after=B.json --schedule fast --out ...

Then show each rater only its own ``rater-XX/`` folder, and score with ``benchmarks/rater_scores.py``.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from dataclasses import dataclass, replace
from pathlib import Path

CLASSES = {
    "chelsea": ("cat", "a cat"),
    "astronaut": ("face", "a person's face (a portrait)"),
    "coffee": ("cup", "a cup or mug"),
    "rocket": ("rocket", "a rocket"),
    "camera": ("photographer", "a person with a camera (a photographer)"),
    "horse": ("horse", "a horse"),
    "clock": ("clock", "a clock"),
    "motorcycle": ("motorcycle", "a motorcycle"),
}
"""What each photo of ``benchmarks/quality.py``'s GALLERY shows, offered to raters as (answer word, description).
``astronaut`` is a head-and-shoulders portrait (the suit reads as clothes), so its class is a face; ``camera`` is a
man behind a camera on a tripod, so its class is a person with a camera, not a camera."""

NONE = "none"
"""The answer for "none of these"."""

SVG_NAME = re.compile(r"^(?P<photo>.+)-(?P<count>\d+)-strokes\.svg$")


@dataclass
class Sketch:
    """One sketch to show: its photo, stroke count and strokes (canvas pixels, batch of one), and the variant it is
    of ("" where only one is shown)."""

    photo: str
    count: int
    strokes: object  # clipsketch.core.strokes.Strokes
    variant: str = ""


def from_results(path: Path, schedule: str | None = None) -> list[Sketch]:
    """The sketches of a ``benchmarks/quality.py`` results file: each case's ``points``, ``widths`` and ``taper``
    (or its ``svg``, where a case holds one), of ``schedule`` (may be left out where the file holds one)."""
    import torch

    from clipsketch.core.strokes import Strokes
    from clipsketch.core.svg import svg_to_strokes

    cases = json.loads(path.read_text())["cases"].values()
    schedules = sorted({case["schedule"] for case in cases})
    if schedule is None:
        if len(schedules) != 1:
            raise SystemExit(f"{path} holds several schedules ({', '.join(schedules)}): name one with --schedule")
        schedule = schedules[0]
    elif schedule not in schedules:
        raise SystemExit(f"{path} has no schedule {schedule!r} (it has {', '.join(schedules)})")
    sketches = []
    for case in cases:
        if case["schedule"] != schedule:
            continue
        if "svg" in case:
            strokes = on_whole_photo(svg_to_strokes(case["svg"]))
        else:
            points = torch.tensor(case["points"], dtype=torch.float32)[None]
            strokes = Strokes.from_points(points, case["width"])
            if "widths" in case:
                strokes = Strokes(points, torch.tensor(case["widths"], dtype=torch.float32)[None], strokes.colors,
                                  strokes.canvas_size, case.get("taper", 0.0))
        sketches.append(Sketch(case["photo"], int(case["strokes"]), strokes))
    return sketches


def from_svgs(folder: Path) -> list[Sketch]:
    """The sketches of a folder of SVGs named ``PHOTO-N-strokes.svg`` (what ``clipsketch sketch`` writes)."""
    from clipsketch.core.svg import svg_to_strokes

    sketches = []
    for path in sorted(folder.glob("*.svg")):
        match = SVG_NAME.match(path.name)
        if match is None:
            print(f"skipped {path.name}: not named PHOTO-N-strokes.svg", file=sys.stderr)
            continue
        strokes = on_whole_photo(svg_to_strokes(path.read_bytes()))
        sketches.append(Sketch(match["photo"], int(match["count"]), strokes))
    return sketches


def on_whole_photo(imported):
    """An imported SVG's strokes on the whole photo padded to a square (the default margin), as a results file
    holds them: a sketch drawn on a window around a small subject is shown where it lies on the photo."""
    from clipsketch.core.frame import Frame, reframed
    from clipsketch.core.options import DEFAULT_MARGIN

    frame = imported.frame
    whole = Frame.padded(frame.width, frame.height, frame.canvas_size, DEFAULT_MARGIN)
    points, widths = reframed(imported.strokes.points, imported.strokes.widths, frame, whole)
    return replace(imported.strokes, points=points, widths=widths)


def render(sketch: Sketch, path: Path, size: int) -> None:
    """The sketch as a ``size``-pixel square PNG: its whole canvas, black on white."""
    from clipsketch.core.frame import Frame
    from clipsketch.core.render import render_in_frame, save_png

    strokes = sketch.strokes
    raster = render_in_frame(strokes, Frame.identity(strokes.canvas_size), size / strokes.canvas_size)
    save_png(raster.rgb[0], path)


def latin_square(photos: list[str], cells: list, raters: int) -> list[list[tuple[str, object]]]:
    """Per rater, the (photo, cell) it sees: every photo once, photo ``p`` as ``cells[(p + r) % len(cells)]`` (a
    cell: a stroke count, or a (stroke count, variant) pair)."""
    return [[(photo, cells[(p + r) % len(cells)]) for p, photo in enumerate(photos)] for r in range(raters)]


def class_words(photos: list[str], extra: dict[str, str]) -> dict[str, str]:
    """The answer word of each photo: :data:`CLASSES`, or ``--class PHOTO=WORD`` for a photo of one's own."""
    words = {}
    for photo in photos:
        if photo in extra:
            words[photo] = extra[photo]
        elif photo in CLASSES:
            words[photo] = CLASSES[photo][0]
        else:
            raise SystemExit(f"no class for photo {photo!r}: give one with --class {photo}=WORD")
    return words


def offered_classes(words: dict[str, str]) -> list[tuple[str, str]]:
    """The choices every rater gets, (word, description): all of the gallery's classes (even for a smaller set),
    then the classes of one's own photos, then "none"."""
    offered = {word: description for word, description in CLASSES.values()}
    for word in words.values():
        offered.setdefault(word, word)
    return sorted(offered.items()) + [(NONE, "none of these / nothing I can recognise")]


def instructions(files: list[str], classes: list[tuple[str, str]]) -> str:
    """What a rater reads: the task, the choices, and the answers file to write."""
    choices = "\n".join(f"- `{word}`: {description}" for word, description in classes)
    example = json.dumps({name: "..." for name in files[:2]}, indent=2)
    listing = "\n".join(f"- `{name}`" for name in files)
    return f"""# What does each drawing show?

This folder holds {len(files)} drawings, each a few black lines on white. Look at each one on its own and say what
it shows, choosing exactly one of these words:

{choices}

Choose `{NONE}` when the drawing shows none of these, or nothing you can recognise. Give your first honest reading:
do not guess from the other drawings, the file names (they are random) or the number of lines, and do not look for
the photos they were drawn from.

The drawings:

{listing}

Write your answers as `answers.json` in this folder, one entry per drawing, the file name and one word from the list:

```json
{example}
```
"""


def make_sets(sketches: list[Sketch], out: Path, raters: int | None, seed: int, size: int,
              extra_classes: dict[str, str] | None = None) -> dict:
    """Render the rater sets into ``out`` (``rater-XX/`` folders and ``key.json``) and return the key. Sketches of
    several variants are dealt out side by side (the module says how)."""
    found = {(s.photo, s.count, s.variant): s for s in sketches}
    if len(found) != len(sketches):
        raise SystemExit("two sketches share a photo, stroke count and variant")
    photos = sorted({s.photo for s in sketches})
    counts = sorted({s.count for s in sketches})
    variants = list(dict.fromkeys(s.variant for s in sketches))  # in the order given
    cells = [(count, variant) for count in counts for variant in variants]
    missing = [f"{photo}-{count}" + (f" ({variant})" if variant else "") for photo in photos
               for count, variant in cells if (photo, count, variant) not in found]
    if missing:
        raise SystemExit(f"a Latin square needs every photo at every count; missing: {', '.join(missing)}")
    raters = raters or 2 * len(cells)
    words = class_words(photos, extra_classes or {})
    classes = offered_classes(words)
    if out.exists() and any(out.iterdir()):
        raise SystemExit(f"{out} is not empty: rater sets are made once, into a fresh folder")
    rng = random.Random(seed)
    used: set[str] = set()
    side_by_side = len(variants) > 1
    key = {"seed": seed, "photos": photos, "counts": counts, **({"variants": variants} if side_by_side else {}),
           "classes": [word for word, _ in classes], "answer": words, "none": NONE, "raters": {}}
    for r, seen in enumerate(latin_square(photos, cells, raters)):
        folder = out / f"rater-{r + 1:02d}"
        order = list(seen)
        rng.shuffle(order)
        files = {}
        for photo, (count, variant) in order:
            name = f"{rng.getrandbits(40):010x}.png"
            while name in used:
                name = f"{rng.getrandbits(40):010x}.png"
            used.add(name)
            render(found[photo, count, variant], folder / name, size)
            files[name] = {"photo": photo, "strokes": count, **({"variant": variant} if side_by_side else {})}
        (folder / "instructions.md").write_text(instructions(sorted(files), classes))
        key["raters"][folder.name] = dict(sorted(files.items()))
    (out / "key.json").write_text(json.dumps(key, indent=1) + "\n")
    return key


def times_shown(key: dict) -> dict[tuple, int]:
    """How many raters see each (photo, stroke count) of a key, or each (photo, stroke count, variant) of a key
    with variants side by side."""
    variants = key.get("variants")

    def cell(photo: str, count: int, variant: str = "") -> tuple:
        return (photo, count, variant) if variants else (photo, count)

    shown = {cell(photo, count, variant): 0 for photo in key["photos"] for count in key["counts"]
             for variant in variants or [""]}
    for files in key["raters"].values():
        for seen in files.values():
            shown[cell(seen["photo"], seen["strokes"], seen.get("variant", ""))] += 1
    return shown


def named_sources(values: list[str]) -> list[tuple[str, Path]]:
    """``[NAME=]PATH`` arguments as (variant, path): one source is the only variant (""); several are named by
    NAME, or by the file's or folder's name without its suffix."""
    sources = []
    for value in values:
        name, sep, path = value.partition("=")
        if not sep or "/" in name or "\\" in name:  # a path that holds "=" itself
            name, path = "", value
        sources.append((name or Path(path).stem, Path(path)) if len(values) > 1 else ("", Path(path)))
    if len({name for name, _ in sources}) != len(sources):
        raise SystemExit("each source needs a name of its own: NAME=PATH")
    return sources


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--results", action="append", metavar="[NAME=]PATH",
                        help="a benchmarks/quality.py results JSON; repeated, variants shown side by side")
    source.add_argument("--svgs", action="append", metavar="[NAME=]DIR",
                        help="a folder of PHOTO-N-strokes.svg files; repeated, variants shown side by side")
    parser.add_argument("--schedule", help="with --results: the schedule whose sketches are shown (the same for "
                                           "every source)")
    parser.add_argument("--photos", nargs="+", help="only these photos")
    parser.add_argument("--strokes", nargs="+", type=int, help="only these stroke counts")
    parser.add_argument("--raters", type=int, help="how many raters (default 2 × the stroke counts × the variants: "
                                                   "each sketch judged twice); a multiple of that keeps it balanced")
    parser.add_argument("--class", dest="classes", action="append", default=[], metavar="PHOTO=WORD",
                        help="the class of a photo outside the gallery")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--size", type=int, default=448, help="pixels a side of each PNG")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    import torch

    torch.set_num_threads(1)
    sketches = []
    sources = named_sources(args.results or args.svgs)
    for variant, path in sources:
        found = from_results(path, args.schedule) if args.results else from_svgs(path)
        sketches += [replace(sketch, variant=variant) for sketch in found]
    sketches = [s for s in sketches if (not args.photos or s.photo in args.photos)
                and (not args.strokes or s.count in args.strokes)]
    if not sketches:
        raise SystemExit("no sketches to show")
    empty = [name for name, _ in sources if not any(s.variant == name for s in sketches)]
    if empty:
        raise SystemExit(f"no sketches to show from {', '.join(map(repr, empty))}")
    extra = dict(item.split("=", 1) for item in args.classes)
    key = make_sets(sketches, args.out, args.raters, args.seed, args.size, extra)
    shown = times_shown(key)
    print(f"{len(key['raters'])} raters × {len(key['photos'])} photos in {args.out}: {len(shown)} sketches, each "
          f"shown {min(shown.values())} to {max(shown.values())} times; the key is {args.out / 'key.json'}: "
          f"keep it from the raters")


if __name__ == "__main__":
    main()
