"""No dot strokes: collapsed and hidden strokes are found, placed afresh where the photo is salient and undrawn,
at the schedule's few steps, never when locked; no free stroke is ever shorter than the floor, so the best strokes
(the lowest loss, re-seeded or not) hold no dot."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from clipsketch.core.losses import LossConfig
from clipsketch.core.optimize import OptimizerConfig, Target, optimize_strokes
from clipsketch.core.options import SketchOptions
from clipsketch.core.reseed import (
    COLLAPSED_LENGTH,
    FRESH_LENGTH,
    SHORTEST,
    collapsed_strokes,
    lengthen,
    reseeded_points,
    stroke_lengths,
)
from clipsketch.core.schedules import RESEED_AT

from .test_engine import run_to_end, tiny_problem

LINE = [[40.0, 40.0], [80.0, 40.0], [120.0, 40.0], [160.0, 40.0]]
DOT = [[100.0, 150.0], [100.5, 150.2], [101.0, 150.0], [101.2, 150.4]]


def test_a_dot_and_a_stroke_hidden_under_a_later_one_are_collapsed_and_drawing_strokes_are_not():
    crossing = [[100.0, 10.0], [100.0, 60.0], [100.0, 120.0], [100.0, 200.0]]
    points = torch.tensor([[LINE, DOT, LINE, crossing]])  # stroke 2 lies exactly on stroke 0
    widths = torch.full((1, 4), 3.0)
    collapsed = collapsed_strokes(points, widths, 224)
    assert collapsed.tolist() == [[True, True, False, False]]  # the line under its copy is hidden; the copy is not
    assert collapsed_strokes(points[:, [0, 1, 3]], widths[:, :3], 224).tolist() == [[False, True, False]]
    locked = torch.tensor([True, False, True])
    assert collapsed_strokes(points[:, [0, 1, 3]], widths[:, :3], 224, movable=locked).tolist() == \
        [[False, False, False]]
    short = [[10.0, 10.0], [11.0, 10.0], [12.0, 10.0], [10.0 + 0.9 * COLLAPSED_LENGTH * 224, 10.0]]
    assert collapsed_strokes(torch.tensor([[short]]), widths[:, :1], 224).tolist() == [[True]]


def test_fresh_strokes_start_where_the_photo_is_salient_and_no_stroke_draws():
    saliency = torch.zeros(224, 224)
    saliency[150:200, 20:70] = 1.0  # salient and undrawn
    saliency[30:50, 30:170] = 1.0  # salient, but the line draws there
    points = torch.tensor([[LINE, DOT, DOT]])
    widths = torch.full((1, 3), 3.0)
    collapsed = torch.tensor([[False, True, True]])
    fresh, changed = reseeded_points(points, widths, collapsed, saliency, [torch.Generator().manual_seed(0)])
    assert torch.equal(changed, collapsed)
    assert torch.equal(fresh[0, 0], points[0, 0])  # the drawing stroke stays
    for stroke in fresh[0, 1:]:
        x, y = stroke[0].tolist()
        assert 20 <= x <= 70 and 150 <= y <= 200, (x, y)
        assert float(stroke_lengths(stroke)) >= FRESH_LENGTH * 224 * 0.5  # a line, not a dot
    again, _ = reseeded_points(points, widths, collapsed, saliency, [torch.Generator().manual_seed(0)])
    assert torch.equal(fresh, again)  # seeded
    drawn = torch.zeros(224, 224)
    drawn[38:43, 40:160] = 1.0  # all the saliency there is lies under the line: nothing is left to draw
    kept, changed = reseeded_points(points, widths, collapsed, drawn, [torch.Generator().manual_seed(0)])
    assert torch.equal(kept, points) and not bool(changed.any())


def test_lengthen_scales_short_strokes_about_their_middle_and_leaves_the_rest():
    points = torch.tensor([[LINE, DOT, [[5.0, 5.0]] * 4]])
    before = points.clone()
    lengthen(points, 10.0, movable=torch.tensor([True, True, True]))
    lengths = stroke_lengths(points)[0]
    assert torch.equal(points[0, 0], before[0, 0])
    assert float(lengths[1]) == pytest.approx(10.0, rel=1e-3) and float(lengths[2]) == pytest.approx(10.0, rel=1e-3)
    middle = lambda p: 0.125 * (p[0] + 3 * p[1] + 3 * p[2] + p[3])  # noqa: E731
    assert torch.allclose(middle(points[0, 1]), middle(before[0, 1]), atol=1e-5)
    kept = before.clone()
    lengthen(kept, 10.0, movable=torch.tensor([True, False, True]))
    assert torch.equal(kept[0, 1], before[0, 1])


def test_the_fast_schedule_reseeds_and_the_reference_does_not_unless_asked():
    fast = SketchOptions().resolve("cpu")
    assert fast.optimizer.reseed_after == tuple(int(f * 300) for f in RESEED_AT) and fast.options.reseed
    assert SketchOptions().resolve("cuda").optimizer.reseed_after == tuple(int(f * 450) for f in RESEED_AT)
    assert SketchOptions(schedule="reference").resolve("cpu").optimizer.reseed_after == ()
    assert SketchOptions(schedule="reference", reseed=True).resolve("cpu").optimizer.reseed_after == \
        tuple(int(f * 2000) for f in RESEED_AT)
    assert SketchOptions(reseed=False).resolve("cpu").optimizer.reseed_after == ()
    assert SketchOptions(one_line=True).resolve("cpu").optimizer.reseed_after == ()  # segments of one line


def optimise(chelsea, start, frozen=None, reseed_after=(1, 12), iterations=20, zoom=1.0):
    backbone, canvas, photo_taps, _ = tiny_problem(chelsea, seeds=1, strokes=1, seed=0)
    saliency = torch.zeros(224, 224)
    saliency[20:80, 120:200] = 1.0  # away from the dot
    target = Target(canvas, photo_taps, backbone, LossConfig(augmentations=0), saliency=saliency)
    config = OptimizerConfig(iterations=iterations, tolerance=0, reseed_after=reseed_after, frozen=frozen,
                             bounds=(0.0, 0.0, 224.0, 224.0), zoom=zoom)
    return run_to_end(optimize_strokes(start, target, config))


def test_a_run_replaces_its_dots_and_ends_with_none_but_a_locked_one(chelsea):
    _, _, _, start = tiny_problem(chelsea, seeds=2, strokes=6, seed=2)
    points = start.points.clone()
    points[:, 1] = torch.tensor(DOT)  # a dot in each seed, and a locked one (stroke 4)
    points[:, 4] = torch.tensor(DOT) - 60
    start = replace(start, points=points)
    frozen = (False, False, False, False, True, False)
    steps, tracker = optimise(chelsea, start, frozen)
    floor = SHORTEST * 224
    for seed in range(2):
        lengths = stroke_lengths(tracker.best_points[seed])
        free = [k for k in range(6) if not frozen[k]]
        assert float(lengths[free].min()) >= floor * 0.999, lengths
        assert torch.equal(tracker.best_points[seed, 4], points[seed, 4])  # locked: never re-seeded, never moved
    x, y = tracker.best_points[:, 1, 0].unbind(-1)  # the dot was placed afresh, in the salient corner
    assert bool(((x > 100) & (y < 100)).all()), tracker.best_points[:, 1, 0]
    _, again = optimise(chelsea, start, frozen)
    assert torch.equal(again.best_points, tracker.best_points)  # reproducible
    assert all(float(stroke_lengths(step.best.points[0])[[0, 1, 2, 3, 5]].min()) >= floor * 0.999 for step in steps)
    _, plain = optimise(chelsea, start, frozen, reseed_after=())
    assert float((plain.best_points[:, 1, 0] - points[:, 1, 0]).norm(dim=-1).max()) < 10  # without: it stays


def test_on_a_window_around_a_small_subject_no_stroke_is_shorter_on_the_photo(chelsea):
    """A canvas enlarged twice (``zoom``, a window on the photo) keeps strokes twice as long in canvas pixels."""
    _, _, _, start = tiny_problem(chelsea, seeds=1, strokes=3, seed=2)
    points = start.points.clone()
    points[:, 1] = torch.tensor(DOT)
    start = replace(start, points=points)
    floor = SHORTEST * 224
    steps, tracker = optimise(chelsea, start, reseed_after=(12,), zoom=2.0)
    assert all(float(stroke_lengths(step.best.points[0]).min()) >= 2 * floor * 0.999 for step in steps)
    _, plain = optimise(chelsea, start, reseed_after=(12,))
    assert float(stroke_lengths(plain.best_points).min()) < 2 * floor  # without the zoom, shorter ones are let be
