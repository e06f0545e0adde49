"""Each field of the request contract (:class:`SketchOptions`) declared once and present wherever it surfaces: the
proto, the translation both ways, the command line and the Inkscape dialog, or left out there on purpose (the
lists below say why). A new field fails here until every surface has it or says why not."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest

from clipsketch.cli import main
from clipsketch.core.options import LineStyle, LossConfig, SketchOptions, StartStrokes
from clipsketch.proto import sketch_pb2 as pb
from clipsketch.server.requests import NOT_SENT, options_request, request_options

ASKED = {
    "strokes": (4, 8),
    "schedule": "reference",
    "iterations": 7,
    "seeds": 2,
    "seed": 5,
    "mask": True,
    "width": 2.5,
    "color": (1.0, 0.0, 0.0, 1.0),
    "canvas_size": 160,
    "margin": 0.1,
    "loss": LossConfig(semantic_weight=0.5),
    "init": "contour",
    "target": "photo",
    "lines": LineStyle(sigma=2.0),
    "start": StartStrokes(((1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0),), (2.0,), ((0.0, 0.0, 1.0, 0.5),), (True,)),
    "line": "tapered",
    "one_line": True,
    "reseed": False,
}
"""A value other than the default for every field (a new field needs one here)."""

PROTO_NAMES = {"width": "stroke_width", "color": "stroke_color"}
"""Where the protocol names a field otherwise."""

CLI_LEFT_OUT = {name: "an engine setting for tests and benchmarks" for name in NOT_SENT}
CLI_FLAGS = {"start": "--start"}
"""The command line's flags by field (default ``--name-with-dashes``)."""

DIALOG_LEFT_OUT = {
    **{name: "an engine setting for tests and benchmarks" for name in NOT_SENT},
    "seed": "a dialog sketch draws from seed 0; a script picks seeds",
    "init": "where strokes start follows the backbone, as the server decides",
    "reseed": "re-seeding follows the schedule",
    "start": "the Refine dialog sends the selected paths as start strokes",
}


def options_fields() -> list[str]:
    return [f.name for f in fields(SketchOptions)]


def test_every_field_has_a_value_to_ask_for():
    assert set(ASKED) == set(options_fields())


@pytest.mark.parametrize("name", options_fields())
def test_the_proto_carries_each_sent_field(name):
    carried = PROTO_NAMES.get(name, name) in pb.SketchRequest.DESCRIPTOR.fields_by_name
    assert carried == (name not in NOT_SENT)


@pytest.mark.parametrize("name", [n for n in options_fields() if n not in NOT_SENT])
def test_each_sent_field_survives_the_request_both_ways(name):
    extra = {"strokes": (8, 16)} if name == "one_line" else {}
    options = SketchOptions(**{name: ASKED[name], **extra})
    assert request_options(options_request(options, b"photo")) == options


@pytest.mark.parametrize("name", sorted(NOT_SENT))
def test_a_field_the_protocol_lacks_is_refused_not_dropped(name):
    from clipsketch.core.options import OptionError

    with pytest.raises(OptionError, match=name):
        options_request(SketchOptions(**{name: ASKED[name]}), b"photo")


@pytest.mark.parametrize("name", [n for n in options_fields() if n not in CLI_LEFT_OUT])
def test_the_command_line_sets_each_field(name, tmp_path, monkeypatch):
    """``clipsketch sketch --flag value`` reaches the options it sketches with."""
    import clipsketch.arguments

    seen = {}
    real = clipsketch.arguments.sketch_options

    def spy(args, start=None):
        seen["options"] = real(args, start)
        raise SystemExit(0)  # stop before any model loads

    monkeypatch.setattr(clipsketch.arguments, "sketch_options", spy)
    monkeypatch.setattr("clipsketch.cli.sketch_options", spy)
    flag = CLI_FLAGS.get(name, "--" + name.replace("_", "-"))
    value = ASKED[name]
    if name == "start":
        svg = tmp_path / "start.svg"
        svg.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><path d="M 1 2 C 3 4 5 6 7 8" '
                       'stroke="#0000ff" stroke-width="2" fill="none"/></svg>')
        arguments = [flag, str(svg), "--strokes", "4"]
    elif isinstance(value, bool):
        arguments = [flag if value else f"--no-{flag[2:]}"]
    elif isinstance(value, tuple) and name == "strokes":
        arguments = [flag, *map(str, value)]
    elif name == "color":
        arguments = [flag, "red"]
    else:
        arguments = [flag, str(value)]
    photo = tmp_path / "photo.png"
    photo.write_bytes(b"not read before the options are built")
    with pytest.raises(SystemExit):
        main(["sketch", str(photo), *arguments])
    chosen = getattr(seen["options"], name)
    if name == "start":
        assert len(chosen) == 1 and chosen.points[0] == pytest.approx((1, 2, 3, 4, 5, 6, 7, 8))
    else:
        assert chosen == value


@pytest.mark.parametrize("name", [n for n in options_fields() if n not in DIALOG_LEFT_OUT])
@pytest.mark.parametrize("dialog", ["clipsketch_sketch.inx", "clipsketch_refine.inx"])
def test_the_inkscape_dialogs_show_each_field(name, dialog):
    inx = (Path(__file__).parents[2] / "inkscape_extension" / dialog).read_text(encoding="utf-8")
    assert f'<param name="{PROTO_NAMES.get(name, name)}"' in inx


def test_left_out_lists_name_only_real_fields():
    assert set(CLI_LEFT_OUT) | set(DIALOG_LEFT_OUT) | set(CLI_FLAGS) <= set(options_fields())
