"""What a sketch leaves on disk, named one way (:func:`sketch_file`): ``NAME-N-strokes.svg`` per stroke count,
beside it ``.png`` (drawn from the strokes) and ``-animated.svg`` (it draws itself in a browser), and
``NAME-contact-sheet.png``. Each file is written atomically: a temporary file beside it, then a rename, so it
appears whole or not at all whenever the writer is stopped or killed."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path, PurePosixPath

TEMPORARY_PREFIX = ".clipsketch-partial-"
"""Names of files being written; a batch killed mid-write leaves some, the next one in that folder removes them."""


def sketch_file(place: PurePosixPath, count: int, suffix: str = ".svg") -> PurePosixPath:
    """The file of the ``count``-stroke sketch of the photo at ``place`` (its path without suffix)."""
    return place.with_name(f"{place.name}-{count}-strokes{suffix}")


def animated_file(svg_file: PurePosixPath) -> PurePosixPath:
    """The self-drawing SVG beside ``svg_file``."""
    return svg_file.with_name(f"{svg_file.stem}-animated.svg")


def contact_sheet_file(place: PurePosixPath) -> PurePosixPath:
    return place.with_name(f"{place.name}-contact-sheet.png")


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
    """Remove the temporary files a killed writer left below ``out``; returns how many there were."""
    leftovers = list(out.rglob(f"{TEMPORARY_PREFIX}*")) if out.exists() else []
    for path in leftovers:
        path.unlink(missing_ok=True)
    return len(leftovers)


def write_sketches(out: Path, place: PurePosixPath, sketches: Sequence, png: bool = True, animate: bool = False,
                   photo=None) -> list[PurePosixPath]:
    """Write each :class:`~clipsketch.session.Sketch` of the photo at ``place`` (its path below ``out``, without
    suffix): the SVG, a PNG when ``png``, a self-drawing SVG when ``animate``, and a contact sheet of ``photo``
    (a PIL image) beside them when it is given and there are several sketches. Returns the paths written,
    relative to ``out``."""
    from clipsketch.core.animate import animated_svg
    from clipsketch.core.render import contact_sheet, render_in_frame, save_png

    written = []

    def write(relative: PurePosixPath, save: Callable[[Path], None]) -> None:
        write_atomically(out / relative, save)
        written.append(relative)

    for sketch in sketches:
        svg_file = sketch_file(place, sketch.count)
        write(svg_file, lambda path: path.write_text(sketch.svg, encoding="utf-8"))
        if png:
            picture = render_in_frame(sketch.strokes, sketch.frame).rgb[0]
            write(svg_file.with_suffix(".png"), lambda path: save_png(picture, path))
        if animate:
            moving = animated_svg(sketch.svg)
            write(animated_file(svg_file), lambda path: path.write_text(moving, encoding="utf-8"))
    if photo is not None and len(sketches) > 1:
        sheet = contact_sheet(photo, [(sketch.count, sketch.strokes, sketch.frame) for sketch in sketches])
        write(contact_sheet_file(place), lambda path: sheet.save(path, format="PNG"))
    return written
