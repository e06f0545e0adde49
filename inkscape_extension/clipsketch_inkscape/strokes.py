"""Refine's input: the selected paths as start strokes in the photo's pixels, read with inkex alone.

Any path data (M/L/H/V/C/S/Q/T/A, relative commands, several subpaths, ``Z``), in any transformed group, is
mapped through its composed transform and the inverse of the image's placement, then cut into cubic strokes by
inkex (``CubicSuperPath``; a line's controls at its thirds, as the engine's SVG reader puts them): each segment
is one stroke, so a long path counts as several (a segment of no length,
as a ``Z`` back to where the path already is, counts as none). Widths scale along; a path without a stroke (or
with a paint server) gets the dialog's colour. A tapered line (Inkscape's Taper Stroke path effect, as the sketch
layers hold them) is read by its centre line and the effect's width, not by the outline the effect fills.
"""

from __future__ import annotations

import inkex

from . import sketch_pb2 as pb
from .lines import centre_line
from .placement import composed_transform


class UnreadablePath(Exception):
    """A selected path's data cannot be read; the message names it."""


def start_strokes_from_paths(paths: list[inkex.PathElement], photo_to_doc: inkex.Transform, color: inkex.Color,
                             locked: bool) -> list[pb.StartStroke]:
    """The ``paths`` as ``StartStroke`` messages (points and widths in photo pixels), ``locked`` or not."""
    to_photo = -photo_to_doc
    strokes = []
    for path in paths:
        transform = to_photo @ composed_transform(path)
        tapered = centre_line(path)  # a tapered line: its centre line, not the outline Taper Stroke fills
        segments = _cubic_segments(path, transform, tapered[0] if tapered else None)
        if tapered:
            width, stroke_color, opacity = tapered[1], tapered[2], tapered[3]
        else:
            style = path.specified_style() if hasattr(path, "specified_style") else path.style
            stroke_color, opacity = _paint(style, color)
            width = float(inkex.units.convert_unit(style.get("stroke-width") or "1", "px") or 1.0)
        scale = abs(transform.a * transform.d - transform.b * transform.c) ** 0.5
        for points in segments:
            strokes.append(pb.StartStroke(points=points, width=max(width * scale, 0.01), color=stroke_color,
                                          opacity=opacity, locked=locked))
    return strokes


def _cubic_segments(path: inkex.PathElement, transform: inkex.Transform, data: str | None = None) -> list[list[float]]:
    """Each segment of ``path`` (or of the path ``data`` given for it) as a cubic's 8 numbers (x0 y0 … x3 y3)
    after ``transform``."""
    try:
        superpath = inkex.Path(data if data is not None else path.get("d") or "").transform(transform).to_superpath()
    except Exception as error:  # inkex raises several types for malformed data
        raise UnreadablePath(f"Path {path.get_id()}: its path data cannot be read ({error}).") from None
    segments = []
    for subpath in superpath:
        for start, end in zip(subpath, subpath[1:]):
            (x0, y0), (x3, y3) = start[1], end[1]
            if list(start[2]) == list(start[1]) and list(end[0]) == list(end[1]):  # a line: controls at thirds
                points = [x0, y0, x0 + (x3 - x0) / 3, y0 + (y3 - y0) / 3, x0 + 2 * (x3 - x0) / 3,
                          y0 + 2 * (y3 - y0) / 3, x3, y3]
            else:
                points = [x0, y0, *start[2], *end[0], x3, y3]
            if max(points[0::2]) - min(points[0::2]) + max(points[1::2]) - min(points[1::2]) > 1e-9:
                segments.append([float(v) for v in points])
    if not segments and (path.get("d") or "").strip():
        raise UnreadablePath(f"Path {path.get_id()}: its path data draws nothing ({path.get('d')[:40]!r}).")
    return segments


def _paint(style, fallback: inkex.Color) -> tuple[str, float]:
    """The stroke's ``#rrggbb`` and opacity (0..1): its own, else ``fallback`` and opaque."""
    value = (style.get("stroke") or "").strip()
    try:
        color = inkex.Color(value) if value and value != "none" and not value.startswith("url(") else fallback
        opacity = float(style.get("stroke-opacity") or 1.0)
    except (inkex.colors.ColorError, ValueError):
        color, opacity = fallback, 1.0
    return str(color.to_rgb()), min(max(opacity, 0.0), 1.0)
