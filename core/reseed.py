"""Strokes that draw nothing, placed afresh: a person never spends a stroke on a dot.

During an optimisation some strokes shrink to a few pixels (the loss finds nothing for them to draw) or come to
lie under others (their ink adds nothing). :func:`collapsed_strokes` finds them by the ink each leaves visible
under the strokes drawn over it; :func:`reseeded_points` replaces them by new short strokes where the saliency map is
salient and no stroke draws yet, as start strokes are placed around a Refine's kept ones
(:func:`~clipsketch.core.sketch.coverage`). The optimiser does this after a schedule's few ``reseed_after`` steps
(:class:`~clipsketch.core.schedules.OptimizerConfig`), never to locked strokes, as a proposal: the lowest
evaluation loss still picks the strokes kept, and as no free stroke is ever shorter than :data:`SHORTEST` (from the
start, and after every step: :func:`lengthen`), whichever strokes win hold no dot.

Shapes: points ``[K, N, 4, 2]`` canvas pixels (``K`` seeds), widths ``[K, N]`` canvas pixels, saliency
``[S, S]``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from clipsketch.core.contour_strokes import place_strokes
from clipsketch.core.raster import rasterize
from clipsketch.core.saliency import CHAIN_STEP, sample_start_points
from clipsketch.core.strokes import bernstein, chained_points, width_profile

COLLAPSED_LENGTH = 0.03
"""A stroke leaving less ink visible than a line this long (a fraction of the canvas side, 6.7 px at 224: 3.3 % of
the photo's longer side with the default margin) of its own width, caps included, is collapsed."""

SHORTEST = 0.025
"""No free stroke is shorter than this (a fraction of the canvas side, 5.6 px at 224: 2.75 % of the photo's longer
side with the default margin): at the start and after every step a shorter one is scaled about its middle to this
length (:func:`lengthen`)."""

FRESH_LENGTH = 2 * COLLAPSED_LENGTH
"""A placed stroke's control polygon is at least this long (a fraction of the canvas side): it starts as a line."""

UNDRAWN_LEFT = 0.25
"""Strokes are placed afresh only while at least this fraction of the saliency map's mass is not drawn yet."""

_UNDRAWN_REACH = 3
"""Pixels around existing ink that count as drawn when new strokes are placed."""


def stroke_lengths(points: torch.Tensor, samples: int = 33) -> torch.Tensor:
    """Arc length ``[...]`` (pixels) of cubic strokes ``points [..., 4, 2]``, from ``samples`` points on each."""
    t = torch.linspace(0, 1, samples, dtype=points.dtype, device=points.device)
    curve = torch.einsum("tk,...kd->...td", bernstein(t), points)
    return (curve[..., 1:, :] - curve[..., :-1, :]).norm(dim=-1).sum(-1)


def lengthen(points: torch.Tensor, shortest: float, movable: torch.Tensor | None = None) -> torch.Tensor:
    """Scale each stroke of ``points [..., N, 4, 2]`` shorter than ``shortest`` pixels (arc length) about its
    middle point to that length, in place (strokes where ``movable [N]`` is False stay); a stroke of no length
    becomes a horizontal line."""
    with torch.no_grad():
        lengths = stroke_lengths(points)
        short = lengths < shortest
        if movable is not None:
            short &= movable.to(short.device)
        if not bool(short.any()):
            return points
        middle = 0.125 * (points[..., 0, :] + 3 * points[..., 1, :] + 3 * points[..., 2, :] + points[..., 3, :])
        scale = (shortest / lengths.clamp_min(1e-6))[..., None, None]
        grown = middle[..., None, :] + (points - middle[..., None, :]) * scale
        flat = lengths < 1e-3
        if bool(flat.any()):
            line = torch.tensor([-0.5, -1 / 6, 1 / 6, 0.5], dtype=points.dtype, device=points.device) * shortest
            offsets = torch.stack([line, torch.zeros_like(line)], dim=-1)  # [4, 2]
            grown = torch.where(flat[..., None, None], middle[..., None, :] + offsets, grown)
        points.copy_(torch.where(short[..., None, None], grown, points))
    return points


def visible_ink(points: torch.Tensor, widths: torch.Tensor, canvas_size: int, taper: float = 0.0) -> torch.Tensor:
    """Ink ``[K, N]`` (pixels of full coverage) of each stroke that the strokes drawn over it leave visible: its
    coverage times what they leave uncovered (their antialiased fringes counted as covering: a stroke's coverage
    is doubled, up to 1, where it hides another), summed. Draws each stroke alone once (no gradients), one sketch
    at a time (``N`` canvases at once)."""
    strokes = points.shape[1]
    ones = torch.ones(strokes, 1, 4, dtype=points.dtype, device=points.device)
    inks = []
    with torch.no_grad():
        for sketch, sketch_widths in zip(points.detach(), widths.detach()):
            alpha = rasterize(sketch[:, None], sketch_widths[:, None], ones, (canvas_size, canvas_size),
                              taper=taper).alpha.view(strokes, -1)
            clear = (1 - 2 * alpha).clamp(0, 1)
            above = torch.cumprod(torch.cat([clear[1:], torch.ones_like(clear[:1])]).flip(0), 0).flip(0)
            inks.append((alpha * above).sum(-1))
    return torch.stack(inks)


def collapsed_strokes(points: torch.Tensor, widths: torch.Tensor, canvas_size: int, taper: float = 0.0,
                      movable: torch.Tensor | None = None) -> torch.Tensor:
    """Which strokes ``[K, N]`` (bool) leave less ink visible than :data:`COLLAPSED_LENGTH` of line at their
    width (dots, and strokes hidden under those drawn over them); ``movable [N]`` False keeps a stroke out
    (locked ones)."""
    fullness = 1.0 if taper <= 0 else float(width_profile(torch.linspace(0, 1, 101), taper).mean())
    width = widths.detach()
    caps = 0.0 if taper > 0 else math.pi * width * width / 4  # a uniform line's round caps: a disc of its width
    least = COLLAPSED_LENGTH * canvas_size * width * fullness + caps
    collapsed = visible_ink(points, widths, canvas_size, taper) < least
    if movable is not None:
        collapsed &= movable.to(collapsed.device)[None]
    return collapsed


def reseeded_points(points: torch.Tensor, widths: torch.Tensor, collapsed: torch.Tensor, saliency: torch.Tensor,
                    generators: list[torch.Generator], taper: float = 0.0,
                    contours: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """``points`` with each ``collapsed [K, N]`` stroke replaced by a new one: its start drawn (with seed ``k``'s
    generator) from ``saliency`` where the sketch's other strokes do not draw (widened by a few pixels), its other
    control points a chain of short offsets, stretched to at least :data:`FRESH_LENGTH` of the canvas; and which
    strokes were replaced ``[K, N]``. A sketch whose other strokes already draw all but :data:`UNDRAWN_LEFT` of
    the saliency is left as it is: nothing is left to draw, and a photo that asks for fewer strokes than given
    (one line, a rocket) is better drawn with strokes over each other than with marks where it has nothing.
    ``contours [S, S]``: the photo's contour ridges (:func:`~clipsketch.core.contour_strokes.ridges`); given,
    new strokes are traced along the contours no stroke draws yet
    (:func:`~clipsketch.core.contour_strokes.place_strokes`), and fall back to the saliency where none is left."""
    canvas_size = saliency.shape[-1]
    replaced = points.detach().clone()
    changed = torch.zeros_like(collapsed)
    for k in torch.nonzero(collapsed.any(1)).flatten().tolist():
        wanted = collapsed[k]
        kept_points, kept_widths = points[k : k + 1, ~wanted].detach(), widths[k : k + 1, ~wanted].detach()
        free, free_contours = saliency, contours
        if kept_points.shape[1]:
            ink = rasterize(kept_points, kept_widths, torch.ones(1, kept_points.shape[1], 4, dtype=points.dtype,
                                                                 device=points.device),
                            (canvas_size, canvas_size), taper=taper).alpha
            drawn = F.max_pool2d(ink, 2 * _UNDRAWN_REACH + 1, stride=1, padding=_UNDRAWN_REACH)[0, 0]
            free = saliency * (1 - drawn.to(saliency.device))
            if contours is not None:
                free_contours = contours * (1 - drawn.to(contours.device))
        if float(free.sum()) < UNDRAWN_LEFT * float(saliency.sum()):
            continue
        count = int(wanted.sum())
        if contours is not None:
            fresh = place_strokes(free_contours, count, generators[k], canvas_size, fallback=free,
                                  total=points.shape[1])
        else:
            starts = sample_start_points(free.cpu(), count, generators[k])
            fresh = chained_points(starts[None], CHAIN_STEP * canvas_size, generators[k])[0]
        replaced[k, wanted] = _stretched(fresh, FRESH_LENGTH * canvas_size).to(points)
        changed[k] = wanted
    return replaced, changed


def _stretched(points: torch.Tensor, length: float) -> torch.Tensor:
    """Strokes ``points [n, 4, 2]`` whose control polygon is shorter than ``length`` pixels scaled about their
    first point to that length (a stroke of coincident points becomes a horizontal line)."""
    legs = (points[:, 1:] - points[:, :-1]).norm(dim=-1).sum(-1)
    flat = legs < 1e-6
    if bool(flat.any()):
        points = points.clone()
        points[flat, 1:] = points[flat, :1] + torch.tensor([[1.0, 0.0], [2.0, 0.0], [3.0, 0.0]], dtype=points.dtype)
        legs = torch.where(flat, torch.full_like(legs, 3.0), legs)
    scale = (length / legs).clamp_min(1.0)[:, None, None]
    return points[:, :1] + (points - points[:, :1]) * scale
