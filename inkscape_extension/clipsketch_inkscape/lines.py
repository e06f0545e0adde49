"""Tapered lines as Inkscape's own Taper Stroke path effect: written into a sketch's layer, read back by Refine.

A tapered stroke arrives as its centre line, its full width and its taper (the fraction of the line at each end
that thins to a point) with the filled outline the server drew it as. In the document it becomes a path whose
``inkscape:original-d`` is the centre line (what the node tool edits), whose ``d`` is that outline (what Inkscape
shows until the effect is next computed, and what other SVG readers draw), filled with the stroke's colour, and an
``inkscape:path-effect`` of type ``taper_stroke`` in ``<defs>`` with the stroke's width and, as its start and end
offsets, the curve's parameters (Taper Stroke's path time: a single cubic runs from 0 to 1) where the taper's
lengths end: the engine tapers by length. Moving a node recomputes the outline.
"""

from __future__ import annotations

import inkex
from inkex import bezier

TAPER_STROKE = "taper_stroke"
SMOOTHING = 0.5
"""Taper Stroke's smoothing of each taper (its default): a rounded thinning, close to the engine's quarter sine."""


def tapered_path(svg: inkex.SvgDocumentElement, centre: str, outline: str, width: float, taper: float, color: str,
                 opacity: float) -> inkex.PathElement:
    """A path drawn by Taper Stroke: ``centre`` (one cubic) and ``outline`` path data and ``width`` in document
    units; ``taper`` the fraction of its length at each end that thins."""
    start, end = taper_times(centre, taper)
    effect = inkex.PathEffect()
    effect.set("id", svg.get_unique_id("clipsketch-taper-"))
    for name, value in {"effect": TAPER_STROKE, "is_visible": "true", "lpeversion": "1",
                        "stroke_width": f"{width:.4g}", "attach_start": f"{start:.4g}", "end_offset": f"{end:.4g}",
                        "start_smoothing": f"{SMOOTHING}", "end_smoothing": f"{SMOOTHING}",
                        "smoothing": f"{SMOOTHING}", "jointype": "round", "start_shape": "center",
                        "end_shape": "center", "miter_limit": "100"}.items():
        effect.set(name, value)
    svg.defs.add(effect)
    element = inkex.PathElement.new(path=outline)
    element.set("inkscape:original-d", centre)
    element.set("inkscape:path-effect", f"#{effect.get_id()}")
    element.style = inkex.Style({"fill": color, "fill-opacity": f"{opacity:.3g}", "stroke": "none"})
    return element


def taper_times(centre: str, taper: float) -> tuple[float, float]:
    """Taper Stroke's start and end offsets (path time, each from its own end) for a taper over the first and
    last ``taper`` of the length of the cubic ``centre``."""
    superpath = inkex.Path(centre).to_superpath()
    (first, second) = superpath[0][:2]
    cubic = (first[1], first[2], second[0], second[1])
    if bezier.bezierlength(cubic) <= 1e-9:
        return taper, taper
    return (bezier.beziertatlength(cubic, taper), 1 - bezier.beziertatlength(cubic, 1 - taper))


def taper_effect(path: inkex.PathElement) -> inkex.BaseElement | None:
    """The Taper Stroke effect ``path`` is drawn with, if it is one (a single effect of that type)."""
    reference = (path.get("inkscape:path-effect") or "").strip()
    if not reference.startswith("#") or ";" in reference or path.get("inkscape:original-d") is None:
        return None
    effect = path.root.getElementById(reference[1:]) if path.root is not None else None
    return effect if effect is not None and effect.get("effect") == TAPER_STROKE else None


def centre_line(path: inkex.PathElement) -> tuple[str, float, str, float] | None:
    """For a Taper Stroke path: its centre line's data, full width (its own units), ``#rrggbb`` colour (its fill)
    and opacity; None for any other path."""
    effect = taper_effect(path)
    if effect is None:
        return None
    style = path.specified_style() if hasattr(path, "specified_style") else path.style
    try:
        width = float(effect.get("stroke_width") or 1.0)
        color = inkex.Color(style.get("fill") or "black").to_rgb()
        opacity = float(style.get("fill-opacity") or 1.0)
    except (inkex.colors.ColorError, ValueError):
        return None
    return path.get("inkscape:original-d"), width, str(color), min(max(opacity, 0.0), 1.0)
