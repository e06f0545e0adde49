"""A ``SketchRequest`` → the engine's :class:`~clipsketch.core.options.SketchOptions`: the protocol's conventions
(0 or empty means the server's default, CSS colors, start strokes as messages) translated once. Every check of a
field is the contract's (:mod:`clipsketch.core.options`); what is left here is what only the protocol has.
"""

from __future__ import annotations

import math

from clipsketch.core.options import (
    DEFAULT_COLOR,
    DEFAULT_STROKES,
    OptionError,
    SketchOptions,
    StartStrokes,
    parse_color,
)
from clipsketch.core.schedules import DEFAULT_SCHEDULE
from clipsketch.proto import sketch_pb2 as pb

MAX_REQUEST_ID = 200
"""Longest ``request_id``, characters."""

MASK_MODES = {pb.MASK_DEFAULT: None, pb.MASK_ON: True, pb.MASK_OFF: False}
RESEED_MODES = {pb.RESEED_DEFAULT: None, pb.RESEED_ON: True, pb.RESEED_OFF: False}


def request_options(request: pb.SketchRequest) -> SketchOptions:
    """The options ``request`` asks for. Raises :class:`OptionError` naming the first bad field."""
    if len(request.request_id) > MAX_REQUEST_ID:
        raise OptionError("request_id", f"request_id is {len(request.request_id)} characters, more than "
                                        f"{MAX_REQUEST_ID}")
    if request.mask not in MASK_MODES:
        modes = ", ".join(f"{pb.MaskMode.Name(v)} ({v})" for v in MASK_MODES)
        raise OptionError("mask", f"mask must be one of {modes}, got {request.mask}")
    if request.reseed not in RESEED_MODES:
        modes = ", ".join(f"{pb.ReseedMode.Name(v)} ({v})" for v in RESEED_MODES)
        raise OptionError("reseed", f"reseed must be one of {modes}, got {request.reseed}")
    if request.preview_every < 0:
        raise OptionError("preview_every", f"preview_every must be >= 0, got {request.preview_every}")
    if not (request.stroke_width >= 0 and math.isfinite(request.stroke_width)):
        raise OptionError("stroke_width", f"stroke_width must be >= 0 photo pixels (0: the default), got "
                                          f"{request.stroke_width}")
    color = parse_color(request.stroke_color, "stroke_color") if request.stroke_color else DEFAULT_COLOR
    return SketchOptions(strokes=tuple(request.strokes) or DEFAULT_STROKES,
                         schedule=request.schedule or DEFAULT_SCHEDULE, iterations=request.iterations or None,
                         seeds=request.seeds or None, seed=request.seed, mask=MASK_MODES[request.mask],
                         width=request.stroke_width or None, color=color,
                         start=_start_strokes(request, color) if request.start else None,
                         init=request.init or "auto", line=request.line or "uniform", one_line=request.one_line,
                         reseed=RESEED_MODES[request.reseed])


def _start_strokes(request: pb.SketchRequest, color: tuple[float, float, float, float]) -> StartStrokes:
    """The request's start strokes (photo pixels); a stroke without a width gets the sketch's, one without a color
    the request's, one without an opacity is opaque."""
    points, colors = [], []
    for k, stroke in enumerate(request.start):
        if len(stroke.points) != 8:
            raise OptionError("start", f"start stroke {k}: needs 8 numbers (x0 y0 … x3 y3), got "
                                       f"{len(stroke.points)}")
        if not 0 <= stroke.opacity <= 1:
            raise OptionError("start", f"start stroke {k}: opacity must be within 0..1, got {stroke.opacity}")
        opacity = stroke.opacity or 1.0
        points.append(tuple(stroke.points))
        colors.append(parse_color(stroke.color, f"start stroke {k}: color", opacity) if stroke.color
                      else (*color[:3], opacity))
    return StartStrokes(tuple(points), tuple(s.width or None for s in request.start), tuple(colors),
                        tuple(s.locked for s in request.start))
