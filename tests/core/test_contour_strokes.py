"""Start strokes along contours: ridges are one pixel wide, strokes follow the longest contours first, never two
on one line, seeds differ; the pipeline falls back to XDoG (with a note) where HED's weights cannot be had."""

from __future__ import annotations

import math

import pytest
import torch

from clipsketch.core.contour_strokes import fit_cubic, initial_contour_points, place_strokes, ridges
from clipsketch.core.strokes import bernstein

SIZE = 224


def circle_map(cx=112.0, cy=112.0, radius=60.0, width=3.0, value=0.9) -> torch.Tensor:
    """A soft ring ``[S, S]``: HED-like probability ``value`` falling off over ``width`` pixels."""
    ys, xs = torch.meshgrid(torch.arange(SIZE) + 0.5, torch.arange(SIZE) + 0.5, indexing="ij")
    off = ((xs - cx) ** 2 + (ys - cy) ** 2).sqrt() - radius
    return value * torch.exp(-0.5 * (off / width) ** 2)


def segment_map(x0, y0, x1, y1, width=2.0, value=0.6) -> torch.Tensor:
    """A soft straight line ``[S, S]`` from (x0, y0) to (x1, y1)."""
    ys, xs = torch.meshgrid(torch.arange(SIZE) + 0.5, torch.arange(SIZE) + 0.5, indexing="ij")
    d = torch.tensor([x1 - x0, y1 - y0])
    t = (((xs - x0) * d[0] + (ys - y0) * d[1]) / d.square().sum()).clamp(0, 1)
    off = ((xs - x0 - t * d[0]) ** 2 + (ys - y0 - t * d[1]) ** 2).sqrt()
    return value * torch.exp(-0.5 * (off / width) ** 2)


def curve(points: torch.Tensor, samples: int = 50) -> torch.Tensor:
    """Points ``[..., samples, 2]`` along cubic strokes ``[..., 4, 2]``."""
    return torch.einsum("tk,...kd->...td", bernstein(torch.linspace(0, 1, samples)), points)


def test_ridges_are_one_pixel_wide_on_the_line():
    ring = ridges(circle_map(radius=60.0, width=4.0))
    assert ring.max() > 0.8
    column = ring[:, 112 + 60 - 1 : 112 + 60 + 1].sum(1)  # the ring crosses the row y = 112 at x = 172
    ys, xs = torch.nonzero(ring, as_tuple=True)
    radii = ((xs + 0.5 - 112) ** 2 + (ys + 0.5 - 112) ** 2).sqrt()
    assert (radii - 60).abs().max() < 1.5  # every ridge pixel on the circle
    assert len(xs) < 2 * math.pi * 60 * 1.6  # about one pixel per pixel of length, not a band
    assert float(column.max()) > 0
    assert float(ridges(circle_map(value=0.1)).sum()) == 0  # too faint to be a contour


def test_a_fitted_cubic_follows_the_path_it_was_fitted_to():
    control = torch.tensor([[20.0, 100.0], [60.0, 20.0], [140.0, 180.0], [200.0, 100.0]])
    path = curve(control, 80)
    fitted = fit_cubic(path)
    assert torch.allclose(fitted[0], path[0]) and torch.allclose(fitted[-1], path[-1])
    assert torch.cdist(curve(fitted, 200), path).amin(0).max() < 3.0
    assert fit_cubic(torch.tensor([[5.0, 5.0]])).shape == (4, 2)


def test_the_first_stroke_traces_the_long_outline_and_the_next_another_line():
    outline = circle_map()
    detail = segment_map(100, 100, 124, 112)  # a short inner line
    ridge = ridges(torch.maximum(outline, detail))
    for seed in range(4):
        strokes = place_strokes(ridge, 2, torch.Generator().manual_seed(seed), SIZE)
        along = curve(strokes[0])
        radii = (along - 112).norm(dim=-1)
        assert (radii - 60).abs().max() < 3  # on the circle, all along
        assert (along[0] - along[-1]).norm() > 50  # a long stretch of it (at 2 strokes: up to half a canvas)
        second = curve(strokes[1])
        gap = torch.cdist(second, along).amin(1)
        assert (gap > 3).float().mean() > 0.8  # not on the first one's line


def test_seeds_give_different_sensible_starts_and_each_is_reproducible():
    ridge = ridges(torch.maximum(circle_map(), segment_map(30, 200, 190, 200)))
    starts = initial_contour_points(ridge, 3, [0, 1, 2], SIZE)
    assert starts.shape == (3, 3, 4, 2)
    assert not torch.allclose(starts[0], starts[1]) and not torch.allclose(starts[1], starts[2])
    assert torch.equal(initial_contour_points(ridge, 3, [1], SIZE)[0], starts[1])
    on_map = ridge > 0
    for stroke in curve(starts.reshape(-1, 4, 2)):  # every start point on or next to a contour
        ends = stroke[[0, -1]].long().clamp(0, SIZE - 1)
        for x, y in ends.tolist():
            assert bool(on_map[max(0, y - 2) : y + 3, max(0, x - 2) : x + 3].any())


def test_strokes_beyond_the_contours_fall_back_to_the_salient_pixels():
    ridge = ridges(segment_map(50, 60, 80, 60))
    fallback = torch.zeros(SIZE, SIZE)
    fallback[150:160, 150:160] = 1
    strokes = place_strokes(ridge, 3, torch.Generator().manual_seed(0), SIZE, fallback=fallback)
    assert strokes.shape == (3, 4, 2)
    starts = strokes[1:, 0]
    assert bool(((starts >= 150) & (starts <= 160)).all())


def test_without_hed_weights_the_offline_path_is_todays_xdog_path_with_a_note(chelsea, monkeypatch):
    from clipsketch.core import sketch
    from clipsketch.core.contours import ContoursUnavailable
    from clipsketch.core.engine import Engine
    from clipsketch.core.events import Started
    from clipsketch.core.options import SketchOptions

    def unavailable(*_args, **_kwargs):
        raise ContoursUnavailable("no HED weights: test")

    monkeypatch.setattr(sketch, "contour_map", unavailable)
    engine = Engine(backbone="offline", device="cpu", precision="fp32")
    quick = dict(strokes=(3,), iterations=2, seeds=1, mask=False)
    events = list(engine.events(chelsea, SketchOptions(**quick)))
    started = next(e for e in events if isinstance(e, Started))
    assert started.saliency_source == "XDoG edges"
    assert any("no HED weights: test" in note and "XDoG" in note for note in started.notes)
    fallen_back = events[-1].result.sketches[3].svg
    assert fallen_back == engine.sketch(chelsea, SketchOptions(init="contour", **quick)).sketches[3].svg


def test_the_offline_default_starts_on_hed_contours(chelsea):
    from clipsketch.core import contours
    from clipsketch.core.engine import Engine
    from clipsketch.core.options import SketchOptions

    if not contours.is_available():
        pytest.skip("HED's weights cannot be had here")
    engine = Engine(backbone="offline", device="cpu", precision="fp32")
    result = engine.sketch(chelsea, SketchOptions(strokes=(4,), iterations=1, seeds=1, mask=False))
    assert result.saliency_source == "HED contours"
    assert 'saliency="HED contours"' in result.sketches[4].svg or "HED contours" in result.sketches[4].svg


def test_framed_contours_lie_inside_the_photo_away_from_its_edge(monkeypatch):
    import numpy as np
    from PIL import Image

    from clipsketch.core import sketch
    from clipsketch.core.frame import Frame

    monkeypatch.setattr(sketch, "contour_map", lambda image, **_: np.ones((image.height, image.width), np.float32))
    frame = Frame.padded(300, 150, SIZE, 0.05)
    contours = sketch.framed_contours(Image.new("RGB", (300, 150)), frame)
    left, top, right, bottom = sketch.photo_bounds(frame)
    assert contours.shape == (SIZE, SIZE)
    assert float(contours[int(top) + 5 : int(bottom) - 5, int(left) + 5 : int(right) - 5].min()) > 0.99
    assert float(contours[: int(top) + 2].max()) == 0 and float(contours[int(bottom) - 2 :].max()) == 0
    assert float(contours[:, : int(left) + 2].max()) == 0 and float(contours[:, int(right) - 2 :].max()) == 0


def test_few_strokes_are_compared_with_the_few_most_defining_contours():
    from clipsketch.core.contour_strokes import DRAWN_FEWEST, DRAWN_SHARE, defining_contours

    outline = ridges(circle_map(radius=60.0, value=0.9))  # 444 ridge pixels of strong contour
    details = [ridges(segment_map(20 + 10 * k, 10, 20 + 10 * k, 40, value=0.5)) for k in range(20)]  # 56 each
    ridge = outline + sum(details)
    few = defining_contours(ridge, DRAWN_FEWEST, SIZE)  # 806 px of budget: the outline and the first details
    assert DRAWN_FEWEST * DRAWN_SHARE * SIZE < float((ridge > 0).sum()) < 16 * DRAWN_SHARE * SIZE
    drawn_details = [float(few[detail > 0].min()) == 1 for detail in details]
    assert float(few[outline > 0].min()) == 1 and 0 < sum(drawn_details) < len(details)
    right = int(torch.nonzero(outline[112]).max())  # the outline's ridge on the middle row, on the right
    assert float(few[112, right + 3]) == 1 and float(few[112, right + 4]) == 0  # widened by 3 pixels, no more
    assert torch.equal(defining_contours(ridge, 1, SIZE), few)  # fewer strokes: as many contours as DRAWN_FEWEST
    assert defining_contours(ridge, 16, SIZE) is None  # 1613 px: every contour, the whole line drawing


def test_the_surest_contours_come_first_not_the_longest():
    from clipsketch.core.contour_strokes import defining_contours

    sure = ridges(segment_map(40, 20, 40, 100, value=0.9))  # 80 px long, 0.9 sure
    faint = ridges(segment_map(150, 20, 150, 200, value=0.25))  # 180 px long, 0.25: less ridge in all
    assert float(sure.sum()) > float(faint.sum()) and int((faint > 0).sum()) > int((sure > 0).sum())
    chosen = defining_contours(sure + faint, 1, 40)  # a 40 px canvas's budget: 144 px of ridge, the first only
    assert float(chosen[sure > 0].min()) == 1 and float(chosen[faint > 0].max()) == 0


def test_each_stroke_count_is_compared_with_its_defining_contours(monkeypatch):
    """Through the pipeline (a contour map standing in for HED's: the ring and twenty short lines above): 4 and 8
    strokes share one line drawing of the ring and a few lines, 16 and 32 the whole drawing, each made once, in
    whatever order the counts come; the counts with strokes enough for every contour keep them apart."""
    import numpy as np

    from clipsketch.core import sketch
    from clipsketch.core.engine import Engine
    from clipsketch.core.options import SketchOptions

    drawing = circle_map(radius=60.0) + sum(segment_map(20 + 10 * k, 10, 20 + 10 * k, 40, value=0.5)
                                            for k in range(20))
    monkeypatch.setattr(sketch, "contour_map", lambda image, **_: drawing.clamp(0, 1).numpy())
    inks = []
    real = sketch._target

    def recorded(engine, plan, image, canvas, frame, foreground, contours=None):
        inks.append(float(contours.sum()))
        return real(engine, plan, image, canvas, frame, foreground, contours)

    monkeypatch.setattr(sketch, "_target", recorded)
    apart = {}
    optimize = sketch.optimize_strokes

    def watched(start, target, config, controls):
        apart[start.num_strokes] = target.apart
        return optimize(start, target, config, controls)

    monkeypatch.setattr(sketch, "optimize_strokes", watched)
    engine = Engine(backbone="offline", device="cpu", precision="fp32")
    photo = np.full((SIZE, SIZE, 3), 255, np.uint8)
    options = SketchOptions(strokes=(16, 4, 32, 8), iterations=1, seeds=1, mask=False, margin=0.0, init="hed")
    engine.sketch(photo, options)
    whole = float(sketch.framed_contours(photo, sketch.canvas_frame(None, SIZE, SIZE, SIZE)).sum())
    assert len(inks) == 2 and inks[0] == pytest.approx(whole, rel=1e-5) and 0 < inks[1] < 0.9 * inks[0]
    assert apart == {16: True, 4: False, 32: True, 8: False}
