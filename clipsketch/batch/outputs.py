"""A batch's outputs, written atomically: each file appears whole (a temporary file beside it, then a rename) or
not at all, whenever the batch is stopped or killed."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from pathlib import Path

from clipsketch.batch.photos import Photo

TEMPORARY_PREFIX = ".clipsketch-partial-"
"""Names of files being written; a batch killed mid-write leaves some, the next one in that folder removes them."""


def write_atomically(path: Path, write: Callable[[Path], None]) -> None:
    """Call ``write(temporary)`` (a path in ``path``'s folder that keeps its suffix), then rename it to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f"{TEMPORARY_PREFIX}{uuid.uuid4().hex[:8]}-{path.name}")
    try:
        write(temporary)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def remove_leftovers(out: Path) -> int:
    """Remove the temporary files a killed batch left below ``out``; returns how many there were."""
    leftovers = list(out.rglob(f"{TEMPORARY_PREFIX}*")) if out.exists() else []
    for path in leftovers:
        path.unlink(missing_ok=True)
    return len(leftovers)


def write_sketch(out: Path, photo: Photo, svgs: dict[int, str], png: bool, animate: bool = False) -> list[Path]:
    """Write the SVG of each stroke count (``svgs``) at the photo's place below ``out``, and beside each a PNG
    when ``png`` and a self-drawing SVG (``…-animated.svg``) when ``animate``; returns the paths written,
    relative to ``out``."""
    written = []
    for count, svg in svgs.items():
        relative = Path(photo.output(count))
        write_atomically(out / relative, lambda temporary: temporary.write_text(svg, encoding="utf-8"))
        written.append(relative)
        if png:
            from clipsketch.core.render import render_in_frame, save_png
            from clipsketch.core.svg import svg_to_strokes

            sketch = svg_to_strokes(svg)
            picture = render_in_frame(sketch.strokes, sketch.frame).rgb[0]
            write_atomically(out / relative.with_suffix(".png"), lambda temporary: save_png(picture, temporary))
            written.append(relative.with_suffix(".png"))
        if animate:
            from clipsketch.core.animate import animated_svg

            moving = animated_svg(svg)
            animated = relative.with_name(f"{relative.stem}-animated.svg")
            write_atomically(out / animated, lambda temporary: temporary.write_text(moving, encoding="utf-8"))
            written.append(animated)
    return written
