"""Strokes ⇄ standalone SVG documents.

Export writes one ``<path d="M x0 y0 C x1 y1 x2 y2 x3 y3">`` per stroke (``id="stroke-K"``, ``fill="none"``, round caps
and joins, the stroke's width and color) inside ``<g id="sketch">``, with coordinates and widths mapped through a
:class:`~clipsketch.core.frame.Frame` to the target rectangle (``viewBox="0 0 width height"``), and the run's
metadata as attributes of ``<metadata><clipsketch:sketch …/></metadata>``. Tapered strokes (whose width varies
along them) are written as filled outlines, which any SVG reader draws as the rasterizer does: the union of the
stroke's pieces, each the hull of two discs (:func:`outline_data`), with the centre line and full width kept in
``clipsketch:centerline`` and ``clipsketch:width``. A joined line (one-line sketches) is one ``<path>`` of every
stroke's segment, ``M … C … C …``.

Import reads such documents back into canvas pixels (using the recorded frame), and also other SVGs: every line,
quadratic, cubic or arc segment of every stroked path becomes one cubic stroke, with transforms, inherited
presentation attributes and ``style`` declarations applied.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np
import svgpathtools
import torch
from lxml import etree
from PIL import ImageColor

from clipsketch.core.frame import Frame
from clipsketch.core.options import DEFAULT_CANVAS_SIZE, StartStrokes, hex_color
from clipsketch.core.strokes import Strokes, bernstein, check_stroke_values, width_profile

SVG_NS = "http://www.w3.org/2000/svg"
CLIPSKETCH_NS = "urn:clipsketch:sketch:1"
_FRAME_KEYS = ("canvas-size", "frame-scale", "frame-offset-x", "frame-offset-y")
_INHERITED = ("stroke", "stroke-width", "stroke-opacity", "opacity", "display", "visibility")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")


class SvgError(ValueError):
    """The SVG cannot be read as strokes; the message names the problem."""


@dataclass
class ImportedSketch:
    """An SVG read back: ``strokes`` (batch of one, canvas pixels), the ``frame`` that maps them to the SVG's own
    coordinates, and the clipsketch metadata found in the document (empty for foreign SVGs)."""

    strokes: Strokes
    frame: Frame
    metadata: dict[str, str] = field(default_factory=dict)


def strokes_to_svg(
    strokes: Strokes,
    index: int = 0,
    frame: Frame | None = None,
    metadata: dict[str, object] | None = None,
    decimals: int = 3,
    joined: bool = False,
) -> str:
    """The sketch at batch position ``index`` as an SVG document.

    Args:
        strokes: the batch; points and widths in canvas pixels.
        index: which sketch of the batch.
        frame: maps canvas pixels to the document's coordinates (default: the canvas itself).
        metadata: run facts stored with the sketch (e.g. ``seed``, ``model``, ``loss``); keys become attribute
            names (``_`` turns into ``-``).
        decimals: digits after the point for coordinates.
        joined: the strokes are one continuous line (each starts where the one before ends): one ``<path>``.
    """
    frame = frame or Frame.identity(strokes.canvas_size)
    if frame.canvas_size != strokes.canvas_size:
        raise ValueError(f"frame is for a {frame.canvas_size} px canvas, strokes for {strokes.canvas_size} px")
    root = etree.Element(
        f"{{{SVG_NS}}}svg",
        nsmap={None: SVG_NS, "clipsketch": CLIPSKETCH_NS},
        attrib={"version": "1.1", "width": number(frame.width, decimals), "height": number(frame.height, decimals),
                "viewBox": f"0 0 {number(frame.width, decimals)} {number(frame.height, decimals)}"},
    )
    facts = {"strokes": str(strokes.num_strokes), "canvas-size": str(frame.canvas_size),
             "frame-scale": repr(frame.scale), "frame-offset-x": repr(frame.offset_x),
             "frame-offset-y": repr(frame.offset_y)}
    for key, value in (metadata or {}).items():
        name = str(key).replace("_", "-")
        if not _NAME.match(name):
            raise ValueError(f"metadata key {key!r} is not usable as an XML attribute name")
        facts[name] = str(value)
    etree.SubElement(etree.SubElement(root, f"{{{SVG_NS}}}metadata"), f"{{{CLIPSKETCH_NS}}}sketch", attrib=facts)
    group = etree.SubElement(root, f"{{{SVG_NS}}}g", attrib={"id": "sketch"})
    for k, stroke in enumerate(stroke_paths(strokes, frame, index, decimals, joined)):
        etree.SubElement(group, f"{{{SVG_NS}}}path", attrib=path_attributes(stroke, f"stroke-{k}", decimals))
    return etree.tostring(root, pretty_print=True, xml_declaration=True, encoding="UTF-8").decode()


@dataclass(frozen=True)
class StrokePath:
    """One stroke as drawn: ``d`` path data of its centre line ``M x0 y0 C …`` and full ``width`` in the frame's
    target units (photo pixels), ``color`` ``#rrggbb``, ``opacity`` 0..1; ``taper`` how its ends thin
    (:func:`~clipsketch.core.strokes.width_profile`; 0: uniform) and, when it does, ``outline`` the path data of
    the filled shape that draws it (:func:`outline_data`)."""

    d: str
    width: float
    color: str
    opacity: float
    taper: float = 0.0
    outline: str = ""


def stroke_paths(strokes: Strokes, frame: Frame, index: int = 0, decimals: int = 3,
                 joined: bool = False) -> list[StrokePath]:
    """The strokes of sketch ``index`` in ``frame``'s target coordinates: what an SVG document and the server's
    messages both carry; ``joined``: one path of every stroke's segment (a one-line sketch)."""
    points = frame.to_target(strokes.points[index].detach().double().cpu()).tolist()
    widths = frame.to_target_width(strokes.widths[index].detach().double().cpu()).tolist()
    colors = strokes.colors[index].detach().double().cpu().tolist()
    if joined and points:
        d = path_data([v for point in points[0] for v in point], decimals)
        d += "".join(" C " + " ".join(number(v, decimals) for point in control[1:] for v in point)
                     for control in points[1:])
        return [StrokePath(d, widths[0], hex_color(colors[0][:3]), colors[0][3])]
    taper = strokes.taper
    return [StrokePath(path_data([v for point in control for v in point], decimals), width, hex_color(color[:3]),
                       color[3], taper, outline_data(control, width, taper) if taper > 0 else "")
            for control, width, color in zip(points, widths, colors)]


def path_attributes(stroke: StrokePath, path_id: str, decimals: int = 3) -> dict[str, str]:
    """The attributes of the ``<path>`` that draws ``stroke``: a stroked centre line, or (tapered) a filled
    outline that keeps its centre line and width in clipsketch's namespace."""
    if stroke.outline:
        attrib = {"id": path_id, "d": stroke.outline, "fill": stroke.color, "stroke": "none",
                  f"{{{CLIPSKETCH_NS}}}centerline": stroke.d, f"{{{CLIPSKETCH_NS}}}width": number(stroke.width, decimals),
                  f"{{{CLIPSKETCH_NS}}}taper": number(stroke.taper, 4)}
        if stroke.opacity < 1:
            attrib["fill-opacity"] = number(stroke.opacity, 4)
        return attrib
    attrib = {"id": path_id, "d": stroke.d, "fill": "none", "stroke": stroke.color,
              "stroke-width": number(stroke.width, decimals), "stroke-linecap": "round", "stroke-linejoin": "round"}
    if stroke.opacity < 1:
        attrib["stroke-opacity"] = number(stroke.opacity, 4)
    return attrib


def path_data(control: list[float], decimals: int = 3) -> str:
    """``M x0 y0 C x1 y1 x2 y2 x3 y3`` for the 8 coordinates of one cubic stroke."""
    return "M {} {} C {} {} {} {} {} {}".format(*(number(v, decimals) for v in control))


OUTLINE_PIECE = 1.0
"""Longest piece of a tapered stroke's outline, as a multiple of its full width (at least 8 pieces a stroke)."""


def outline_data(control: list[list[float]], width: float, taper: float, decimals: int = 2) -> str:
    """Path data of the filled shape of the cubic stroke ``control`` (4 points) of full ``width`` whose width a
    fraction ``s`` of its length along is ``width × width_profile(s, taper)``: the stroke cut into pieces uniform
    in its parameter, each the hull of the discs at its ends (two tangents and two arcs), all wound the same way,
    so that under the nonzero rule the shape is their union: what the rasterizer draws (round joins, each end a
    disc of its width)."""
    points = torch.tensor(control, dtype=torch.float64)
    length = float((points[1:] - points[:-1]).norm(dim=-1).sum())
    pieces = int(min(256, max(8, math.ceil(length / max(OUTLINE_PIECE * width, 1e-9)))))
    centres = bernstein(torch.linspace(0, 1, pieces + 1, dtype=torch.float64)) @ points
    along = torch.cat([torch.zeros(1, dtype=torch.float64), (centres[1:] - centres[:-1]).norm(dim=-1).cumsum(0)])
    radii = (width / 2 * width_profile(along / along[-1].clamp_min(1e-12), taper)).clamp_min(10 ** -decimals)
    centres, radii = centres.tolist(), radii.tolist()
    return " ".join(_hull_of_discs(centres[k], radii[k], centres[k + 1], radii[k + 1], decimals)
                    for k in range(pieces))


def _hull_of_discs(a: list[float], ra: float, b: list[float], rb: float, decimals: int) -> str:
    """A closed subpath around the convex hull of the discs ``(a, ra)`` and ``(b, rb)``, angles decreasing (the
    winding every piece shares); one disc alone when it holds the other."""
    dx, dy = b[0] - a[0], b[1] - a[1]
    distance = math.hypot(dx, dy)
    n = lambda v: number(v, decimals)  # noqa: E731
    if distance <= abs(ra - rb) + 1e-9:
        (cx, cy), r = (a, ra) if ra >= rb else (b, rb)
        return (f"M {n(cx + r)} {n(cy)} A {n(r)} {n(r)} 0 1 0 {n(cx - r)} {n(cy)} "
                f"A {n(r)} {n(r)} 0 1 0 {n(cx + r)} {n(cy)} Z")
    ux, uy = dx / distance, dy / distance
    sine = (ra - rb) / distance  # the tangents' normals m = sine·u ± cosine·n make this with u
    cosine = math.sqrt(max(0.0, 1 - sine * sine))
    plus = (sine * ux - cosine * uy, sine * uy + cosine * ux)
    minus = (sine * ux + cosine * uy, sine * uy - cosine * ux)
    far_large = 1 if sine < 0 else 0  # the arc around b (through u) spans 2 acos(sine)
    near_large = 1 - far_large
    return (f"M {n(a[0] + ra * plus[0])} {n(a[1] + ra * plus[1])} L {n(b[0] + rb * plus[0])} {n(b[1] + rb * plus[1])} "
            f"A {n(rb)} {n(rb)} 0 {far_large} 0 {n(b[0] + rb * minus[0])} {n(b[1] + rb * minus[1])} "
            f"L {n(a[0] + ra * minus[0])} {n(a[1] + ra * minus[1])} "
            f"A {n(ra)} {n(ra)} 0 {near_large} 0 {n(a[0] + ra * plus[0])} {n(a[1] + ra * plus[1])} Z")


def svg_to_strokes(svg: str | bytes, canvas_size: int | None = None) -> ImportedSketch:
    """Read an SVG document into strokes on a square canvas.

    Documents written by :func:`strokes_to_svg` come back on their own canvas and frame (``canvas_size`` may
    override the canvas side). Others are framed like a photo: the viewBox (or width × height) padded to a square
    on a canvas of ``canvas_size`` (default 224) pixels.

    Raises:
        SvgError: not XML, not SVG, no stroked path, or a path that cannot be parsed.
    """
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.fromstring(svg.encode() if isinstance(svg, str) else svg, parser)
    except etree.XMLSyntaxError as error:
        raise SvgError(f"not a well-formed SVG document: {error}") from None
    if root.tag != f"{{{SVG_NS}}}svg":
        raise SvgError(f"root element is {root.tag!r}, expected an SVG <svg> element")

    found = root.find(f"{{{SVG_NS}}}metadata/{{{CLIPSKETCH_NS}}}sketch")
    metadata = dict(found.attrib) if found is not None else {}
    frame = _recorded_frame(metadata, root) or _document_frame(root, canvas_size or DEFAULT_CANVAS_SIZE)
    if canvas_size is not None and canvas_size != frame.canvas_size:
        frame = Frame(frame.width, frame.height, canvas_size, frame.scale * frame.canvas_size / canvas_size,
                      frame.offset_x, frame.offset_y)

    controls, widths, colors = [], [], []
    for element in root.iter(f"{{{SVG_NS}}}path"):
        style = _computed_style(element)
        centerline = element.get(f"{{{CLIPSKETCH_NS}}}centerline")
        if centerline is not None:  # a tapered stroke clipsketch wrote: its outline is filled, its line kept
            style.update(stroke=style.get("fill") or element.get("fill", "#000000"),
                         **{"stroke-width": element.get(f"{{{CLIPSKETCH_NS}}}width", "1"),
                            "stroke-opacity": element.get("fill-opacity", "1")})
        if style.get("stroke", "none") == "none" or style.get("display") == "none":
            continue
        matrix = _composed_transform(element)
        try:
            path = svgpathtools.parse_path(centerline if centerline is not None else element.get("d", ""))
        except Exception as error:  # svgpathtools raises several types for malformed data
            raise SvgError(f"path {element.get('id', '(no id)')!r} has unreadable path data: {error}") from None
        width = _length(style.get("stroke-width", "1"), "stroke-width") * math.sqrt(abs(np.linalg.det(matrix[:2, :2])))
        color = _color(style, element.get("id", "(no id)"))
        for segment in path:
            for cubic in _as_cubics(segment):
                xy = np.array([[p.real, p.imag, 1.0] for p in cubic]) @ matrix.T
                controls.append(xy[:, :2].tolist())
                widths.append(width)
                colors.append(color)
    if not controls:
        raise SvgError("the SVG has no stroked <path> to read as strokes")

    target = torch.tensor(controls, dtype=torch.float64)
    points = frame.to_canvas(target).float().unsqueeze(0)
    strokes = Strokes(
        points,
        frame.to_canvas_width(torch.tensor(widths, dtype=torch.float32).unsqueeze(0)),
        torch.tensor(colors, dtype=torch.float32).unsqueeze(0),
        frame.canvas_size,
        _recorded_taper(root),
    )
    try:
        check_stroke_values(strokes.points, strokes.widths, strokes.colors)
    except ValueError as error:
        raise SvgError(f"the SVG's strokes cannot be drawn: {error}") from None
    return ImportedSketch(strokes, frame, metadata)


def svg_to_start_strokes(svg: str | bytes, locked: bool = False) -> StartStrokes:
    """Every stroked path of an SVG (clipsketch's own, or any: M/L/H/V/C/S/Q/T/A, relative commands, several
    subpaths, transforms) as start strokes in the document's user units, taken as photo pixels: each segment is
    one cubic stroke, so a long path counts as several. Raises :class:`SvgError`."""
    imported = svg_to_strokes(svg)
    frame, strokes = imported.frame, imported.strokes
    points = frame.to_target(strokes.points[0].double()).reshape(-1, 8).tolist()
    widths = frame.to_target_width(strokes.widths[0].double()).tolist()
    colors = [tuple(color) for color in strokes.colors[0].double().tolist()]
    return StartStrokes(tuple(map(tuple, points)), tuple(widths), tuple(colors), (locked,) * len(points))


def _recorded_taper(root: etree._Element) -> float:
    """The taper clipsketch recorded on a tapered sketch's paths (one for the sketch: the largest), else 0."""
    tapers = [_fraction(element.get(f"{{{CLIPSKETCH_NS}}}taper"), "clipsketch:taper")
              for element in root.iter(f"{{{SVG_NS}}}path") if element.get(f"{{{CLIPSKETCH_NS}}}taper") is not None]
    return min(max(tapers, default=0.0), 0.5)


def number(value: float, decimals: int) -> str:
    """``value`` with at most ``decimals`` digits after the point, trailing zeros dropped (``-0`` is ``0``)."""
    text = f"{value:.{decimals}f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def _recorded_frame(metadata: dict[str, str], root: etree._Element) -> Frame | None:
    """The frame clipsketch wrote into its metadata, on the document's viewBox."""
    if not all(key in metadata for key in _FRAME_KEYS):
        return None
    _, _, width, height = _view_box(root)
    try:
        return Frame(width, height, int(metadata["canvas-size"]), float(metadata["frame-scale"]),
                     float(metadata["frame-offset-x"]), float(metadata["frame-offset-y"]))
    except ValueError as error:
        raise SvgError(f"clipsketch metadata holds an invalid frame: {error}") from None


def _document_frame(root: etree._Element, canvas_size: int) -> Frame:
    """The document's viewBox (or width × height) padded to a square on the canvas."""
    x, y, width, height = _view_box(root)
    frame = Frame.padded(width, height, canvas_size)
    return Frame(width, height, canvas_size, frame.scale, frame.offset_x + x, frame.offset_y + y)


def _view_box(root: etree._Element) -> tuple[float, float, float, float]:
    """``(x, y, width, height)`` of the document's viewBox, or of ``0 0 width height``."""
    view_box = root.get("viewBox")
    if view_box:
        try:
            x, y, width, height = (float(v) for v in re.split(r"[\s,]+", view_box.strip()))
        except ValueError:
            raise SvgError(f"invalid viewBox {view_box!r}") from None
    else:
        x = y = 0.0
        width = _length(root.get("width", "0"), "width")
        height = _length(root.get("height", "0"), "height")
    if width <= 0 or height <= 0:
        raise SvgError("the SVG needs a viewBox or a positive width and height to place its strokes")
    return x, y, width, height


def _computed_style(element: etree._Element) -> dict[str, str]:
    """Inherited stroke properties of ``element``: attributes, then ``style`` declarations, nearest ancestor last."""
    chain = [element, *element.iterancestors()][::-1]
    style: dict[str, str] = {}
    opacity = 1.0
    for node in chain:
        own: dict[str, str] = {key: node.get(key) for key in _INHERITED if node.get(key) is not None}
        for declaration in (node.get("style") or "").split(";"):
            key, _, value = declaration.partition(":")
            if key.strip() in _INHERITED and value.strip():
                own[key.strip()] = value.strip()
        if "opacity" in own:  # group opacity multiplies down the tree instead of being inherited
            opacity *= _fraction(own.pop("opacity"), "opacity")
        style.update(own)
    style["opacity"] = str(opacity)
    return style


def _composed_transform(element: etree._Element) -> np.ndarray:
    """3×3 matrix of the transforms of ``element`` and its ancestors (outermost applied last)."""
    matrix = np.identity(3)
    for node in [element, *element.iterancestors()]:
        if node.get("transform"):
            matrix = svgpathtools.parse_transform(node.get("transform")) @ matrix
    return matrix


def _color(style: dict[str, str], path_id: str) -> list[float]:
    try:
        red, green, blue = ImageColor.getrgb(style["stroke"])[:3]
    except ValueError:
        raise SvgError(f"path {path_id!r} has an unsupported stroke color {style['stroke']!r}") from None
    alpha = _fraction(style.get("stroke-opacity", "1"), "stroke-opacity") * float(style["opacity"])
    return [red / 255, green / 255, blue / 255, alpha]


def _fraction(text: str, name: str) -> float:
    text = text.strip()
    try:
        value = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise SvgError(f"invalid {name} {text!r}") from None
    return min(max(value, 0.0), 1.0)


def _length(text: str, name: str) -> float:
    match = re.fullmatch(r"\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(px)?\s*", text)
    if not match:
        raise SvgError(f"unsupported {name} {text!r}: give a plain number (user units)")
    return float(match.group(1))


def _as_cubics(segment: object) -> list[tuple[complex, complex, complex, complex]]:
    """Control points of the cubic Bézier(s) that draw one svgpathtools segment."""
    if isinstance(segment, svgpathtools.CubicBezier):
        return [segment.bpoints()]
    if isinstance(segment, svgpathtools.QuadraticBezier):
        start, control, end = segment.bpoints()
        return [(start, start + 2 * (control - start) / 3, end + 2 * (control - end) / 3, end)]
    if isinstance(segment, svgpathtools.Line):
        start, end = segment.start, segment.end
        return [(start, start + (end - start) / 3, start + 2 * (end - start) / 3, end)]
    if isinstance(segment, svgpathtools.Arc):
        return [cubic.bpoints() for cubic in segment.as_cubic_curves()]
    raise SvgError(f"unsupported path segment {type(segment).__name__}")
