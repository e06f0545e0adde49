"""Stacked strokes: strokes that run along others' lines, so that their ink draws nothing new.

A stroke is *stacked* when, for at least :data:`STACKED_SHARE` of its length, its centre line runs within one
stroke width (its own) of the centre line of another stroke of the same sketch. :func:`stacked_strokes` counts
them as the issue's measure does (every stroke against all the others: two strokes on one line are both
stacked); :func:`redundant_strokes` picks the fewest to move (the longest strokes are kept first, a stroke is
moved when it is stacked on those kept), which re-seeding (:mod:`~clipsketch.core.reseed`) places afresh.

Shapes: points ``[K, N, 4, 2]`` canvas pixels (``K`` sketches), widths ``[K, N]`` full widths in the same pixels.
"""

from __future__ import annotations

import torch

from clipsketch.core.strokes import bernstein

STACKED_SHARE = 0.8
"""Share of a stroke's length that must lie along other strokes for it to count as stacked."""

_SAMPLES = 48
"""Pieces each stroke is cut into to measure how much of it runs along others."""


def near_others(points: torch.Tensor, widths: torch.Tensor,
                samples: int = _SAMPLES) -> tuple[torch.Tensor, torch.Tensor]:
    """Whether each piece of each stroke lies within the stroke's width of each other stroke's centre line,
    ``[K, N, samples, N]`` bool (False against itself), and the pieces' lengths ``[K, N, samples]`` (pixels).
    The centre lines are polylines of ``2 samples + 1`` points (closer than a pixel on strokes up to
    ``2 samples`` pixels long; the distance to the nearest point, an overestimate of at most half a spacing)."""
    points, widths = points.detach().float(), widths.detach().float()
    count = points.shape[1]
    edges = torch.einsum("tk,...kd->...td", bernstein(torch.linspace(0, 1, samples + 1)).to(points), points)
    middles = 0.5 * (edges[..., 1:, :] + edges[..., :-1, :])  # [K, N, samples, 2]
    lengths = (edges[..., 1:, :] - edges[..., :-1, :]).norm(dim=-1)
    lines = torch.einsum("tk,...kd->...td", bernstein(torch.linspace(0, 1, 2 * samples + 1)).to(points), points)
    batch = points.shape[0]
    distance = torch.cdist(middles.reshape(batch, -1, 2), lines.reshape(batch, -1, 2))  # [K, N*s, N*(2s+1)]
    distance = distance.view(batch, count, samples, count, -1).amin(-1)  # [K, N, s, N]
    near = distance <= widths[:, :, None, None]
    near &= ~torch.eye(count, dtype=torch.bool, device=near.device)[None, :, None, :]
    return near, lengths


def stacked_strokes(points: torch.Tensor, widths: torch.Tensor, share: float = STACKED_SHARE) -> torch.Tensor:
    """Which strokes ``[K, N]`` (bool) run, for at least ``share`` of their length, within their width of the
    other strokes' centre lines."""
    near, lengths = near_others(points, widths)
    along = (near.any(-1) * lengths).sum(-1)
    return along >= share * lengths.sum(-1).clamp_min(1e-9)


def redundant_strokes(points: torch.Tensor, widths: torch.Tensor, movable: torch.Tensor | None = None,
                      share: float = STACKED_SHARE) -> torch.Tensor:
    """The strokes ``[K, N]`` (bool) to move so that no stroke left is stacked on the others left: strokes that
    cannot move (``movable [N]`` False) are kept first, then the longest; a stroke stacked on those kept so far
    is to move, any other is kept."""
    near, lengths = near_others(points, widths)
    total = lengths.sum(-1)  # [K, N]
    moved = torch.zeros_like(total, dtype=torch.bool)
    fixed = torch.zeros(points.shape[1], dtype=torch.bool) if movable is None else ~movable.cpu()
    for k in range(points.shape[0]):
        order = sorted(range(points.shape[1]), key=lambda n: (not bool(fixed[n]), -float(total[k, n])))
        kept: list[int] = []
        for n in order:
            along = float((near[k, n][:, kept].any(-1) * lengths[k, n]).sum()) if kept else 0.0
            if not fixed[n] and along >= share * float(total[k, n]):
                moved[k, n] = True
            else:
                kept.append(n)
    return moved


APART_REACH = 2.0
"""Strokes closer than this many of their widths to another's centre line are near it in :func:`overlap` (twice
the width the stacked-stroke measure allows, so strokes kept apart by it are clear of that measure)."""


def overlap(points: torch.Tensor, widths: torch.Tensor, samples: int = 32) -> torch.Tensor:
    """How far the strokes of each sketch lie on each other, ``[K]``, differentiable in ``points``: a stroke's
    nearness is the mean, over ``samples`` points along it, of ``max(0, 1 - d / (APART_REACH · width))``, ``d`` the
    distance (pixels) to the nearest other stroke, drawn as a polyline through ``samples`` points; the overlap is
    the sum of the strokes' squared nearness (two strokes on one line: about 1.5; a width apart all along: 0.5; one
    crossing another or going on where it ends: a few thousandths; strokes out of each other's reach: 0). The
    nearest point is found without gradients, a block of rows at a time, and the distance to the polyline's pieces
    either side of it taken exactly (a bounded gradient where strokes nearly meet): what the backward pass keeps
    grows with the points, not with their pairs."""
    batch, count = points.shape[:2]
    if count < 2:
        return points.new_zeros(batch)
    curve = torch.einsum("tk,...kd->...td",
                         bernstein(torch.linspace(0, 1, samples, device=points.device)).to(points), points)
    flat = curve.flatten(1, 2)  # [K, N*s, 2]
    owner = torch.arange(count, device=points.device).repeat_interleave(samples)
    nearest = torch.empty(batch, flat.shape[1], dtype=torch.long, device=points.device)
    block = max(1, 2**22 // flat.shape[1])
    with torch.no_grad():
        for first in range(0, flat.shape[1], block):
            rows = slice(first, first + block)
            apart = torch.cdist(flat[:, rows], flat)  # [K, rows, N*s]: fast, a little off near 0
            nearest[:, rows] = apart.masked_fill(owner[rows, None] == owner[None, :], float("inf")).argmin(-1)
    along = nearest % samples
    before = nearest - (along > 0).long()  # the neighbours of the nearest point on its own stroke
    after = nearest + (along < samples - 1).long()
    distance = torch.minimum(_to_piece(flat, _points(flat, nearest), _points(flat, before)),
                             _to_piece(flat, _points(flat, nearest), _points(flat, after)))
    reach = APART_REACH * widths.detach().to(points.dtype)[:, :, None]
    nearness = (1 - distance.view(batch, count, samples) / reach).clamp_min(0).mean(-1)  # [K, N]
    return nearness.square().sum(-1)


def _points(flat: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """``flat [K, M, 2]`` at ``index [K, R]``: ``[K, R, 2]``."""
    return flat.gather(1, index[..., None].expand(-1, -1, 2))


def _to_piece(p: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Distance of points ``p`` to the segments ``a``–``b`` (``[..., 2]`` each), ``[...]``; a segment of no length
    is its point. Never exactly 0, so its gradient stays finite."""
    piece, offset = b - a, p - a
    share = ((offset * piece).sum(-1) / piece.square().sum(-1).clamp_min(1e-12)).clamp(0, 1)
    return (offset - share[..., None] * piece).square().sum(-1).clamp_min(1e-12).sqrt()
