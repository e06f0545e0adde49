"""``SketchRequest`` ⇄ :class:`~clipsketch.core.options.SketchOptions`: the protocol's conventions (0 or empty means
the server's default, CSS colors, start strokes as messages) translated once, both ways. Every check of a field is the
contract's (:mod:`clipsketch.core.options`); what is left here is what only the protocol has.

``request_options(options_request(options, photo))`` is ``options`` again for every field the protocol carries
(:data:`NOT_SENT` lists the ones it does not: they keep their defaults on a server).
"""

from __future__ import annotations

import math

import uuid
from dataclasses import fields

from clipsketch.core.options import (
    DEFAULT_COLOR,
    DEFAULT_STROKES,
    OptionError,
    SketchOptions,
    StartStrokes,
    hex_color,
    parse_color,
)
from clipsketch.core.schedules import DEFAULT_SCHEDULE
from clipsketch.proto import sketch_pb2 as pb

MAX_REQUEST_ID = 200
"""Longest ``request_id``, characters."""

MASK_MODES = {pb.MASK_DEFAULT: None, pb.MASK_ON: True, pb.MASK_OFF: False}
RESEED_MODES = {pb.RESEED_DEFAULT: None, pb.RESEED_ON: True, pb.RESEED_OFF: False}

NOT_SENT = ("canvas_size", "margin", "loss", "target", "lines")
"""Fields of :class:`SketchOptions` the protocol does not carry: a server uses their defaults (engine settings that
tests and benchmarks set in process)."""


def options_request(options: SketchOptions, photo: bytes, preview_every: int = 0,
                    request_id: str | None = None) -> pb.SketchRequest:
    """The request for sketching ``photo`` (encoded bytes) with ``options`` (None and defaults go as 0 or empty: the
    server's defaults). Raises :class:`OptionError` for a field the protocol cannot carry (see :data:`NOT_SENT`)."""
    defaults = SketchOptions()
    for name in NOT_SENT:
        if getattr(options, name) != getattr(defaults, name):
            raise OptionError(name, f"{name} is an engine setting a server does not take: sketch in process")
    if options.color[3] != 1:
        raise OptionError("color", "a server draws opaque strokes: give a color without opacity")
    return pb.SketchRequest(
        photo=photo, strokes=list(options.strokes), iterations=options.iterations or 0, seeds=options.seeds or 0,
        seed=options.seed, mask=_mode(MASK_MODES, options.mask), stroke_width=options.width or 0.0,
        stroke_color="" if options.color == DEFAULT_COLOR else hex_color(options.color[:3]),
        preview_every=preview_every, request_id=request_id or uuid.uuid4().hex,
        start=_start_messages(options.start) if options.start else [], schedule=options.schedule,
        init="" if options.init == "auto" else options.init, line=options.line, one_line=options.one_line,
        reseed=_mode(RESEED_MODES, options.reseed))


def sent_fields() -> list[str]:
    """The fields of :class:`SketchOptions` a request carries."""
    return [f.name for f in fields(SketchOptions) if f.name not in NOT_SENT]


def _mode(modes: dict, value: bool | None) -> int:
    return next(mode for mode, meaning in modes.items() if meaning is value)


def _start_messages(start: StartStrokes) -> list[pb.StartStroke]:
    return [pb.StartStroke(points=list(control), width=width or 0.0, color=hex_color(color[:3]), opacity=color[3],
                           locked=locked)
            for control, width, color, locked in zip(start.points, start.widths, start.colors, start.locked)]


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
