"""A drawing that draws itself: a sketch as an SVG whose strokes appear one after another, as a person draws.

The order is the one a person would take: the largest and most salient strokes first (each stroke's length on the
canvas times the saliency under it, :func:`drawing_order`, which the pipeline records in every sketch's metadata
as ``drawing-order``, so that a sketch made anywhere, a server included, can be animated from its SVG alone). Each stroke draws itself from its start to its end with
CSS stroke-dash animation (the path's ``pathLength`` is 1, so one dash is the whole stroke), over a time that
grows with its length; a tapered stroke's filled outline is revealed by a mask whose centre line draws itself the
same way. A one-line sketch is one path: the line draws itself from start to end. Plays in any browser; nothing
but CSS (no script). Times in seconds.
"""

from __future__ import annotations

import svgpathtools
import torch
from lxml import etree

from clipsketch.core.reseed import stroke_lengths
from clipsketch.core.strokes import Strokes, bernstein
from clipsketch.core.svg import CLIPSKETCH_NS, SVG_NS, SvgError, number

STROKE_SECONDS = (0.3, 1.5)
"""The shortest stroke draws in the first, the longest in the second; others in between, by length."""

PAUSE_SECONDS = 0.15
"""The pen lifts between two strokes for this long."""

ONE_LINE_SECONDS = 8.0
"""A one-line sketch draws itself in this long."""

_STYLE = """@keyframes clipsketch-draw { to { stroke-dashoffset: 0; } }
.clipsketch-draw { stroke-dasharray: 1 2; stroke-dashoffset: 1.001; animation-name: clipsketch-draw;
  animation-timing-function: ease-in-out; animation-fill-mode: forwards; }"""


def drawing_order(strokes: Strokes, saliency: torch.Tensor | None) -> list[int]:
    """Stroke indices of sketch 0, first drawn first: by length (canvas pixels) times the mean of ``saliency
    [S, S]`` under the stroke (plus a tenth of its peak, so strokes on unsalient ground still rank by length);
    None: by length alone."""
    points = strokes.points[0].detach().float().cpu()
    lengths = stroke_lengths(points)
    weight = torch.ones_like(lengths)
    if saliency is not None:
        size = saliency.shape[-1]
        samples = torch.einsum("tk,nkd->ntd", bernstein(torch.linspace(0, 1, 17)), points).long().clamp(0, size - 1)
        under = saliency.detach().float().cpu()[samples[..., 1], samples[..., 0]].mean(-1)
        weight = under + 0.1 * float(saliency.max())
    return torch.argsort(lengths * weight, descending=True, stable=True).tolist()


def animated_svg(svg: str | bytes) -> str:
    """The self-drawing version of a sketch clipsketch wrote (:func:`~clipsketch.core.svg.strokes_to_svg`; see
    the module docstring): its paths drawn in the order its metadata records (``drawing-order``; else longest
    first), each over a time that grows with its length; the total ``duration`` (seconds) is added to the
    metadata. Raises :class:`~clipsketch.core.svg.SvgError` for a document that is not such a sketch."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    try:
        root = etree.fromstring(svg.encode() if isinstance(svg, str) else svg, parser)
    except etree.XMLSyntaxError as error:
        raise SvgError(f"not a well-formed SVG document: {error}") from None
    group = root.find(f"{{{SVG_NS}}}g[@id='sketch']")
    facts = root.find(f"{{{SVG_NS}}}metadata/{{{CLIPSKETCH_NS}}}sketch")
    if group is None or facts is None:
        raise SvgError("not a clipsketch sketch: no <g id=\"sketch\"> and metadata to animate")
    paths = group.findall(f"{{{SVG_NS}}}path")
    centre = [path.get(f"{{{CLIPSKETCH_NS}}}centerline") or path.get("d", "") for path in paths]
    lengths = [svgpathtools.parse_path(d).length() if d else 0.0 for d in centre]
    joined = facts.get("one-line") == "true"
    order = _recorded_order(facts.get("drawing-order"), len(paths)) or \
        sorted(range(len(paths)), key=lambda k: -lengths[k])
    longest = max(lengths, default=1.0) or 1.0
    shortest, slowest = STROKE_SECONDS
    durations = [ONE_LINE_SECONDS if joined else shortest + (slowest - shortest) * length / longest
                 for length in lengths]
    starts, clock = {}, 0.0
    for k in order:
        starts[k] = clock
        clock += durations[k] + PAUSE_SECONDS
    facts.set("duration", f"{max(clock - PAUSE_SECONDS, 0.0):.2f}")
    style = etree.Element(f"{{{SVG_NS}}}style")
    style.text = _STYLE
    defs = etree.Element(f"{{{SVG_NS}}}defs")
    group.addprevious(style)
    group.addprevious(defs)
    for k, path in enumerate(paths):  # the document's own order stays: strokes overlap as in the still one
        timing = f"animation-duration: {durations[k]:.3f}s; animation-delay: {starts[k]:.3f}s"
        if path.get(f"{{{CLIPSKETCH_NS}}}centerline") is not None:  # a filled outline, revealed by a mask
            mask = etree.SubElement(defs, f"{{{SVG_NS}}}mask", attrib={
                "id": f"reveal-{k}", "maskUnits": "userSpaceOnUse", "x": "0", "y": "0",
                "width": root.get("width", "100%"), "height": root.get("height", "100%")})
            width = float(path.get(f"{{{CLIPSKETCH_NS}}}width", "1"))
            etree.SubElement(mask, f"{{{SVG_NS}}}path", attrib={
                "d": centre[k], "pathLength": "1", "class": "clipsketch-draw", "style": timing, "fill": "none",
                "stroke": "#ffffff", "stroke-width": number(1.5 * width, 3), "stroke-linecap": "round"})
            path.set("mask", f"url(#reveal-{k})")
        else:
            path.attrib.update({"pathLength": "1", "class": "clipsketch-draw", "style": timing})
    return etree.tostring(root, pretty_print=True, xml_declaration=True, encoding="UTF-8").decode()


def _recorded_order(text: str | None, count: int) -> list[int] | None:
    """The ``drawing-order`` metadata as stroke indices, when it names each of ``count`` paths once."""
    try:
        order = [int(v) for v in (text or "").split()]
    except ValueError:
        return None
    return order if sorted(order) == list(range(count)) else None
