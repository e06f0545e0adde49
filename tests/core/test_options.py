"""The request contract: torch-free, every bad field named, the schedule resolved once, widths in photo pixels at
the boundary and converted once where the photo is framed."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
from lxml import etree

from clipsketch.core.engine import Engine
from clipsketch.core.frame import Frame
from clipsketch.core.limits import Limits
from clipsketch.core.options import (
    DEFAULT_STROKES,
    OptionError,
    SketchOptions,
    StartStrokes,
    default_width,
    parse_color,
)
from clipsketch.core.schedules import SCHEDULES

SVG_NS = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def tiny_engine(tiny_model_configs):
    torch.manual_seed(0)
    return Engine(backbone="clip", weights="random", loss_model="tiny-rn", saliency_model="tiny-vit", device="cpu")


def test_the_contract_and_the_addresses_import_no_torch_grpc_or_pillow():
    code = ("import sys, clipsketch.core.options, clipsketch.core.limits, clipsketch.core.schedules, "
            "clipsketch.addresses; print(sorted(m for m in ('torch', 'grpc', 'PIL', 'numpy') if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"


@pytest.mark.parametrize(
    "fields, field, message",
    [
        ({"strokes": ()}, "strokes", "at least one"),
        ({"strokes": (4, 4)}, "strokes", "repeat"),
        ({"schedule": "slow"}, "schedule", "schedule must be one of reference, fast, got 'slow'"),
        ({"iterations": 0}, "iterations", "iterations must be between"),
        ({"seeds": 99}, "seeds", "seeds must be between"),
        ({"width": -1.0}, "width", "positive number of photo pixels"),
        ({"width": float("nan")}, "width", "positive number of photo pixels"),
        ({"color": (0, 0, 2, 1)}, "color", "within 0..1"),
        ({"margin": 2.0}, "margin", "margin must be within 0..1"),
        ({"init": "edges"}, "init", "init must be one of"),
        ({"target": "edges"}, "target", "target must be one of"),
    ],
)
def test_a_bad_field_raises_one_error_type_that_names_it(fields, field, message):
    with pytest.raises(OptionError, match=message) as refused:
        SketchOptions(**fields)
    assert refused.value.field == field and isinstance(refused.value, ValueError)


def test_limits_and_colors_name_their_field_too():
    with pytest.raises(OptionError) as refused:
        Limits().check((300,), None, None)
    assert refused.value.field == "strokes"
    with pytest.raises(OptionError) as refused:
        parse_color("not-a-color", "stroke_color")
    assert refused.value.field == "stroke_color" and "not a CSS color" in str(refused.value)
    assert parse_color("#ff0000", opacity=0.5) == (1.0, 0.0, 0.0, 0.5)


def test_a_plan_is_the_schedule_resolved_for_its_device_with_the_callers_fields_kept():
    for device in ("cpu", "cuda"):
        schedule = SCHEDULES["fast"].for_device(device)
        plan = SketchOptions().resolve(device)
        assert plan.device_type == device and plan.options.strokes == DEFAULT_STROKES
        assert (plan.options.iterations, plan.options.seeds) == (schedule.iterations, schedule.seeds)
        assert plan.options.loss.augmentations == schedule.augmentations and plan.view_bank == schedule.view_bank
        assert plan.optimizer == schedule.optimizer(schedule.iterations, schedule.seeds, reseed=True)
    asked = SketchOptions(iterations=7, seeds=2).resolve("cuda")
    assert (asked.options.iterations, asked.options.seeds, asked.optimizer.iterations) == (7, 2, 7)


def test_the_photo_dependent_checks_come_with_the_photo():
    plan = SketchOptions(width=200.0).resolve("cpu")  # fine until the photo is known
    with pytest.raises(OptionError, match="at most 112.75 photo pixels") as refused:
        plan.for_photo((451, 300))
    assert refused.value.field == "width"
    assert plan.for_photo((2000, 1000)).photo_size == (2000, 1000)
    fat = StartStrokes(((10.0, 10, 20, 20, 30, 30, 40, 40),), (300.0,), ((0, 0, 0, 1.0),), (False,))
    with pytest.raises(OptionError, match="start stroke 0: width must be at most"):
        SketchOptions(start=fat).resolve("cpu").for_photo((451, 300))


def test_a_plan_runs_only_on_the_device_and_photo_it_was_resolved_for(tiny_engine, chelsea):
    plan = SketchOptions(strokes=(2,), iterations=1, seeds=1, mask=False).resolve("cuda").for_photo((451, 300))
    with pytest.raises(ValueError, match="resolved for"):
        tiny_engine.sketch(chelsea, plan)
    plan = SketchOptions(strokes=(2,), iterations=1, seeds=1, mask=False).resolve("cpu").for_photo((100, 100))
    with pytest.raises(ValueError, match="resolved for"):
        tiny_engine.sketch(chelsea, plan)


def test_widths_are_photo_pixels_in_and_out_and_canvas_pixels_inside(tiny_engine, chelsea):
    options = SketchOptions(strokes=(3,), iterations=2, seeds=1, mask=False, width=7.5)
    result = tiny_engine.sketch(chelsea, options).sketches[3]
    frame = result.frame
    assert torch.allclose(result.strokes.widths, torch.full((1, 3), 7.5 / frame.scale))  # canvas pixels inside
    paths = etree.fromstring(result.svg.encode()).iter(f"{SVG_NS}path")
    assert {float(path.get("stroke-width")) for path in paths} == {7.5}  # photo pixels out
    default = tiny_engine.sketch(chelsea, SketchOptions(strokes=(3,), iterations=2, seeds=1, mask=False))
    assert torch.allclose(default.sketches[3].strokes.widths, torch.full((1, 3), default_width(224)))


def test_the_frame_converts_widths_both_ways():
    frame = Frame.padded(451, 300, 224, 0.05)
    assert frame.to_canvas_width(frame.to_target_width(3.0)) == pytest.approx(3.0)
    assert frame.to_canvas_width(None) == default_width(224)
    assert torch.allclose(frame.to_canvas_width(torch.tensor([frame.scale])), torch.tensor([1.0]))
