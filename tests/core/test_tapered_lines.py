"""Tapered and weighted lines: the width profile, what the rasterizer draws of it, the filled outlines a real SVG
renderer draws the same, and widths optimised within their range."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
import torch

from clipsketch.core.engine import Engine
from clipsketch.core.events import CountDone
from clipsketch.core.options import TAPER, WEIGHT_RANGE, OptionError, SketchOptions, StartStrokes
from clipsketch.core.raster import rasterize, rasterize_strokes
from clipsketch.core.strokes import Strokes, random_points, width_profile
from clipsketch.core.svg import strokes_to_svg, svg_to_start_strokes, svg_to_strokes

from .test_raster_fidelity import compare, make_case, ours_rgb


def test_the_width_profile_thins_both_ends_to_a_point_and_is_full_in_the_middle():
    t = torch.linspace(0, 1, 101, dtype=torch.float64)
    profile = width_profile(t, 0.25)
    assert float(profile[0]) == 0 and float(profile[-1]) == 0
    assert bool((profile[25:76] == 1).all())  # full between the tapers
    assert torch.allclose(profile, profile.flip(0))  # the same at both ends
    assert bool((profile[:26].diff() > 0).all())  # widening all the way into the middle
    assert float(width_profile(torch.tensor(0.125), 0.25)) == pytest.approx(math.sin(math.pi / 4))
    assert torch.equal(width_profile(t, 0.0), torch.ones_like(t))


def test_a_tapered_stroke_has_thin_ends_a_full_middle_and_gradients():
    points = torch.tensor([[[[20.0, 112.0], [80.0, 112.0], [140.0, 112.0], [200.0, 112.0]]]], requires_grad=True)
    uniform = Strokes.from_points(points, width=8.0)
    tapered = replace(uniform, taper=0.25)
    ink_uniform, ink_tapered = rasterize_strokes(uniform).alpha[0, 0], rasterize_strokes(tapered).alpha[0, 0]
    column = lambda ink, x: float(ink[:, x].detach().sum())  # noqa: E731  ink across the line at x: its width
    assert column(ink_uniform, 30) == pytest.approx(8.0, abs=0.05)
    assert column(ink_tapered, 110) == pytest.approx(8.0, abs=0.05)  # the middle: full width
    assert column(ink_tapered, 30) < 0.5 * column(ink_tapered, 60) < column(ink_tapered, 110)  # thinner to the end
    assert float(ink_tapered.sum()) < 0.9 * float(ink_uniform.sum())
    rasterize_strokes(tapered).rgb.sum().backward()
    assert points.grad is not None and float(points.grad.abs().sum()) > 0
    with pytest.raises(ValueError, match="taper must be within 0..0.5"):
        rasterize(points.detach(), uniform.widths, uniform.colors, (64, 64), taper=0.7)


@pytest.mark.parametrize("name", ["4-short", "16-long", "8-long-wide", "24-partly-outside", "1-tight-curl"])
def test_tapered_outlines_draw_in_a_real_svg_renderer_what_the_rasterizer_draws(name, svg_renderer):
    """The exported filled outlines (any SVG reader) against our rasterizer, as plain strokes are measured."""
    strokes = replace(make_case(name), taper=TAPER)
    svg = strokes_to_svg(strokes)
    assert 'stroke="none"' in svg and "clipsketch:centerline" in svg
    mad, iou = compare(ours_rgb(strokes), svg_renderer(svg))
    assert mad <= 0.012, mad
    assert iou >= 0.9, iou


def test_a_tapered_sketch_reads_back_as_its_centre_lines_widths_and_taper():
    points = random_points(1, 6, 224, generator=torch.Generator().manual_seed(3))
    strokes = Strokes(points, torch.linspace(1.5, 6.0, 6)[None], torch.zeros(1, 6, 4) + torch.tensor([0, 0, 0, 1.0]),
                      224, TAPER)
    imported = svg_to_strokes(strokes_to_svg(strokes))
    assert imported.strokes.taper == TAPER
    assert torch.allclose(imported.strokes.points, points, atol=2e-3)
    assert torch.allclose(imported.strokes.widths, strokes.widths, atol=2e-3)
    start = svg_to_start_strokes(strokes_to_svg(strokes))  # Refine from a tapered sketch: its centre lines
    assert len(start) == 6


def test_a_one_line_sketch_cannot_be_tapered_nor_start_from_strokes():
    with pytest.raises(OptionError, match="one uniform line") as error:
        SketchOptions(one_line=True, line="tapered")
    assert error.value.field == "line"
    start = StartStrokes(((0, 0, 1, 1, 2, 2, 3, 3),), (None,), ((0, 0, 0, 1),), (False,))
    with pytest.raises(OptionError, match="cannot start from strokes"):
        SketchOptions(one_line=True, start=start)
    with pytest.raises(OptionError, match="line must be one of uniform, tapered, weighted"):
        SketchOptions(line="brush")


@pytest.fixture(scope="module")
def tiny_engine(tiny_model_configs):
    torch.manual_seed(0)
    return Engine(backbone="clip", weights="random", loss_model="tiny-rn", saliency_model="tiny-vit", device="cpu")


def run(engine, photo, **options):
    events = list(engine.events(photo, SketchOptions(strokes=(8,), iterations=40, seeds=1, **options)))
    return next(e.result for e in events if isinstance(e, CountDone))


def test_weighted_lines_optimise_each_strokes_width_within_its_range(tiny_engine, chelsea):
    uniform, tapered, weighted = (run(tiny_engine, chelsea, line=line) for line in ("uniform", "tapered", "weighted"))
    width = float(uniform.strokes.widths[0, 0])
    assert torch.equal(tapered.strokes.widths, uniform.strokes.widths)  # tapered: the width as asked
    widths = weighted.strokes.widths[0]
    assert float(widths.std()) > 0.01 * width  # each stroke found its own
    assert bool((widths >= WEIGHT_RANGE[0] * width - 1e-6).all() and (widths <= WEIGHT_RANGE[1] * width + 1e-6).all())
    assert tapered.strokes.taper == weighted.strokes.taper == TAPER and uniform.strokes.taper == 0
    back = svg_to_strokes(weighted.svg)  # the SVG holds what was optimised
    assert torch.allclose(back.strokes.widths, weighted.strokes.widths, rtol=1e-3)
    assert 'line="weighted"' in weighted.svg


def test_locked_start_strokes_keep_their_widths_in_a_weighted_sketch(tiny_engine, chelsea):
    start = StartStrokes(((100, 60, 150, 80, 200, 70, 250, 90), (80, 200, 120, 210, 160, 190, 200, 220)),
                         (1.0, 9.0), ((0, 0, 0, 1.0), (0, 0, 0, 1.0)), (True, True))
    result = run(tiny_engine, chelsea, line="weighted", start=start)
    back = svg_to_start_strokes(result.svg)
    assert back.widths[:2] == pytest.approx((1.0, 9.0), abs=2e-3)  # outside the range, and kept as given
    assert [v for p in back.points[:2] for v in p] == pytest.approx([v for p in start.points for v in p], abs=2e-3)
    assert len({round(w, 2) for w in back.widths[2:]}) > 1  # the free ones found their own widths
