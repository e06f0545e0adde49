"""Stacked strokes: counted on hand-made strokes, the fewest moved, and moved by re-seeding along undrawn
contours."""

from __future__ import annotations

import torch

from clipsketch.core.reseed import reseeded_points
from clipsketch.core.stacked import redundant_strokes, stacked_strokes


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
