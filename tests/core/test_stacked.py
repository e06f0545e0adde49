"""Stacked strokes: counted on hand-made strokes, the fewest moved, moved by re-seeding along undrawn contours,
and kept apart while they are optimised where the photo's contours are known."""

from __future__ import annotations

import torch

from clipsketch.core.losses import LossConfig
from clipsketch.core.optimize import OptimizerConfig, Target, optimize_strokes
from clipsketch.core.reseed import reseeded_points
from clipsketch.core.stacked import APART_REACH, overlap, redundant_strokes, stacked_strokes
from clipsketch.core.strokes import Strokes

from .test_engine import run_to_end, tiny_problem


def line(x0, y0, x1, y1) -> list[list[float]]:
    return [[x0 + (x1 - x0) * t, y0 + (y1 - y0) * t] for t in (0, 1 / 3, 2 / 3, 1)]


def test_strokes_on_one_line_are_stacked_and_strokes_beside_or_across_are_not():
    points = torch.tensor([[
        line(20, 50, 200, 50),      # 0: a long line
        line(20, 51.5, 200, 51.5),  # 1: the same line, half a width off: stacked (and makes 0 stacked)
        line(20, 80, 200, 80),      # 2: parallel, 30 px away: not stacked
        line(100, 10, 100, 200),    # 3: crossing 0, 1 and 2: not stacked
        line(60, 80, 90, 80),       # 4: a short stroke lying on 2: stacked (2 is not: 4 covers a sixth of it)
    ]])
    widths = torch.full((1, 5), 3.0)
    assert stacked_strokes(points, widths).tolist() == [[True, True, False, False, True]]
    assert stacked_strokes(points, torch.full((1, 5), 1.0)).tolist()[0][:2] == [False, False]  # 1.5 px > 1 width


def test_a_stroke_partly_along_another_is_not_stacked():
    base = line(20, 100, 180, 100)
    half = [[100.0, 100.0], [140.0, 100.0], [160.0, 120.0], [180.0, 160.0]]  # starts on the line, then leaves it
    points = torch.tensor([[base, half]])
    stacked = stacked_strokes(points, torch.full((1, 2), 3.0))
    assert stacked.tolist() == [[False, False]]


def test_the_fewest_strokes_are_moved_keeping_the_longest_and_the_locked():
    points = torch.tensor([[line(20, 50, 200, 50), line(40, 50, 160, 50), line(30, 51, 190, 51),
                            line(20, 120, 200, 120)]])
    widths = torch.full((1, 4), 3.0)
    assert redundant_strokes(points, widths).tolist() == [[False, True, True, False]]
    locked = torch.tensor([True, False, False, True])
    assert redundant_strokes(points, widths, movable=~locked).tolist() == [[False, True, True, False]]
    keep_short = torch.tensor([False, True, False, False])  # stroke 1 locked: kept first; 0 runs along it for
    assert redundant_strokes(points, widths, movable=~keep_short).tolist() == [[False, False, True, False]]  # 2/3


def test_moved_strokes_are_traced_along_contours_nothing_draws_yet():
    points = torch.tensor([[line(20, 50, 200, 50), line(30, 50, 190, 50)]])
    widths = torch.full((1, 2), 3.0)
    contours = torch.zeros(224, 224)
    contours[50, 20:200] = 0.9   # drawn by stroke 0 already
    contours[150, 40:180] = 0.9  # undrawn
    saliency = (contours > 0).float()
    moved = redundant_strokes(points, widths)
    fresh, changed = reseeded_points(points, widths, moved, saliency, [torch.Generator().manual_seed(0)],
                                     contours=contours)
    assert changed.tolist() == [[False, True]]
    assert torch.equal(fresh[0, 0], points[0, 0])
    assert (fresh[0, 1, :, 1] - 150.5).abs().max() < 2  # on the undrawn line
    assert (fresh[0, 1, 0] - fresh[0, 1, 3]).norm() > 60  # traced along it, not a short chain
    assert not stacked_strokes(fresh, widths).any()


def test_overlap_costs_a_stroke_along_another_and_barely_one_that_crosses_or_goes_on_from_it():
    widths = torch.full((1, 2), 3.0)
    base = line(20, 50, 200, 50)

    def cost(other):
        return float(overlap(torch.tensor([[base, other]]), widths)[0])

    assert cost(line(20, 50.5, 200, 50.5)) > 1.5  # on it: nearly 1 a stroke
    assert cost(line(23, 50, 203, 50)) > 1.5  # on it, its points between the other's: as much
    assert 0.45 < cost(line(20, 53, 200, 53)) < 0.55  # one width beside it: half as near, 0.25 a stroke
    assert cost(line(20, 50 + APART_REACH * 3 + 0.5, 200, 50 + APART_REACH * 3 + 0.5)) == 0  # out of reach
    assert cost(line(100, 0, 100, 200)) < 0.01  # crossing
    assert cost(line(200, 50, 300, 50)) < 0.01  # going on from its end
    assert overlap(torch.tensor([[base]]), widths[:, :1]).tolist() == [0.0]  # a single stroke


def test_strokes_that_nearly_meet_get_a_bounded_gradient_and_many_strokes_a_cost():
    points = torch.tensor([[line(20, 50, 200, 50), line(20, 50.01, 200, 50.01)]], requires_grad=True)
    overlap(points, torch.full((1, 2), 3.0)).sum().backward()
    assert torch.isfinite(points.grad).all() and points.grad.abs().max() < 1  # a hundredth of a pixel apart
    many = torch.rand(2, 300, 4, 2, generator=torch.Generator().manual_seed(0)) * 224  # 300 strokes, in blocks
    cost = overlap(many, torch.full((2, 300), 3.0))
    assert cost.shape == (2,) and bool((cost > 0).all())


def test_descending_the_overlap_moves_stacked_strokes_apart():
    points = torch.tensor([[line(20, 50, 200, 50), line(30, 51, 190, 51), line(20, 120, 200, 120)]],
                          requires_grad=True)
    widths = torch.full((1, 3), 3.0)
    assert stacked_strokes(points, widths).tolist() == [[True, True, False]]
    for _ in range(60):
        overlap(points, widths).sum().backward()
        with torch.no_grad():
            points -= 2.0 * points.grad
        points.grad = None
    assert not stacked_strokes(points, widths).any()
    assert float(overlap(points.detach(), widths)[0]) < 0.05
    assert (points[0, 2] - torch.tensor(line(20, 120, 200, 120))).abs().max() < 1e-6  # far from both: not moved


def stacked_after_optimising(chelsea, apart: bool):
    backbone, canvas, photo_taps, start = tiny_problem(chelsea, seeds=2, strokes=3, seed=0)
    points = start.points.clone()
    points[:, 1] = points[:, 0] + 0.5  # each seed's stroke 1 starts on its stroke 0
    start = Strokes.from_points(points)
    target = Target(canvas, photo_taps, backbone, LossConfig(augmentations=0), apart=apart)
    config = OptimizerConfig(iterations=40, tolerance=0, bounds=(0.0, 0.0, 224.0, 224.0))  # no re-seeding
    _, tracker = run_to_end(optimize_strokes(start, target, config))
    return stacked_strokes(tracker.best_points, start.widths)


def test_an_optimisation_told_to_keep_strokes_apart_unstacks_them(chelsea):
    assert stacked_after_optimising(chelsea, apart=False).any(-1).all()  # CLIPasso's loss alone leaves them
    assert not stacked_after_optimising(chelsea, apart=True).any()
