"""The page's form, as the one :class:`~clipsketch.core.options.SketchOptions` it asks for (checked against a
server's limits, as the command line's flags are: a job the page starts in process also runs on a server).

Fields (all text, as a browser sends them; empty means the default): ``strokes`` ("4 8 16", spaces or commas),
``line`` (``uniform``, ``tapered``, ``weighted`` or ``one-line``), ``mask`` (``auto``, ``on``, ``off``),
``schedule``, ``seed``, ``iterations``, ``seeds``, ``width`` (photo pixels), ``color`` (a CSS colour), ``init``,
``reseed`` (``auto``, ``on``, ``off``). The start strokes of Refine come as an SVG file, read by the caller
(:func:`~clipsketch.core.svg.svg_to_start_strokes`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from clipsketch.core.options import DEFAULT_COLOR, DEFAULT_STROKES, OptionError, SketchOptions, StartStrokes, \
    parse_color
from clipsketch.core.schedules import DEFAULT_SCHEDULE

FIELDS = ("strokes", "line", "mask", "schedule", "seed", "iterations", "seeds", "width", "color", "init", "reseed")
"""The form fields :func:`form_options` reads."""

LINES = ("uniform", "tapered", "weighted", "one-line")
"""The page's line choices: the contract's looks, and one continuous (uniform) line."""

SWITCHES = {"auto": None, "on": True, "off": False, "": None}


def form_options(form: Mapping[str, str], start: StartStrokes | None = None) -> SketchOptions:
    """The :class:`SketchOptions` the page's ``form`` fields ask for, with ``start`` strokes (Refine). Raises
    :class:`OptionError` naming the field, with the message the server and the command line give."""
    line = _text(form, "line") or "uniform"
    if line not in LINES:
        raise OptionError("line", f"line must be one of {', '.join(LINES)}, got {line!r}")
    color = _text(form, "color")
    options = SketchOptions(
        strokes=_counts(_text(form, "strokes")), schedule=_text(form, "schedule") or DEFAULT_SCHEDULE,
        iterations=_integer(form, "iterations"), seeds=_integer(form, "seeds"), seed=_integer(form, "seed") or 0,
        mask=_switch(form, "mask"), width=_number(form, "width"),
        color=parse_color(color) if color else DEFAULT_COLOR, start=start, init=_text(form, "init") or "auto",
        line="uniform" if line == "one-line" else line, one_line=line == "one-line", reseed=_switch(form, "reseed"))
    from clipsketch.core.limits import Limits

    Limits().check(options.strokes, options.iterations, options.seeds)
    return options


def _text(form: Mapping[str, str], name: str) -> str:
    value = form.get(name, "")
    return value.strip() if isinstance(value, str) else ""


def _counts(text: str) -> tuple[int, ...]:
    if not text:
        return DEFAULT_STROKES
    words = text.replace(",", " ").split()
    if not all(word.isdigit() for word in words):
        raise OptionError("strokes", f"stroke counts must be whole numbers such as 4 8 16, got {text!r}")
    return tuple(int(word) for word in words)


def _integer(form: Mapping[str, str], name: str) -> int | None:
    text = _text(form, name)
    if not text:
        return None
    if not text.lstrip("-").isdigit():
        raise OptionError(name, f"{name} must be a whole number, got {text!r}")
    return int(text)


def _number(form: Mapping[str, str], name: str) -> float | None:
    text = _text(form, name)
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise OptionError(name, f"{name} must be a number, got {text!r}") from None
    if not math.isfinite(value):
        raise OptionError(name, f"{name} must be a finite number, got {text!r}")
    return value


def _switch(form: Mapping[str, str], name: str) -> bool | None:
    text = _text(form, name).lower()
    if text not in SWITCHES:
        raise OptionError(name, f"{name} must be auto, on or off, got {text!r}")
    return SWITCHES[text]
